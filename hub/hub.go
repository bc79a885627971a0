package hub

import (
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
)

// Member is what a Hub stores: a comparable handle, typically a pointer.
// The hub learns each member's event loop from the groupOf function given
// to New.
type Member interface {
	comparable
}

// Hooks are optional callbacks mirroring the socket.io adapter events
// create-room, join-room, leave-room and delete-room. A nil field is not
// called. Hooks run with no hub lock held; see the package documentation for
// their ordering guarantees.
type Hooks[M Member] struct {
	// OnCreateRoom is called when a room gets its first member m, before
	// the OnJoinRoom of m.
	OnCreateRoom func(room string, m M)
	// OnJoinRoom is called when m joins room (not when it was already in it).
	OnJoinRoom func(room string, m M)
	// OnLeaveRoom is called when m leaves room, including through LeaveAll.
	OnLeaveRoom func(room string, m M)
	// OnDeleteRoom is called after the OnLeaveRoom of a room's last member
	// m. Passing m lets a caller tell whose change it was (sio closes that
	// connection when a hook panics).
	OnDeleteRoom func(room string, m M)
}

// Hub tracks which members are in which rooms and finds the recipients of a
// broadcast. Create one with New or NewWithHooks; the zero value is not
// usable. All methods are safe for concurrent use.
type Hub[M Member] struct {
	groups   int      // immutable
	hooks    Hooks[M] // immutable
	hasHooks bool     // immutable
	seed     maphash.Seed
	groupOf  func(M) int // immutable

	shards  [numShards]shard[M]
	members [numShards]memberShard[M]

	all      room[M]  // the hidden set of every registered member; guarded by allShard.mu
	allShard shard[M] // only its mutex is used

	scratch sync.Pool // *scratch[M], for multi-room selections

	// Hook events go through one queue so that their order is the order of
	// the changes, per room and per call. Writers append while still holding
	// the room's shard mutex (lock order: shard, then hookMu).
	hookMu   sync.Mutex
	pending  []event[M] // guarded by hookMu; hook calls not yet delivered
	spare    []event[M] // guarded by hookMu; recycled backing array for pending
	draining bool       // guarded by hookMu; a goroutine is delivering pending
}

// memberShard holds the room lists of the members that hash to it.
type memberShard[M Member] struct {
	mu sync.Mutex
	// recs holds the registered members; guarded by mu. A member that never
	// joined a room maps to nil: most connections are in none, and a
	// pointer-sized entry costs a fraction of a record's. A member that
	// left all its rooms keeps its (empty) record, so that rejoining does
	// not allocate.
	recs map[M]*memberRec
	_    [48]byte // pads to 64 bytes so neighbouring shards rarely share a cache line
}

// memberRec is the set of rooms one member is in, in join order.
type memberRec struct {
	rooms []string
	// set indexes rooms once there are more than setThreshold of them, so
	// that joining k rooms stays O(k) instead of O(k²). Most sockets are in
	// one or two rooms and never pay for a map.
	set map[string]struct{}
}

const setThreshold = 16

func (r *memberRec) has(name string) bool {
	if r == nil {
		return false
	}
	if r.set != nil {
		_, ok := r.set[name]
		return ok
	}
	for _, s := range r.rooms {
		if s == name {
			return true
		}
	}
	return false
}

func (r *memberRec) add(name string) {
	r.rooms = append(r.rooms, name)
	if r.set != nil {
		r.set[name] = struct{}{}
	} else if len(r.rooms) > setThreshold {
		r.set = make(map[string]struct{}, len(r.rooms)*2)
		for _, s := range r.rooms {
			r.set[s] = struct{}{}
		}
	}
}

// remove deletes name, keeping the order of the others. It reports whether
// name was there. O(rooms of the member).
func (r *memberRec) remove(name string) bool {
	if r.set != nil {
		if _, ok := r.set[name]; !ok {
			return false
		}
		delete(r.set, name)
	}
	for i, s := range r.rooms {
		if s == name {
			copy(r.rooms[i:], r.rooms[i+1:])
			r.rooms[len(r.rooms)-1] = ""
			r.rooms = r.rooms[:len(r.rooms)-1]
			return true
		}
	}
	return false
}

