package hub

import (
	"sync"
	"sync/atomic"
)

// numShards is the number of room shards and of member shards. 64 keeps
// writer contention low on machines with up to a few dozen cores and lets a
// uint64 bit set name the shards one operation touched.
const numShards = 64

// snapshot is an immutable view of one room's members, bucketed by group.
//
// groups[g][:len] is never written after the snapshot is published. A join
// may write past that length (into spare capacity) before publishing a newer
// snapshot that shares the array; readers of this one never look there.
type snapshot[M Member] struct {
	groups [][]M // len == Hub.groups; groups[g] holds the members of group g
	n      int   // total members
}

// room is one named room (or the hidden "all" set).
type room[M Member] struct {
	name    string                      // immutable; a private copy of the caller's name
	sh      *shard[M]                   // immutable; the shard whose mutex guards this room
	members map[M]struct{}              // guarded by sh.mu; nil once the room is deleted
	n       atomic.Int64                // len(members); written under sh.mu, read anywhere
	snap    atomic.Pointer[snapshot[M]] // written under sh.mu, read anywhere; nil means "rebuild on next read"
}

// eventKind says which hook an event is for.
type eventKind uint8

const (
	evCreate eventKind = iota
	evJoin
	evLeave
	evDelete
)

// event is a hook call waiting to be delivered.
type event[M Member] struct {
	kind eventKind
	room string
	m    M
}

// shard holds the rooms whose name hashes to it.
type shard[M Member] struct {
	mu sync.Mutex
	// rooms maps name → *room[M]. Stores and deletes happen under mu; loads
	// happen anywhere without a lock. sync.Map (a concurrent hash-trie since
	// Go 1.24) makes creating a room O(log n) rather than the O(rooms in
	// shard) a copy-on-write map would cost on every connect.
	rooms   sync.Map
	groupOf func(M) int // the Hub's; immutable
	_       [64]byte    // pads to 128 bytes so neighbouring shards do not share cache lines
}

// lookup returns the room called name, or nil. It takes no lock.
func (sh *shard[M]) lookup(name string) *room[M] {
	v, ok := sh.rooms.Load(name)
	if !ok {
		return nil
	}
	return v.(*room[M])
}

// load returns the room's current snapshot, rebuilding it under the shard
// mutex if a leave dropped it.
func (r *room[M]) load(groups int) *snapshot[M] {
	if s := r.snap.Load(); s != nil {
		return s
	}
	r.sh.mu.Lock()
	s := r.snap.Load()
	if s == nil {
		s = r.build(groups)
		r.snap.Store(s)
	}
	r.sh.mu.Unlock()
	return s
}

// build makes a fresh snapshot from r.members. The caller holds r.sh.mu.
//
// All group slices share one backing array, each with a quarter of its
// length (plus two) of spare capacity, so that the joins that usually follow
// append in place; the three-index slices stop an append from running into
// the next group's region.
func (r *room[M]) build(groups int) *snapshot[M] {
	var countsBuf [16]int
	counts := countsBuf[:0]
	if groups <= len(countsBuf) {
		counts = countsBuf[:groups]
	} else {
		counts = make([]int, groups)
	}
	for m := range r.members {
		counts[r.sh.groupOf(m)]++
	}
	total := 0
	for _, c := range counts {
		total += c + c/4 + 2
	}
	backing := make([]M, total)
	s := &snapshot[M]{groups: make([][]M, groups), n: len(r.members)}
	off := 0
	for g, c := range counts {
		end := off + c + c/4 + 2
		s.groups[g] = backing[off:off:end]
		off = end
	}
	for m := range r.members {
		g := r.sh.groupOf(m)
		s.groups[g] = append(s.groups[g], m)
	}
	return s
}

// add makes m a member of r. The caller holds r.sh.mu. It reports whether m
// was new.
func (r *room[M]) add(m M) bool {
	if _, ok := r.members[m]; ok {
		return false
	}
	r.members[m] = struct{}{}
	r.n.Store(int64(len(r.members)))
	if s := r.snap.Load(); s != nil {
		// Publish an extended snapshot instead of dropping it, so that a
		// broadcast between joins does not pay for a rebuild.
		g := r.sh.groupOf(m)
		ns := &snapshot[M]{groups: make([][]M, len(s.groups)), n: s.n + 1}
		copy(ns.groups, s.groups)
		ns.groups[g] = append(s.groups[g], m)
		r.snap.Store(ns)
	}
	return true
}

// remove drops m from r. The caller holds r.sh.mu. It reports whether m was
// a member.
func (r *room[M]) remove(m M) bool {
	if _, ok := r.members[m]; !ok {
		return false
	}
	delete(r.members, m)
	r.n.Store(int64(len(r.members)))
	// Removing in place would write under readers; rebuilding now would make
	// n leaves cost O(n²). The next reader rebuilds once.
	r.snap.Store(nil)
	return true
}
