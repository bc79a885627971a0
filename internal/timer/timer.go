package timer

import (
	"sync"
	"time"
)

// Timer is one scheduled callback. The zero value is unscheduled. A Timer is
// owned by the code that schedules it; its methods are safe from any goroutine.
type Timer struct {
	w     *Wheel
	when  int64 // on w's clock (monotonic nanoseconds); guarded by w.mu
	index int   // position in w.heap, -1 when not scheduled; guarded by w.mu
	f     func()
}

// Wheel runs Timers. Its methods are safe from any goroutine.
type Wheel struct {
	mu    sync.Mutex
	heap  []*Timer // guarded by mu
	rt    *time.Timer
	armed int64 // deadline rt is armed for, 0 when idle; guarded by mu
	now   func() int64
}

// epoch anchors monotonicNow. time.Since on a Time that carries a monotonic
// reading measures with the monotonic clock, which a change of the wall
// clock (an NTP step, an operator's date -s) does not move: deadlines kept
// as wall-clock instants would all fire at once when the clock jumps
// forward (every session's pong deadline: a mass "ping timeout") and stop
// firing when it jumps back (no heartbeats for the length of the jump).
var epoch = time.Now()

// monotonicNow is nanoseconds since epoch on the monotonic clock.
func monotonicNow() int64 { return int64(time.Since(epoch)) }

// NewWheel returns an empty wheel on the monotonic clock.
func NewWheel() *Wheel { return newWheel(monotonicNow) }

// newWheel returns an empty wheel reading time from now (tests pass a fake
// clock; the runtime timer still waits real time).
func newWheel(now func() int64) *Wheel {
	w := &Wheel{now: now}
	w.rt = time.AfterFunc(time.Hour, w.fire)
	w.rt.Stop()
	return w
}

// NewTimer returns a timer that runs f on w when it fires. It is not scheduled.
func (w *Wheel) NewTimer(f func()) *Timer {
	return &Timer{w: w, index: -1, f: f}
}

// Reset (re)schedules t to fire after d. It returns whether t was pending.
func (t *Timer) Reset(d time.Duration) bool {
	w := t.w
	when := w.now() + int64(d)
	w.mu.Lock()
	pending := t.index >= 0
	t.when = when
	if pending {
		w.fix(t.index)
	} else {
		w.push(t)
	}
	w.rearm()
	w.mu.Unlock()
	return pending
}

// Stop unschedules t. It returns whether t was pending; false means it has
// already fired (or is firing now) or was never scheduled.
func (t *Timer) Stop() bool {
	w := t.w
	w.mu.Lock()
	pending := t.index >= 0
	if pending {
		w.remove(t.index)
	}
	w.mu.Unlock()
	return pending
}

// Len reports the number of pending timers.
func (w *Wheel) Len() int {
	w.mu.Lock()
	n := len(w.heap)
	w.mu.Unlock()
	return n
}

// rearm points the runtime timer at the earliest deadline. Caller holds mu.
func (w *Wheel) rearm() {
	if len(w.heap) == 0 {
		if w.armed != 0 {
			w.rt.Stop()
			w.armed = 0
		}
		return
	}
	next := w.heap[0].when
	if w.armed == next {
		return
	}
	w.armed = next
	w.rt.Reset(time.Duration(next - w.now()))
}

func (w *Wheel) fire() {
	var due []*Timer
	for {
		now := w.now()
		w.mu.Lock()
		due = due[:0]
		for len(w.heap) > 0 && w.heap[0].when <= now {
			t := w.heap[0]
			w.remove(0)
			due = append(due, t)
		}
		w.armed = 0
		w.rearm()
		w.mu.Unlock()
		if len(due) == 0 {
			return
		}
		for _, t := range due {
			t.f()
		}
		// Callbacks may take time; loop to pick up deadlines that passed
		// meanwhile instead of waiting for the runtime timer again.
	}
}

func (w *Wheel) push(t *Timer) {
	t.index = len(w.heap)
	w.heap = append(w.heap, t)
	w.up(t.index)
}

func (w *Wheel) remove(i int) {
	last := len(w.heap) - 1
	t := w.heap[i]
	if i != last {
		w.swap(i, last)
	}
	w.heap[last] = nil
	w.heap = w.heap[:last]
	t.index = -1
	if i != last {
		w.fix(i)
	}
}

func (w *Wheel) fix(i int) {
	if !w.down(i) {
		w.up(i)
	}
}

func (w *Wheel) swap(i, j int) {
	h := w.heap
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (w *Wheel) up(i int) {
	h := w.heap
	for i > 0 {
		p := (i - 1) / 2
		if h[p].when <= h[i].when {
			break
		}
		w.swap(i, p)
		i = p
	}
}

func (w *Wheel) down(i0 int) bool {
	h := w.heap
	n := len(h)
	i := i0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h[r].when < h[l].when {
			j = r
		}
		if h[i].when <= h[j].when {
			break
		}
		w.swap(i, j)
		i = j
	}
	return i > i0
}