// New returns an empty Hub whose members have groups in [0, groups). It
// panics if groups < 1.
//
// groupOf returns a member's event-loop index in [0, groups). It must
// return the same value for as long as the member is in the hub, unless
// the change is followed by Regrouped, and must be safe to call from any
// goroutine.
func New[M Member](groups int, groupOf func(M) int) *Hub[M] {
	return NewWithHooks(groups, groupOf, Hooks[M]{})
}

// NewWithHooks is New with adapter-event callbacks.
func NewWithHooks[M Member](groups int, groupOf func(M) int, hooks Hooks[M]) *Hub[M] {
	if groups < 1 {
		panic("hub: groups must be at least 1, got " + strconv.Itoa(groups))
	}
	h := &Hub[M]{
		groups:   groups,
		groupOf:  groupOf,
		hooks:    hooks,
		hasHooks: hooks.OnCreateRoom != nil || hooks.OnJoinRoom != nil || hooks.OnLeaveRoom != nil || hooks.OnDeleteRoom != nil,
		seed:     maphash.MakeSeed(),
	}
	for i := range h.shards {
		h.shards[i].groupOf = groupOf
	}
	h.allShard.groupOf = groupOf
	h.all.sh = &h.allShard
	h.all.members = make(map[M]struct{})
	for i := range h.members {
		h.members[i].recs = make(map[M]*memberRec)
	}
	h.scratch.New = func() any { return newScratch[M]() }
	return h
}

// Groups returns the number of groups the hub was created with.
func (h *Hub[M]) Groups() int { return h.groups }

func (h *Hub[M]) roomShard(name string) *shard[M] {
	return &h.shards[maphash.String(h.seed, name)%numShards]
}

func (h *Hub[M]) memberShard(m M) *memberShard[M] {
	return &h.members[maphash.Comparable(h.seed, m)%numShards]
}

func (h *Hub[M]) lookup(name string) *room[M] {
	sh := h.roomShard(name)
	return sh.lookup(name)
}

// Join registers m and adds it to each named room it is not already in.
// With no names it only registers m (so that broadcasts to everyone reach
// it). Joining after LeaveAll registers m again. It panics if m's group is
// out of range. Safe from any goroutine; see Hooks for when hooks run.
func (h *Hub[M]) Join(m M, rooms ...string) {
	if g := h.groupOf(m); g < 0 || g >= h.groups {
		panic("hub: member group " + strconv.Itoa(g) + " out of range [0, " + strconv.Itoa(h.groups) + ")")
	}
	ms := h.memberShard(m)
	queued := false
	ms.mu.Lock()
	rec, registered := ms.recs[m]
	if !registered {
		h.allShard.mu.Lock()
		h.all.add(m)
		h.allShard.mu.Unlock()
	}
	for _, name := range rooms {
		if rec.has(name) {
			continue
		}
		sh := h.roomShard(name)
		canonical, q := h.joinLocked(sh, name, m)
		if rec == nil {
			rec = new(memberRec)
		}
		rec.add(canonical)
		queued = queued || q
	}
	ms.recs[m] = rec
	ms.mu.Unlock()
	if queued {
		h.drainHooks()
	}
}

// joinLocked adds m to the room called name, creating it if needed, and
// returns the room's own copy of the name and whether hook events were
// queued. The caller holds m's member shard mutex, which guarantees m is not
// in the room yet.
func (h *Hub[M]) joinLocked(sh *shard[M], name string, m M) (string, bool) {
	sh.mu.Lock()
	r := sh.lookup(name)
	created := false
	if r == nil {
		r = &room[M]{name: strings.Clone(name), sh: sh, members: make(map[M]struct{}, 1)}
		sh.rooms.Store(r.name, r)
		created = true
	}
	r.add(m)
	queued := false
	if h.hasHooks {
		h.hookMu.Lock()
		if created && h.hooks.OnCreateRoom != nil {
			h.pending = append(h.pending, event[M]{kind: evCreate, room: r.name, m: m})
			queued = true
		}
		if h.hooks.OnJoinRoom != nil {
			h.pending = append(h.pending, event[M]{kind: evJoin, room: r.name, m: m})
			queued = true
		}
		h.hookMu.Unlock()
	}
	sh.mu.Unlock()
	return r.name, queued
}

