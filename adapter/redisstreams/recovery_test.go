package redisstreams_test

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sioloop/sioloop/internal/redistest"
)

// A client that loses node A and reconnects to node B with its pid and
// offset gets its id, rooms and data back, and every event it missed from
// either node (to its room, to everybody, to its id, volatile ones too,
// as Node replays them), each with its offset, once, in order, before the
// CONNECT reply; not those for others. Then it gets B's live events.
func TestRecoveryAcrossNodes(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	A := startNode(t, "A", rs, nodeOpts{recovery: true})
	B := startNode(t, "B", rs, nodeOpts{recovery: true})
	ctx := stepCtx(t)
	c := dial(t, A, "c", map[string]any{"rooms": []string{"rr"}, "data": map[string]string{"user": "c"}})
	other := dial(t, B, "other", nil)
	if c.pid == "" {
		t.Fatal("no pid: recovery is off")
	}
	// An offset first: recovery needs one (S#26).
	if err := A.srv.To("rr").Emit("news", "before"); err != nil {
		t.Fatal(err)
	}
	before := c.waitEvent(t, "news", "before", 1)[0]
	c.drop()
	if r := A.waitDisconnect(t, c.sid); r != "transport close" {
		t.Fatalf("reason %q", r)
	}

	missed := []struct {
		name, tag string
		emit      func(tag string) error
		replay    bool
	}{
		{"B to rr", "m1", func(tag string) error { return B.srv.To("rr").Emit("news", tag) }, true},
		{"A to all", "m2", func(tag string) error { return A.srv.Emit("news", tag) }, true},
		{"B to its id", "m3", func(tag string) error { return B.srv.To(c.sid).Emit("news", tag) }, true},
		{"B volatile to rr", "m4", func(tag string) error { return B.srv.Volatile().To("rr").Emit("news", tag) }, true},
		{"A to another room", "x1", func(tag string) error { return A.srv.To("r-other").Emit("news", tag) }, false},
		{"B except rr", "x2", func(tag string) error { return B.srv.Except("rr").Emit("news", tag) }, false},
		{"A binary to rr", "m5", func(tag string) error { return A.srv.To("rr").Emit("news", tag, []byte{7, 8}) }, true},
	}
	var want []string
	for _, m := range missed {
		if err := m.emit(m.tag); err != nil {
			t.Fatal(err)
		}
		if m.replay {
			want = append(want, m.tag)
		}
	}
	// Every missed event is in the stream once other's fences came.
	fence(t, A, "fA", other)
	fence(t, B, "fB", other)

	back := dial(t, B, "c", map[string]any{"pid": c.pid, "offset": before.offset})
	if back.sid != c.sid || back.pid != c.pid {
		t.Fatalf("reconnected as %s/%s, want %s/%s", back.sid, back.pid, c.sid, c.pid)
	}
	var got []string
	var prev string
	for _, e := range back.before {
		if e.name != "news" {
			continue
		}
		got = append(got, e.arg(0))
		if e.offset == "" || !less(prev, e.offset) {
			t.Errorf("replayed %s with offset %q after %q", e.arg(0), e.offset, prev)
		}
		prev = e.offset
	}
	// In stream order: each node's in the order it sent them, the two
	// nodes' interleaved as their XADDs reached Redis.
	for _, origin := range []string{"A", "B"} {
		var mine, sent []string
		for _, m := range missed {
			if m.replay && strings.HasPrefix(m.name, origin) {
				sent = append(sent, m.tag)
			}
		}
		for _, g := range got {
			if slices.Contains(sent, g) {
				mine = append(mine, g)
			}
		}
		if !slices.Equal(mine, sent) {
			t.Errorf("replayed from %s: %v, want %v (all: %v)", origin, mine, sent, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("replayed before CONNECT: %v, want %v in any order", got, want)
	}
	B.events.wait(t, "recovered connection", 1, func(s string) bool { return s == "connect "+c.sid+" true" })
	s := B.srv.Of("/").Socket(c.sid)
	if s == nil || !slices.Equal(s.Rooms(), []string{c.sid, "rr"}) {
		t.Fatalf("socket on B: %v", s)
	}
	if d, ok := s.Data().(map[string]any); !ok || d["user"] != "c" {
		t.Errorf("data %v", s.Data())
	}

	// Live from both nodes, once each.
	A.srv.To("rr").Emit("news", "live-A")
	B.srv.To("rr").Emit("news", "live-B")
	back.waitEvent(t, "news", "live-A", 1)
	back.waitEvent(t, "news", "live-B", 1)
	fence(t, A, "f2", back)
	fence(t, B, "f3", back)
	for _, tag := range append(want, "live-A", "live-B") {
		if n := back.count("news", tag); n != 1 {
			t.Errorf("%s received %d times", tag, n)
		}
	}
	socks, err := A.srv.To("rr").FetchSockets(ctx)
	if err != nil || len(socks) != 1 || socks[0].ID != c.sid || socks[0].Local() != nil {
		t.Errorf("A sees %v %v", socks, err)
	}

	// A session is restored once.
	back.drop()
	B.waitDisconnect(t, c.sid)
	third := dial(t, A, "c3", map[string]any{"pid": c.pid, "offset": before.offset})
	if third.sid != c.sid {
		// B saved the session again at its disconnect: A restores it.
		t.Errorf("restored on A as %s, want %s", third.sid, c.sid)
	}
	fourth := dial(t, B, "c4", map[string]any{"pid": c.pid, "offset": before.offset})
	if fourth.sid == c.sid {
		t.Error("a session was restored twice")
	}
	bad := dial(t, B, "c5", map[string]any{"pid": "nope", "offset": "x"})
	if bad.sid == c.sid || len(bad.before) != 0 {
		t.Error("an invalid offset restored something")
	}
	// The fences were missed too.
	if st := B.ra.Stats(); st.Restored != 1 || st.Replayed != uint64(len(want)+2) {
		t.Errorf("B: %+v", st)
	}
}

// less compares stream ids ("" is before all).
func less(a, b string) bool {
	if a == "" {
		return true
	}
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	x, _ := strconv.ParseUint(am, 10, 64)
	y, _ := strconv.ParseUint(bm, 10, 64)
	if x != y {
		return x < y
	}
	p, _ := strconv.ParseUint(as, 10, 64)
	q, _ := strconv.ParseUint(bs, 10, 64)
	return p < q
}

// While two producers, one on each node, broadcast numbered events to a
// room without pause, a client drops from A and is restored on B: it gets
// every event of each producer exactly once and in order, across the
// replay and the live ones, with offsets that only grow.
func TestRecoveryExactlyOnceUnderLoad(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	A := startNode(t, "A", rs, nodeOpts{recovery: true})
	B := startNode(t, "B", rs, nodeOpts{recovery: true})
	c := dial(t, A, "c", map[string]any{"rooms": []string{"tick"}})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for p, n := range []*testNode{A, B} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					counts[p] = i
					return
				default:
				}
				n.srv.To("tick").Emit("tick", n.name, i)
				if i%50 == 49 {
					// Bounded run-ahead: wait until the client is past the
					// producer's own entries (through its node's pipeline).
					n.ra.Flush(stepCtx(t))
				}
			}
		}()
	}
	// Let some arrive from both, then drop.
	c.waitEvent(t, "tick", "A", 20)
	c.waitEvent(t, "tick", "B", 20)
	c.drop()
	A.waitDisconnect(t, c.sid)
	evs := c.events("tick")
	last := evs[len(evs)-1]
	back := dial(t, B, "c", map[string]any{"pid": c.pid, "offset": last.offset})
	if back.sid != c.sid {
		t.Fatal("not recovered")
	}
	back.waitEvent(t, "tick", "A", 20) // live ones after the replay
	close(stop)
	wg.Wait()
	// The producers' last events reach the client.
	fence(t, A, "fa", back)
	fence(t, B, "fb", back)

	all := append(evs, back.events("tick")...)
	next := map[string]int{}
	prev := ""
	for k, e := range all {
		where := "on A"
		if k >= len(evs) {
			where = "on B"
			if k-len(evs) < len(back.before) {
				where = "replayed on B"
			}
		}
		_ = where
		who := e.arg(0)
		i, _ := strconv.Atoi(e.arg(1))
		if i != next[who] {
			t.Fatalf("from %s: got %d, want %d (offset %s, %s, #%d)", who, i, next[who], e.offset, where, k)
		}
		next[who] = i + 1
		if !less(prev, e.offset) {
			t.Fatalf("offset %s after %s (%s %s, %s, #%d of %d+%d)", e.offset, prev, who, e.arg(1), where, k, len(evs), len(back.before))
		}
		prev = e.offset
	}
	if next["A"] != counts[0] || next["B"] != counts[1] {
		t.Errorf("got up to %v, sent %v", next, counts)
	}
	t.Logf("%d events from A, %d from B; replayed %d before CONNECT", counts[0], counts[1], len(back.before))
	if len(back.before) == 0 {
		t.Log("nothing was missed (the drop was quick)")
	}
}
