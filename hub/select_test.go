package hub

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func TestSelect(t *testing.T) {
	// Members 0..6 in groups id%4. Member 6 is registered but in no room.
	//   r1: 0 1 2     r2: 2 3     r3: 4     r4: 5 1
	h := New(4, (*tm).Group)
	ms := newMembers(7, 4)
	h.Join(ms[0], "r1")
	h.Join(ms[1], "r1", "r4")
	h.Join(ms[2], "r1", "r2")
	h.Join(ms[3], "r2")
	h.Join(ms[4], "r3")
	h.Join(ms[5], "r4")
	h.Join(ms[6])

	tests := []struct {
		name string
		sel  *Selector[*tm]
		want []int
	}{
		{name: "nil selector is everyone", sel: nil, want: []int{0, 1, 2, 3, 4, 5, 6}},
		{name: "no rooms is everyone", sel: &Selector[*tm]{}, want: []int{0, 1, 2, 3, 4, 5, 6}},
		{name: "one room", sel: &Selector[*tm]{Rooms: []string{"r1"}}, want: []int{0, 1, 2}},
		{name: "missing room", sel: &Selector[*tm]{Rooms: []string{"nope"}}, want: nil},
		{name: "one room except member", sel: &Selector[*tm]{Rooms: []string{"r1"}, ExceptMember: ms[1], HasExceptMember: true}, want: []int{0, 2}},
		{name: "except member alone in its group", sel: &Selector[*tm]{Rooms: []string{"r1"}, ExceptMember: ms[0], HasExceptMember: true}, want: []int{1, 2}},
		{name: "except member not in room", sel: &Selector[*tm]{Rooms: []string{"r1"}, ExceptMember: ms[3], HasExceptMember: true}, want: []int{0, 1, 2}},
		{name: "except member ignored unless flagged", sel: &Selector[*tm]{Rooms: []string{"r1"}, ExceptMember: ms[1]}, want: []int{0, 1, 2}},
		{name: "everyone except member", sel: &Selector[*tm]{ExceptMember: ms[6], HasExceptMember: true}, want: []int{0, 1, 2, 3, 4, 5}},
		{name: "union dedups", sel: &Selector[*tm]{Rooms: []string{"r1", "r2"}}, want: []int{0, 1, 2, 3}},
		{name: "union of three", sel: &Selector[*tm]{Rooms: []string{"r4", "r1", "r2"}}, want: []int{0, 1, 2, 3, 5}},
		{name: "repeated room", sel: &Selector[*tm]{Rooms: []string{"r1", "r1"}}, want: []int{0, 1, 2}},
		{name: "union with missing room", sel: &Selector[*tm]{Rooms: []string{"nope", "r3"}}, want: []int{4}},
		{name: "union except member", sel: &Selector[*tm]{Rooms: []string{"r1", "r2"}, ExceptMember: ms[2], HasExceptMember: true}, want: []int{0, 1, 3}},
		{name: "room except room", sel: &Selector[*tm]{Rooms: []string{"r1"}, Except: []string{"r2"}}, want: []int{0, 1}},
		{name: "room except itself", sel: &Selector[*tm]{Rooms: []string{"r1"}, Except: []string{"r1"}}, want: nil},
		{name: "except missing room", sel: &Selector[*tm]{Rooms: []string{"r1"}, Except: []string{"nope"}}, want: []int{0, 1, 2}},
		{name: "except missing room and member", sel: &Selector[*tm]{Rooms: []string{"r1"}, Except: []string{"nope"}, ExceptMember: ms[0], HasExceptMember: true}, want: []int{1, 2}},
		{name: "everyone except room", sel: &Selector[*tm]{Except: []string{"r1"}}, want: []int{3, 4, 5, 6}},
		{name: "everyone except two rooms and member", sel: &Selector[*tm]{Except: []string{"r1", "r3"}, ExceptMember: ms[5], HasExceptMember: true}, want: []int{3, 6}},
		{name: "union except room and member", sel: &Selector[*tm]{Rooms: []string{"r1", "r2", "r3"}, Except: []string{"r4"}, ExceptMember: ms[4], HasExceptMember: true}, want: []int{0, 2, 3}},
		{name: "union minus overlapping except", sel: &Selector[*tm]{Rooms: []string{"r2", "r4"}, Except: []string{"r1"}}, want: []int{3, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := collect(t, h, tt.sel); !slices.Equal(got, tt.want) {
				t.Errorf("ForEachGroup = %v, want %v", got, tt.want)
			}
			if got := h.Count(tt.sel); got != len(tt.want) {
				t.Errorf("Count = %d, want %d", got, len(tt.want))
			}
		})
	}
}