// leaveLocked removes m from the room called name and deletes the room if
// it became empty. It reports whether hook events were queued. The caller
// holds m's member shard mutex.
func (h *Hub[M]) leaveLocked(sh *shard[M], name string, m M) bool {
	sh.mu.Lock()
	r := sh.lookup(name)
	if r == nil || !r.remove(m) {
		// The member record said m was in the room, so this is unreachable
		// unless the hub's invariants are broken; stay consistent anyway.
		sh.mu.Unlock()
		return false
	}
	deleted := false
	if len(r.members) == 0 {
		sh.rooms.Delete(r.name)
		r.members = nil
		deleted = true
	}
	queued := false
	if h.hasHooks {
		h.hookMu.Lock()
		if h.hooks.OnLeaveRoom != nil {
			h.pending = append(h.pending, event[M]{kind: evLeave, room: r.name, m: m})
			queued = true
		}
		if deleted && h.hooks.OnDeleteRoom != nil {
			h.pending = append(h.pending, event[M]{kind: evDelete, room: r.name, m: m})
			queued = true
		}
		h.hookMu.Unlock()
	}
	sh.mu.Unlock()
	return queued
}

// Leave removes m from room. It does nothing if m is not in room. m stays
// registered (broadcasts to everyone still reach it) until LeaveAll. Safe
// from any goroutine.
func (h *Hub[M]) Leave(m M, room string) {
	ms := h.memberShard(m)
	ms.mu.Lock()
	rec, ok := ms.recs[m]
	if !ok || rec == nil || !rec.remove(room) {
		ms.mu.Unlock()
		return
	}
	// An emptied record is kept, with its array: a member that leaves its
	// last room and joins again (a chat switching rooms) allocates nothing.
	// Only members that never joined a room save the record (nil).
	sh := h.roomShard(room)
	queued := h.leaveLocked(sh, room, m)
	ms.mu.Unlock()
	if queued {
		h.drainHooks()
	}
}

// LeaveAll removes m from every room and unregisters it; call it on
// disconnect. It returns the rooms m was in, in join order; the slice is
// handed over to the caller. It returns nil if m was in no room or not
// registered. Safe from any goroutine.
func (h *Hub[M]) LeaveAll(m M) []string {
	ms := h.memberShard(m)
	queued := false
	ms.mu.Lock()
	rec, ok := ms.recs[m]
	if !ok {
		ms.mu.Unlock()
		return nil
	}
	delete(ms.recs, m)
	var rooms []string
	if rec != nil && len(rec.rooms) > 0 {
		rooms = rec.rooms
	}
	for _, name := range rooms {
		sh := h.roomShard(name)
		if h.leaveLocked(sh, name, m) {
			queued = true
		}
	}
	h.allShard.mu.Lock()
	h.all.remove(m)
	h.allShard.mu.Unlock()
	ms.mu.Unlock()
	if queued {
		h.drainHooks()
	}
	return rooms
}

// Regrouped tells the hub that m's group changed: groupOf(m) already
// returns the new one. It drops the snapshots of the rooms m is in and of
// the set of every member, so that the next read of each finds m in its
// new group. A read that took a snapshot before the change may still list
// m in its old group; the caller orders deliveries made through the two
// (in sio, a client's relocation). No hook runs. Safe from any goroutine.
func (h *Hub[M]) Regrouped(m M) {
	if g := h.groupOf(m); g < 0 || g >= h.groups {
		panic("hub: member group " + strconv.Itoa(g) + " out of range [0, " + strconv.Itoa(h.groups) + ")")
	}
	ms := h.memberShard(m)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	rec, ok := ms.recs[m]
	if !ok {
		return
	}
	if rec != nil {
		for _, name := range rec.rooms {
			sh := h.roomShard(name)
			sh.mu.Lock()
			if r := sh.lookup(name); r != nil {
				r.snap.Store(nil)
			}
			sh.mu.Unlock()
		}
	}
	h.allShard.mu.Lock()
	h.all.snap.Store(nil)
	h.allShard.mu.Unlock()
}

