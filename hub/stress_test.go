package hub

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hookModel rebuilds room membership from hook events alone and reports any
// event that is impossible in the order received (join before create,
// delete of a non-empty room, ...).
type hookModel struct {
	mu    sync.Mutex
	rooms map[string]map[*tm]bool // created rooms → members
	errs  []string
}

func (hm *hookModel) fail(format string, args ...any) {
	if len(hm.errs) < 10 {
		hm.errs = append(hm.errs, fmt.Sprintf(format, args...))
	}
}

func (hm *hookModel) hooks() Hooks[*tm] {
	return Hooks[*tm]{
		OnCreateRoom: func(room string, _ *tm) {
			hm.mu.Lock()
			defer hm.mu.Unlock()
			if hm.rooms[room] != nil {
				hm.fail("create %s: exists", room)
			}
			hm.rooms[room] = map[*tm]bool{}
		},
		OnJoinRoom: func(room string, m *tm) {
			hm.mu.Lock()
			defer hm.mu.Unlock()
			if hm.rooms[room] == nil {
				hm.fail("join %s %d: no room", room, m.id)
			} else if hm.rooms[room][m] {
				hm.fail("join %s %d: already in", room, m.id)
			} else {
				hm.rooms[room][m] = true
			}
		},
		OnLeaveRoom: func(room string, m *tm) {
			hm.mu.Lock()
			defer hm.mu.Unlock()
			if !hm.rooms[room][m] {
				hm.fail("leave %s %d: not in", room, m.id)
			}
			delete(hm.rooms[room], m)
		},
		OnDeleteRoom: func(room string, _ *tm) {
			hm.mu.Lock()
			defer hm.mu.Unlock()
			if r, ok := hm.rooms[room]; !ok || len(r) != 0 {
				hm.fail("delete %s: exists %v, %d members", room, ok, len(r))
			}
			delete(hm.rooms, room)
		},
	}
}

// TestConcurrentStress joins, leaves, disconnects and broadcasts from many
// goroutines at once for a few hundred milliseconds. Members that stay
// joined throughout must always be selected, members never joined must never
// be, nobody may be selected twice, and the hooks must tell a consistent
// story that ends where the hub ends.
func TestConcurrentStress(t *testing.T) {
	const (
		groups  = 4
		nStable = 16
		nChurn  = 64
		nRooms  = 6
		writers = 4
		readers = 3
	)
	duration := 300 * time.Millisecond
	if testing.Short() {
		duration = 50 * time.Millisecond
	}
	hm := &hookModel{rooms: map[string]map[*tm]bool{}}
	h := NewWithHooks(groups, (*tm).Group, hm.hooks())

	stable := make([]*tm, nStable)
	for i := range stable {
		stable[i] = &tm{id: i, g: i % groups}
		h.Join(stable[i], "s", "r0")
	}
	churn := make([]*tm, nChurn)
	for i := range churn {
		churn[i] = &tm{id: 1000 + i, g: i % groups}
	}
	never := make(map[*tm]bool)
	for i := range 8 {
		never[&tm{id: 2000 + i, g: i % groups}] = true
	}
	roomName := func(rng *rand.Rand) string { return "r" + strconv.Itoa(rng.IntN(nRooms)) }

	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan string, 100)
	report := func(format string, args ...any) {
		select {
		case errc <- fmt.Sprintf(format, args...):
		default:
		}
	}
	var ops, reads atomic.Int64

	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for !stop.Load() {
				m := churn[rng.IntN(nChurn)]
				switch rng.IntN(8) {
				case 0, 1, 2:
					h.Join(m, roomName(rng), roomName(rng))
				case 3:
					h.Join(m, "x") // an except room stable members never join
				case 4, 5:
					h.Leave(m, roomName(rng))
				case 6:
					h.Leave(m, "x")
				default:
					h.LeaveAll(m)
				}
				ops.Add(1)
			}
		})
	}

	selectors := []struct {
		sel       *Selector[*tm]
		exactly   int // when > 0, the exact number selected
		allStable bool
	}{
		{sel: &Selector[*tm]{Rooms: []string{"s"}}, exactly: nStable, allStable: true},
		{sel: &Selector[*tm]{Rooms: []string{"r0"}}, allStable: true},
		{sel: nil, allStable: true},
		{sel: &Selector[*tm]{Rooms: []string{"r0", "r1", "s", "r2"}}, allStable: true},
		{sel: &Selector[*tm]{Rooms: []string{"r0"}, Except: []string{"x"}}, allStable: true},
		{sel: &Selector[*tm]{Except: []string{"x", "r3"}}, allStable: true},
		{sel: &Selector[*tm]{Rooms: []string{"s"}, ExceptMember: stable[3], HasExceptMember: true}, exactly: nStable - 1},
		{sel: &Selector[*tm]{Rooms: []string{"r1", "r2"}}},
	}
	for r := range readers {
		wg.Go(func() {
			seen := map[*tm]int{}
			for i := 0; !stop.Load(); i++ {
				c := selectors[(i+r)%len(selectors)]
				clear(seen)
				n := 0
				h.ForEachGroup(c.sel, func(g int, ms []*tm) {
					for _, m := range ms {
						if m.g != g {
							report("member %d in group %d", m.id, g)
						}
						if never[m] {
							report("never-joined member %d selected", m.id)
						}
						seen[m]++
						n++
					}
				})
				for m, k := range seen {
					if k > 1 {
						report("member %d selected %d times by %+v", m.id, k, c.sel)
					}
				}
				if c.exactly > 0 && n != c.exactly {
					report("selector %+v selected %d, want %d", c.sel, n, c.exactly)
				}
				if c.allStable {
					for _, m := range stable {
						if seen[m] == 0 {
							report("stable member %d missed by %+v", m.id, c.sel)
						}
					}
				}
				if got := h.Count(&Selector[*tm]{Rooms: []string{"s"}}); got != nStable {
					report("Count(s) = %d", got)
				}
				if got := h.Size("s"); got != nStable {
					report("Size(s) = %d", got)
				}
				if m := stable[i%nStable]; !h.Has("r0", m) || !slices.Contains(h.Rooms(m), "s") {
					report("stable member %d lost its rooms", m.id)
				}
				reads.Add(1)
			}
		})
	}

	time.Sleep(duration)
	stop.Store(true)
	wg.Wait()
	close(errc)
	for e := range errc {
		t.Error(e)
	}
	for _, e := range hm.errs {
		t.Error("hook:", e)
	}
	t.Logf("%d writes, %d reads", ops.Load(), reads.Load())
	if ops.Load() == 0 || reads.Load() == 0 {
		t.Fatal("no work done")
	}

	// Every writer has returned, so every hook has been delivered: the hook
	// model must match the hub exactly.
	got := h.AllRooms()
	slices.Sort(got)
	var want []string
	for r, ms := range hm.rooms {
		want = append(want, r)
		if h.Size(r) != len(ms) {
			t.Errorf("room %s: Size %d, hooks say %d", r, h.Size(r), len(ms))
		}
		for m := range ms {
			if !h.Has(r, m) {
				t.Errorf("room %s: hooks say %d is in, hub disagrees", r, m.id)
			}
		}
		sel := &Selector[*tm]{Rooms: []string{r}}
		if c := h.Count(sel); c != len(ms) {
			t.Errorf("room %s: Count %d, hooks say %d", r, c, len(ms))
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("AllRooms %v, hooks say %v", got, want)
	}
	for _, m := range churn {
		h.LeaveAll(m)
	}
	if h.Len() != nStable {
		t.Errorf("Len after disconnecting churn = %d", h.Len())
	}
}