// TestSelectMatchesModel applies random joins, leaves and disconnects to a
// hub and to a plain map model, and checks random selections against the
// model after every step.
func TestSelectMatchesModel(t *testing.T) {
	const groups, nMembers, nRooms, steps = 3, 40, 6, 3000
	rng := rand.New(rand.NewPCG(1, 2))
	h := New(groups, (*tm).Group)
	ms := newMembers(nMembers, groups)
	model := map[*tm]map[string]bool{} // registered members → rooms
	room := func() string { return "r" + strconv.Itoa(rng.IntN(nRooms)) }
	pickRooms := func() []string {
		var rs []string
		for range rng.IntN(4) {
			rs = append(rs, room())
		}
		return rs
	}
	for step := range steps {
		m := ms[rng.IntN(nMembers)]
		switch op := rng.IntN(10); {
		case op < 5:
			rs := pickRooms()
			h.Join(m, rs...)
			if model[m] == nil {
				model[m] = map[string]bool{}
			}
			for _, r := range rs {
				model[m][r] = true
			}
		case op < 8:
			r := room()
			h.Leave(m, r)
			if model[m] != nil {
				delete(model[m], r)
			}
		default:
			left := h.LeaveAll(m)
			var want []string
			for r := range model[m] {
				want = append(want, r)
			}
			slices.Sort(want)
			slices.Sort(left)
			if !slices.Equal(left, want) {
				t.Fatalf("step %d: LeaveAll = %v, want %v", step, left, want)
			}
			delete(model, m)
		}

		sel := &Selector[*tm]{Rooms: pickRooms(), Except: pickRooms()}
		if rng.IntN(2) == 0 {
			sel.ExceptMember, sel.HasExceptMember = ms[rng.IntN(nMembers)], true
		}
		var want []int
		for mm, rooms := range model {
			in := len(sel.Rooms) == 0
			for _, r := range sel.Rooms {
				in = in || rooms[r]
			}
			for _, r := range sel.Except {
				in = in && !rooms[r]
			}
			if sel.HasExceptMember && mm == sel.ExceptMember {
				in = false
			}
			if in {
				want = append(want, mm.id)
			}
		}
		slices.Sort(want)
		if got := collect(t, h, sel); !slices.Equal(got, want) {
			t.Fatalf("step %d: select %+v = %v, want %v", step, sel, got, want)
		}
		if got := h.Count(sel); got != len(want) {
			t.Fatalf("step %d: Count %+v = %d, want %d", step, sel, got, len(want))
		}
		for i := range nRooms {
			r := "r" + strconv.Itoa(i)
			n := 0
			for _, rooms := range model {
				if rooms[r] {
					n++
				}
			}
			if got := h.Size(r); got != n {
				t.Fatalf("step %d: Size(%s) = %d, want %d", step, r, got, n)
			}
		}
		if h.Len() != len(model) {
			t.Fatalf("step %d: Len = %d, want %d", step, h.Len(), len(model))
		}
	}
}