// Rooms returns a copy of the rooms m is in, in join order, or nil if m is
// in none. Safe from any goroutine.
func (h *Hub[M]) Rooms(m M) []string {
	ms := h.memberShard(m)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	rec := ms.recs[m]
	if rec == nil || len(rec.rooms) == 0 {
		return nil
	}
	return append([]string(nil), rec.rooms...)
}

// Has reports whether m is in room. Safe from any goroutine.
func (h *Hub[M]) Has(room string, m M) bool {
	ms := h.memberShard(m)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	rec := ms.recs[m]
	return rec.has(room)
}

// Registered reports whether m has joined (with or without rooms) and not
// yet left with LeaveAll. Safe from any goroutine.
func (h *Hub[M]) Registered(m M) bool {
	ms := h.memberShard(m)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	_, ok := ms.recs[m]
	return ok
}

// Size returns the number of members in room (0 if it does not exist).
// Lock-free; safe from any goroutine.
func (h *Hub[M]) Size(room string) int {
	r := h.lookup(room)
	if r == nil {
		return 0
	}
	return int(r.n.Load())
}

// Len returns the number of registered members. Lock-free; safe from any
// goroutine.
func (h *Hub[M]) Len() int { return int(h.all.n.Load()) }

// AllRooms returns the names of all non-empty rooms, in no particular order.
// It takes no lock, so rooms created or deleted meanwhile may or may not be
// listed. Safe from any goroutine.
func (h *Hub[M]) AllRooms() []string {
	var out []string
	for i := range h.shards {
		h.shards[i].rooms.Range(func(k, _ any) bool {
			out = append(out, k.(string))
			return true
		})
	}
	return out
}

// drainHooks delivers the queued hook events in order unless another
// goroutine is already doing so (that one will see ours: it checks for more
// under hookMu before it stops). It is called with no lock held, and hooks
// run with none, so a hook that joins or leaves only queues more events for
// the loop below.
func (h *Hub[M]) drainHooks() {
	h.hookMu.Lock()
	if h.draining || len(h.pending) == 0 {
		h.hookMu.Unlock()
		return
	}
	h.draining = true
	finished := false
	defer func() {
		if !finished {
			// A hook panicked: let the next writer deliver what is left.
			h.hookMu.Lock()
			h.draining = false
			h.hookMu.Unlock()
		}
	}()
	for len(h.pending) > 0 {
		batch := h.pending
		h.pending, h.spare = h.spare[:0], nil
		h.hookMu.Unlock()
		for i := range batch {
			h.deliver(&batch[i])
		}
		clear(batch) // drop member and name references
		h.hookMu.Lock()
		if h.spare == nil {
			h.spare = batch[:0]
		}
	}
	h.draining = false
	finished = true
	h.hookMu.Unlock()
}

func (h *Hub[M]) deliver(e *event[M]) {
	switch e.kind {
	case evCreate:
		h.hooks.OnCreateRoom(e.room, e.m)
	case evJoin:
		h.hooks.OnJoinRoom(e.room, e.m)
	case evLeave:
		h.hooks.OnLeaveRoom(e.room, e.m)
	case evDelete:
		h.hooks.OnDeleteRoom(e.room, e.m)
	}
}

// RoomCount returns the number of rooms with members. It walks every
// shard: meant for metrics, not for a hot path.
func (h *Hub[M]) RoomCount() int {
	n := 0
	for i := range h.shards {
		h.shards[i].rooms.Range(func(_, _ any) bool { n++; return true })
	}
	return n
}
