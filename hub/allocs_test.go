//go:build !race

package hub

import "testing"

func TestAllocsSingleRoom(t *testing.T) {
	h := New(4, (*tm).Group)
	for _, m := range newMembers(1000, 4) {
		h.Join(m, "r")
	}
	var counts [4]int
	fn := func(g int, ms []*tm) {
		for range ms {
			counts[g]++
		}
	}
	tests := []struct {
		name string
		sel  *Selector[*tm]
	}{
		{name: "room", sel: &Selector[*tm]{Rooms: []string{"r"}}},
		{name: "everyone", sel: nil},
		{name: "missing room", sel: &Selector[*tm]{Rooms: []string{"nope"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.ForEachGroup(tt.sel, fn) // builds the snapshot
			if a := testing.AllocsPerRun(100, func() { h.ForEachGroup(tt.sel, fn) }); a != 0 {
				t.Errorf("ForEachGroup: %v allocs per run, want 0", a)
			}
			if a := testing.AllocsPerRun(100, func() { _ = h.Count(tt.sel) }); a != 0 {
				t.Errorf("Count: %v allocs per run, want 0", a)
			}
		})
	}
}

// TestAllocsPooled checks that selections using scratch space reuse it
// rather than allocating per call or per recipient. sync.Pool may drop its
// contents at a GC, so allow a fraction of an allocation per call.
func TestAllocsPooled(t *testing.T) {
	h := New(4, (*tm).Group)
	ms := newMembers(3000, 4)
	for i, m := range ms {
		h.Join(m, "r"+string(rune('a'+i%3)), "all")
	}
	fn := func(int, []*tm) {}
	tests := []struct {
		name string
		sel  *Selector[*tm]
	}{
		{name: "except member", sel: &Selector[*tm]{Rooms: []string{"all"}, ExceptMember: ms[5], HasExceptMember: true}},
		{name: "union", sel: &Selector[*tm]{Rooms: []string{"ra", "rb", "rc"}}},
		{name: "except room", sel: &Selector[*tm]{Rooms: []string{"all"}, Except: []string{"rb"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.ForEachGroup(tt.sel, fn)
			if a := testing.AllocsPerRun(100, func() { h.ForEachGroup(tt.sel, fn) }); a > 0.5 {
				t.Errorf("%v allocs per run", a)
			}
		})
	}
}

func TestAllocsJoinLeaveExistingRoom(t *testing.T) {
	h := New(4, (*tm).Group)
	ms := newMembers(100, 4)
	for _, m := range ms {
		h.Join(m, "r")
	}
	m := ms[7]
	// Leaving and rejoining a room that stays non-empty, for a registered
	// member, allocates nothing when no snapshot has been built.
	if a := testing.AllocsPerRun(100, func() {
		h.Leave(m, "r")
		h.Join(m, "r")
	}); a != 0 {
		t.Errorf("%v allocs per leave+join", a)
	}
}
