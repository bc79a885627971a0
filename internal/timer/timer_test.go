package timer

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/testutil"
)

func TestFiresInOrderAndOnTime(t *testing.T) {
	w := NewWheel()
	var mu sync.Mutex
	var got []int
	done := make(chan struct{})
	start := time.Now()
	var fired [3]time.Duration
	for i, d := range []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		i := i
		w.NewTimer(func() {
			mu.Lock()
			got = append(got, i)
			fired[i] = time.Since(start)
			n := len(got)
			mu.Unlock()
			if n == 3 {
				close(done)
			}
		}).Reset(d)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("timers did not fire")
	}
	if got[0] != 1 || got[1] != 2 || got[2] != 0 {
		t.Fatalf("order = %v, want [1 2 0]", got)
	}
	if fired[1] < 10*time.Millisecond {
		t.Fatalf("fired early: %v", fired[1])
	}
}

func TestStopAndReset(t *testing.T) {
	w := NewWheel()
	var n atomic.Int32
	a := w.NewTimer(func() { n.Add(1) })
	a.Reset(5 * time.Millisecond)
	if !a.Stop() {
		t.Fatal("Stop of pending timer returned false")
	}
	if a.Stop() {
		t.Fatal("second Stop returned true")
	}
	b := w.NewTimer(func() { n.Add(10) })
	b.Reset(time.Hour)
	b.Reset(5 * time.Millisecond) // moved earlier
	// a, had Stop left it scheduled, is due before b and so would have
	// run by the time b has.
	testutil.Eventually(t, 10*time.Second, "b to fire", func() bool { return n.Load() >= 10 })
	if got := n.Load(); got != 10 {
		t.Fatalf("n = %d, want 10", got)
	}
	if w.Len() != 0 {
		t.Fatalf("Len = %d", w.Len())
	}
}

func TestManyConcurrent(t *testing.T) {
	w := NewWheel()
	const N = 2000
	var n atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < N/8; i++ {
				tm := w.NewTimer(func() { n.Add(1) })
				tm.Reset(time.Duration(i%20) * time.Millisecond)
				if i%4 == 0 {
					tm.Stop()
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for w.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Stopped timers may have fired before Stop; at least the unstopped
	// ones run (their callbacks after they leave the heap).
	unstopped := 0
	for i := 0; i < N/8; i++ {
		if i%4 != 0 {
			unstopped += 8
		}
	}
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("%d callbacks", unstopped), func() bool { return int(n.Load()) >= unstopped })
	if w.Len() != 0 {
		t.Fatalf("Len = %d", w.Len())
	}
}

func BenchmarkResetStop(b *testing.B) {
	w := NewWheel()
	tm := w.NewTimer(func() {})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tm.Reset(time.Hour)
		tm.Stop()
	}
}

// TestDeadlinesIgnoreWallClock pins the clock deadlines are kept on: the
// monotonic one, which a step of the wall clock (NTP, date -s) does not
// move. Deadlines kept as wall-clock instants, as they once were, would all
// fire at once after a forward step (every session's pong deadline: a mass
// "ping timeout") and none would fire for the length of a backward step.
func TestDeadlinesIgnoreWallClock(t *testing.T) {
	w := NewWheel()
	tm := w.NewTimer(func() {})
	tm.Reset(time.Hour)
	defer tm.Stop()
	w.mu.Lock()
	when := tm.when
	w.mu.Unlock()
	if d := time.Now().Add(time.Hour).UnixNano() - when; d > -int64(time.Minute) && d < int64(time.Minute) {
		t.Fatalf("the deadline is a wall-clock instant (%d)", when)
	}
	if d := time.Duration(when - monotonicNow()); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("the deadline is %v away on the monotonic clock, want 1h", d)
	}
}
