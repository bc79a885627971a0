package hub

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
)

func TestNewPanicsOnBadGroups(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(0) did not panic")
		}
	}()
	New(0, (*tm).Group)
}

func TestJoinPanicsOnBadGroup(t *testing.T) {
	h := New(2, (*tm).Group)
	for _, g := range []int{-1, 2} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Join with group %d did not panic", g)
				}
			}()
			h.Join(&tm{g: g}, "r")
		}()
	}
	if h.Len() != 0 || h.Size("r") != 0 {
		t.Fatalf("rejected join left state: Len %d Size %d", h.Len(), h.Size("r"))
	}
}

func TestMembership(t *testing.T) {
	h := New(2, (*tm).Group)
	a, b := &tm{id: 1, g: 0}, &tm{id: 2, g: 1}
	h.Join(a, "x", "y", "x")
	h.Join(b, "y")
	if got := h.Rooms(a); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("Rooms(a) = %v", got)
	}
	if !h.Has("x", a) || h.Has("x", b) || !h.Has("y", b) {
		t.Fatal("Has is wrong")
	}
	if h.Size("x") != 1 || h.Size("y") != 2 || h.Size("z") != 0 {
		t.Fatalf("Size x=%d y=%d z=%d", h.Size("x"), h.Size("y"), h.Size("z"))
	}
	got := h.AllRooms()
	slices.Sort(got)
	if !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("AllRooms = %v", got)
	}
	// Rooms returns a copy.
	r := h.Rooms(a)
	r[0] = "mutated"
	if h.Rooms(a)[0] != "x" {
		t.Fatal("Rooms aliases internal state")
	}
}

func TestEmptyRoomsVanish(t *testing.T) {
	h := New(1, (*tm).Group)
	a, b := &tm{id: 1}, &tm{id: 2}
	h.Join(a, "r")
	h.Join(b, "r")
	h.Leave(a, "r")
	if h.Size("r") != 1 {
		t.Fatalf("Size = %d", h.Size("r"))
	}
	h.Leave(b, "r")
	h.Leave(b, "r") // no-op
	if h.Size("r") != 0 || len(h.AllRooms()) != 0 || h.lookup("r") != nil {
		t.Fatalf("room still present: Size %d AllRooms %v", h.Size("r"), h.AllRooms())
	}
	if got := collect(t, h, &Selector[*tm]{Rooms: []string{"r"}}); got != nil {
		t.Fatalf("deleted room selects %v", got)
	}
	// Leaving the last room keeps the members registered, as in socket.io.
	if !h.Registered(a) || !h.Registered(b) || h.Len() != 2 {
		t.Fatal("leaving rooms unregistered the members")
	}
	if got := collect(t, h, nil); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("everyone = %v", got)
	}
	// A room can be recreated after it vanished.
	h.Join(a, "r")
	if got := collect(t, h, &Selector[*tm]{Rooms: []string{"r"}}); !slices.Equal(got, []int{1}) {
		t.Fatalf("recreated room = %v", got)
	}
}

func TestLeaveAll(t *testing.T) {
	h := New(2, (*tm).Group)
	a, b := &tm{id: 1, g: 0}, &tm{id: 2, g: 1}
	h.Join(a, "c", "a", "b")
	h.Join(b, "a")
	if got := h.LeaveAll(a); !slices.Equal(got, []string{"c", "a", "b"}) {
		t.Fatalf("LeaveAll = %v", got)
	}
	if h.Registered(a) || h.Rooms(a) != nil || h.Has("a", a) {
		t.Fatal("a still known")
	}
	if got := h.AllRooms(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("AllRooms = %v", got)
	}
	if got := collect(t, h, nil); !slices.Equal(got, []int{2}) {
		t.Fatalf("everyone = %v", got)
	}
	if got := h.LeaveAll(a); got != nil {
		t.Fatalf("second LeaveAll = %v", got)
	}
	// A member registered without rooms is unregistered too.
	c := &tm{id: 3}
	h.Join(c)
	if got := h.LeaveAll(c); got != nil || h.Registered(c) || h.Len() != 1 {
		t.Fatalf("LeaveAll(c) = %v, registered %v, Len %d", got, h.Registered(c), h.Len())
	}
}

func TestManyRoomsPerMember(t *testing.T) {
	h := New(1, (*tm).Group)
	a := &tm{id: 1}
	var names []string
	for i := range 3 * setThreshold {
		names = append(names, "room"+strconv.Itoa(i))
	}
	h.Join(a, names...)
	h.Join(a, names...) // all duplicates
	if got := h.Rooms(a); !slices.Equal(got, names) {
		t.Fatalf("Rooms = %v", got)
	}
	for i := 0; i < len(names); i += 2 {
		h.Leave(a, names[i])
	}
	var want []string
	for i := 1; i < len(names); i += 2 {
		want = append(want, names[i])
	}
	if got := h.Rooms(a); !slices.Equal(got, want) {
		t.Fatalf("Rooms after leaves = %v", got)
	}
	if h.Has(names[0], a) || !h.Has(names[1], a) {
		t.Fatal("Has is wrong after leaves")
	}
	if len(h.AllRooms()) != len(want) {
		t.Fatalf("AllRooms has %d rooms, want %d", len(h.AllRooms()), len(want))
	}
}

