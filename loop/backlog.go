package loop

import "time"

// A loop's backlog is the work queued on it and not yet run, counted in
// the units its ops report through Coster: for a broadcast, one per
// recipient visit. It bounds two things.
//
// The latency of a round: Run writes the connections dirtied so far each
// time its ops have made roundBudget recipient visits (counted after
// merging, so that a burst of broadcasts to one room still costs one visit
// per member), and under a backlog messages keep leaving at the loop's full
// rate instead of piling up in outboxes while the whole queue is walked
// (measured before: 4 s steps with no delivery at twice the sustainable
// broadcast rate to 10,000 subscribers).
//
// The memory and the queueing delay of the backlog itself: above
// its bound (Config.MaxBacklog) a loop is Overloaded, and producers that can wait (package
// sio's broadcasts from handlers and user goroutines) call WaitBacklog,
// which returns once the loop has worked the backlog down to half the bound.
// A publisher is thus slowed to the rate its recipients' loops sustain, and
// a volatile broadcast is dropped instead of queued.

// DefaultMaxBacklog is a loop's default backlog bound (Config.MaxBacklog):
// about 0.25 s of fan-out work at the 4 million deliveries per second one
// loop sustains (BENCHMARKS.md).
const DefaultMaxBacklog = 1 << 20

// roundBudget is the recipient visits Run makes before it writes the
// connections dirtied so far: 64 Ki, about 15 ms of a loop's time.
const roundBudget = 1 << 16

// Coster is an Op whose work is larger than one unit; Cost is read once,
// when the op is queued.
type Coster interface {
	Op
	Cost() int
}

func opCost(op Op) int64 {
	if c, ok := op.(Coster); ok {
		return int64(max(1, c.Cost()))
	}
	return 1
}

// Backlog reports the work units queued on the loop and not yet run.
func (l *Loop) Backlog() int64 { return l.backlog.Load() }

// maxBacklogUnits is the loop's bound: Config.MaxBacklog for a server's
// loops, DefaultMaxBacklog for a dialer's.
func (l *Loop) maxBacklogUnits() int64 {
	if l.maxBacklog > 0 {
		return l.maxBacklog
	}
	return DefaultMaxBacklog
}

// Overloaded reports whether the backlog is above the loop's bound
// (Config.MaxBacklog), or its connections' queued output is
// (Config.MaxLoopOutboundBytes, pressure.go).
func (l *Loop) Overloaded() bool {
	return l.backlog.Load() > l.maxBacklogUnits() || l.underPressure(l.maxOutboundBytes())
}

// caughtUp reports whether the backlog and the outbound pressure are both
// at most half of their bounds: the point where WaitBacklog returns.
func (l *Loop) caughtUp() bool {
	return l.backlog.Load() <= l.maxBacklogUnits()/2 && !l.underPressure(l.maxOutboundBytes()/2)
}

// WaitBacklog blocks until the backlog and the queued output are at most
// half of the loop's bounds, or until timeout passes, and reports whether
// they fell.
// It must not be called on the loop's own goroutine (from an Op, or from a
// callback the loop runs): the backlog could not fall while it waits, and
// only the timeout would end the wait.
func (l *Loop) WaitBacklog(timeout time.Duration) bool {
	if l.caughtUp() {
		return true
	}
	l.mu.Lock()
	if l.caughtUp() {
		l.mu.Unlock()
		return true
	}
	if l.drained == nil {
		l.drained = make(chan struct{})
	}
	ch := l.drained
	l.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// notifyDrained wakes WaitBacklog's callers once the backlog is low.
// Called with mu held.
func (l *Loop) notifyDrainedLocked() {
	if l.drained != nil && l.caughtUp() {
		close(l.drained)
		l.drained = nil
	}
}
