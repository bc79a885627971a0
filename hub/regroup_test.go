package hub

import (
	"slices"
	"sync/atomic"
	"testing"
)

// rm is a member whose group can change (as a sio client's does when it
// upgrades).
type rm struct {
	id int
	g  atomic.Int32
}

func (m *rm) Group() int { return int(m.g.Load()) }

func newRegroupMembers(n int) []*rm {
	ms := make([]*rm, n)
	for i := range ms {
		ms[i] = &rm{id: i}
		ms[i].g.Store(int32(i % 2))
	}
	return ms
}

func groupIDs(groups [][]*rm) [][]int {
	out := make([][]int, len(groups))
	for g, ms := range groups {
		for _, m := range ms {
			out[g] = append(out[g], m.id)
		}
		slices.Sort(out[g])
	}
	return out
}

// TestRegroupedMovesMemberInEveryRoom checks that after Regrouped the
// snapshots of each of the member's rooms, and of everyone, list it in its
// new group only, while a snapshot taken before keeps its old layout.
func TestRegroupedMovesMemberInEveryRoom(t *testing.T) {
	h := New(2, (*rm).Group)
	ms := newRegroupMembers(4) // groups 0 1 0 1
	for _, m := range ms {
		h.Join(m, "a")
	}
	h.Join(ms[0], "b")
	before, ok := h.Snapshot(&Selector[*rm]{Rooms: []string{"a"}})
	if !ok {
		t.Fatal("no snapshot")
	}
	ms[0].g.Store(1)
	h.Regrouped(ms[0])
	for _, sel := range []*Selector[*rm]{{Rooms: []string{"a"}}, {}} {
		after, _ := h.Snapshot(sel)
		if got, want := groupIDs(after), [][]int{{2}, {0, 1, 3}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("rooms %v after the regroup: %v, want %v", sel.Rooms, got, want)
		}
	}
	after, _ := h.Snapshot(&Selector[*rm]{Rooms: []string{"b"}})
	if got, want := groupIDs(after), [][]int{nil, {0}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("room b after the regroup: %v, want %v", got, want)
	}
	if got, want := groupIDs(before), [][]int{{0, 2}, {1, 3}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("snapshot taken before: %v, want %v", got, want)
	}
}

// TestExceptFindsRegroupedMember: a selection excluding a member must
// exclude it even from a room snapshot that still lists it in its old
// group (socket.broadcast from a socket that just upgraded).
func TestExceptFindsRegroupedMember(t *testing.T) {
	h := New(2, (*rm).Group)
	ms := newRegroupMembers(4)
	for _, m := range ms {
		h.Join(m, "a")
	}
	sel := &Selector[*rm]{Rooms: []string{"a"}, ExceptMember: ms[0], HasExceptMember: true}
	h.Snapshot(&Selector[*rm]{Rooms: []string{"a"}}) // build the snapshot
	ms[0].g.Store(1)                                 // moved, but Regrouped not yet called
	var ids []int
	h.ForEachGroup(sel, func(_ int, got []*rm) {
		for _, m := range got {
			ids = append(ids, m.id)
		}
	})
	slices.Sort(ids)
	if !slices.Equal(ids, []int{1, 2, 3}) {
		t.Fatalf("selection except member 0: %v, want [1 2 3]", ids)
	}
	if n := h.Count(sel); n != 3 {
		t.Fatalf("Count except member 0: %d, want 3", n)
	}
}