func TestRoomNameIsCopied(t *testing.T) {
	h := New(1, (*tm).Group)
	buf := []byte("alpha")
	// Build a string that shares buf's memory, as a zero-copy parser would.
	name := unsafeString(buf)
	h.Join(&tm{id: 1}, name)
	copy(buf, "omega")
	if got := h.AllRooms(); !slices.Equal(got, []string{"alpha"}) {
		t.Fatalf("AllRooms = %v after the caller reused its buffer", got)
	}
	if h.Size("alpha") != 1 {
		t.Fatal("room not found under its original name")
	}
}

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recorder) hooks() Hooks[*tm] {
	return Hooks[*tm]{
		OnCreateRoom: func(room string, _ *tm) { r.add("create " + room) },
		OnJoinRoom:   func(room string, m *tm) { r.add(fmt.Sprintf("join %s %d", room, m.id)) },
		OnLeaveRoom:  func(room string, m *tm) { r.add(fmt.Sprintf("leave %s %d", room, m.id)) },
		OnDeleteRoom: func(room string, _ *tm) { r.add("delete " + room) },
	}
}

func TestHooksOrder(t *testing.T) {
	var rec recorder
	h := NewWithHooks(2, (*tm).Group, rec.hooks())
	a, b := &tm{id: 1, g: 0}, &tm{id: 2, g: 1}
	h.Join(a, "x")
	h.Join(b, "x", "y")
	h.Join(b, "x") // no events: already a member
	h.Leave(a, "x")
	h.Leave(a, "x") // no events: not a member
	h.LeaveAll(b)
	h.Join(a) // no events: registration only
	want := []string{
		"create x", "join x 1",
		"join x 2", "create y", "join y 2",
		"leave x 1",
		"leave x 2", "delete x", "leave y 2", "delete y",
	}
	if !slices.Equal(rec.events, want) {
		t.Fatalf("events:\n got %q\nwant %q", rec.events, want)
	}
}

func TestHooksSubset(t *testing.T) {
	var deleted []string
	h := NewWithHooks(1, (*tm).Group, Hooks[*tm]{OnDeleteRoom: func(room string, _ *tm) { deleted = append(deleted, room) }})
	a := &tm{id: 1}
	h.Join(a, "x", "y")
	h.LeaveAll(a)
	if !slices.Equal(deleted, []string{"x", "y"}) {
		t.Fatalf("deleted = %v", deleted)
	}
}

// TestHooksMayCallHub checks that hooks run outside the hub's locks: a hook
// that joins another room must neither deadlock nor reorder events.
func TestHooksMayCallHub(t *testing.T) {
	var rec recorder
	var h *Hub[*tm]
	hooks := rec.hooks()
	create := hooks.OnCreateRoom
	hooks.OnCreateRoom = func(room string, m *tm) {
		create(room, m)
		if room == "x" {
			h.Join(&tm{id: 9}, "x") // same room, so same shard as the drainer
			_ = h.Rooms(&tm{id: 9})
			_ = h.Count(&Selector[*tm]{Rooms: []string{"x"}})
		}
	}
	h = NewWithHooks(1, (*tm).Group, hooks)
	h.Join(&tm{id: 1}, "x")
	want := []string{"create x", "join x 1", "join x 9"}
	if !slices.Equal(rec.events, want) {
		t.Fatalf("events:\n got %q\nwant %q", rec.events, want)
	}
	if h.Size("x") != 2 {
		t.Fatalf("Size = %d", h.Size("x"))
	}
}

func TestHookPanicDoesNotWedgeDelivery(t *testing.T) {
	var rec recorder
	hooks := rec.hooks()
	join := hooks.OnJoinRoom
	hooks.OnJoinRoom = func(room string, m *tm) {
		if m.id == 13 {
			panic("unlucky")
		}
		join(room, m)
	}
	h := NewWithHooks(1, (*tm).Group, hooks)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("hook panic was swallowed")
			}
		}()
		h.Join(&tm{id: 13}, "x")
	}()
	h.Join(&tm{id: 1}, "x")
	want := []string{"create x", "join x 1"}
	if !slices.Equal(rec.events, want) {
		t.Fatalf("events:\n got %q\nwant %q", rec.events, want)
	}
}

// TestCreateDeleteHooksNameTheMember checks that OnCreateRoom gets the
// member whose join created the room and OnDeleteRoom the one whose leave
// emptied it, through Leave and LeaveAll.
func TestCreateDeleteHooksNameTheMember(t *testing.T) {
	var got []string
	h := NewWithHooks(1, (*tm).Group, Hooks[*tm]{
		OnCreateRoom: func(room string, m *tm) { got = append(got, fmt.Sprintf("create %s %d", room, m.id)) },
		OnDeleteRoom: func(room string, m *tm) { got = append(got, fmt.Sprintf("delete %s %d", room, m.id)) },
	})
	a, b := &tm{id: 1}, &tm{id: 2}
	h.Join(a, "x")
	h.Join(b, "x", "y")
	h.Leave(a, "x")
	h.LeaveAll(b)
	want := []string{"create x 1", "create y 2", "delete x 2", "delete y 2"}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}