// TestCallbackMayNotCorruptSnapshot checks that an fn appending to its slice
// cannot overwrite members that later joins store in spare capacity.
func TestCallbackMayNotCorruptSnapshot(t *testing.T) {
	h := New(1, (*tm).Group)
	ms := newMembers(10, 1)
	for _, m := range ms[:5] {
		h.Join(m, "r")
	}
	intruder := &tm{id: 99}
	h.ForEachGroup(&Selector[*tm]{Rooms: []string{"r"}}, func(_ int, got []*tm) {
		_ = append(got, intruder) // must reallocate, not write into the room
	})
	for _, m := range ms[5:] {
		h.Join(m, "r")
	}
	if got, want := collect(t, h, &Selector[*tm]{Rooms: []string{"r"}}), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestSnapshotIsStableDuringCallback checks that joins and leaves made from
// inside fn do not change the slice fn is iterating.
func TestSnapshotIsStableDuringCallback(t *testing.T) {
	h := New(1, (*tm).Group)
	ms := newMembers(20, 1)
	for _, m := range ms[:10] {
		h.Join(m, "r")
	}
	calls := 0
	h.ForEachGroup(&Selector[*tm]{Rooms: []string{"r"}}, func(_ int, got []*tm) {
		calls++
		before := slices.Clone(got)
		for _, m := range ms[10:] {
			h.Join(m, "r")
		}
		h.Leave(ms[0], "r")
		if !slices.Equal(before, got) {
			t.Errorf("slice changed during fn")
		}
	})
	if calls != 1 {
		t.Fatalf("fn called %d times", calls)
	}
	if got := h.Count(&Selector[*tm]{Rooms: []string{"r"}}); got != 19 {
		t.Fatalf("Count after = %d, want 19", got)
	}
}

func TestBulkJoinThenLeave(t *testing.T) {
	const n, groups = 10000, 4
	h := New(groups, (*tm).Group)
	ms := newMembers(n, groups)
	sel := &Selector[*tm]{Rooms: []string{"big"}}
	for i, m := range ms {
		h.Join(m, "big")
		if i == n/2 {
			// A read in the middle makes later joins extend the snapshot.
			if got := h.Count(sel); got != i+1 {
				t.Fatalf("Count = %d, want %d", got, i+1)
			}
		}
	}
	if got := collect(t, h, sel); len(got) != n || got[0] != 0 || got[n-1] != n-1 {
		t.Fatalf("got %d members", len(got))
	}
	for _, m := range ms[:n/2] {
		h.Leave(m, "big")
	}
	got := collect(t, h, sel)
	if len(got) != n/2 || got[0] != n/2 {
		t.Fatalf("after leaves got %d members starting at %v", len(got), got[:1])
	}
}

// snapIDs flattens a Snapshot result into sorted member ids, checking that
// every member sits in its own group's bucket.
func snapIDs(t *testing.T, groups [][]*tm) []int {
	t.Helper()
	var ids []int
	for g, ms := range groups {
		for _, m := range ms {
			if m.g != g {
				t.Errorf("member %d of group %d in bucket %d", m.id, m.g, g)
			}
			ids = append(ids, m.id)
		}
	}
	slices.Sort(ids)
	return ids
}

func TestSnapshot(t *testing.T) {
	h := New(3, (*tm).Group)
	ms := newMembers(6, 3)
	for _, m := range ms[:4] {
		h.Join(m, "r")
	}
	h.Join(ms[4], "other")

	if _, ok := h.Snapshot(&Selector[*tm]{Rooms: []string{"r", "other"}}); ok {
		t.Error("Snapshot of a union reported ok")
	}
	if _, ok := h.Snapshot(&Selector[*tm]{Rooms: []string{"r"}, Except: []string{"other"}}); ok {
		t.Error("Snapshot with except rooms reported ok")
	}
	if g, ok := h.Snapshot(&Selector[*tm]{Rooms: []string{"nope"}}); !ok || g != nil {
		t.Errorf("Snapshot of a missing room = %v, %v; want nil, true", g, ok)
	}
	all, ok := h.Snapshot(nil)
	if !ok || !slices.Equal(snapIDs(t, all), []int{0, 1, 2, 3, 4}) {
		t.Errorf("Snapshot(everyone) = %v, %v", snapIDs(t, all), ok)
	}

	snap, ok := h.Snapshot(&Selector[*tm]{Rooms: []string{"r"}})
	if !ok || !slices.Equal(snapIDs(t, snap), []int{0, 1, 2, 3}) {
		t.Fatalf("Snapshot(r) = %v, %v", snapIDs(t, snap), ok)
	}
	// A kept snapshot does not change when the room does: a deferred
	// broadcast reaches exactly the members of the moment it was sent.
	h.Join(ms[5], "r")
	h.Leave(ms[0], "r")
	h.Join(ms[4], "r")
	if got := snapIDs(t, snap); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("kept snapshot changed to %v", got)
	}
	now, _ := h.Snapshot(&Selector[*tm]{Rooms: []string{"r"}})
	if got := snapIDs(t, now); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Errorf("fresh snapshot = %v, want [1 2 3 4 5]", got)
	}
}
