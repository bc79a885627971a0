package loop

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// maxRounds bounds how many batches one task drains before yielding the
// loop to network I/O; the rest is picked up by a fresh task.
const maxRounds = 8

// Op is work queued on a Loop with Defer. Ops run on the loop goroutine one
// at a time, in the order they were queued. It is an alias of the plain
// interface, so that a package that queues work through an interface of
// its own (sio's executor) need not name this package.
type Op = interface{ Run() }

// Merger is an Op that can absorb the op queued right after it, so that
// one Run does the work of both (a broadcast walking its recipients once
// for several messages). Merge reports whether next was absorbed; an
// absorbed op is not run on its own.
type Merger interface {
	Op
	Merge(next Op) bool
}

// funcOp adapts a func to Op; a func value is pointer-shaped, so the
// conversion does not allocate.
type funcOp func()

func (f funcOp) Run() { f() }

// Loop is the per-event-loop work queue. Ops and dirty connections posted
// from any goroutine are drained by a single gnet task, so bursts coalesce:
// ops queued while the loop writes are run (and merged) together, then
// every connection they dirtied is written once.
type Loop struct {
	el          gnet.EventLoop
	index       int
	maxBacklog  int64 // Config.MaxBacklog; immutable
	maxOutbound int64 // Config.MaxLoopOutboundBytes; immutable

	// pending counts ops queued and not yet finished. A writer that must
	// stay ordered behind queued ops (see Pending) reads it without a lock.
	pending atomic.Int64
	// queued and done number the ops in queue order: queued is the number
	// of the last op queued (written under mu), done how many of the first
	// ones have finished running or were dropped (Mark, Passed).
	queued, done atomic.Uint64
	// backlog is the work units of the ops queued and not yet run
	// (backlog.go).
	backlog atomic.Int64
	// stopped is set once the loop refused work (its engine stopped).
	stopped atomic.Bool

	// Outbound pressure (pressure.go). nConns counts the server
	// connections open on the loop; outBytes is what their gnet buffers
	// held at the last read, nStalled how many held any. Written on the
	// loop, read anywhere.
	nConns, outBytes, nStalled atomic.Int64

	mu        sync.Mutex
	ops       []Op          // guarded by mu
	dirty     []*conn       // guarded by mu
	scheduled bool          // a drain task is queued or running; guarded by mu
	drained   chan struct{} // closed when the backlog falls low; guarded by mu

	spareOps   []Op    // loop-only
	spareDirty []*conn // loop-only
	midDirty   []*conn // loop-only; flushDirty's spare

	stalled      []*conn // loop-only: connections with bytes in gnet's buffer
	refreshArmed bool    // loop-only: a refreshOutbound is scheduled

	// The loop's epoll fd plus one (0: not known yet), found by the first
	// pause of a connection (readpause_linux.go). Loop-only.
	epfd          int
	epollSearched bool // loop-only
}

// Index is the loop's position among the server's loops.
func (l *Loop) Index() int { return l.index }

// Post runs f on the loop goroutine, in order with Defer. Safe from any
// goroutine.
func (l *Loop) Post(f func()) { l.Defer(funcOp(f)) }

// PostMark is Post, returning f's mark (see DeferMark).
func (l *Loop) PostMark(f func()) uint64 { return l.DeferMark(funcOp(f)) }

// Defer queues op to run on the loop goroutine after every op queued
// before it. Safe from any goroutine, including ops themselves.
func (l *Loop) Defer(op Op) { l.DeferMark(op) }

// DeferMark is Defer, returning the op's mark: Passed(mark) reports true
// once it has run.
func (l *Loop) DeferMark(op Op) uint64 {
	l.pending.Add(1)
	l.backlog.Add(opCost(op))
	l.mu.Lock()
	l.ops = append(l.ops, op)
	mark := l.queued.Add(1)
	wake := !l.scheduled
	l.scheduled = true
	l.mu.Unlock()
	if wake {
		l.wake()
	}
	return mark
}

// Mark returns the mark of the last op queued so far: once Passed(mark),
// every op queued before the call has run (or was dropped by a stopped
// loop). A writer that moves a connection's writes from this loop to
// another uses it to keep them behind what is queued here.
func (l *Loop) Mark() uint64 { return l.queued.Load() }

// Passed reports whether every op up to mark has run.
func (l *Loop) Passed(mark uint64) bool { return l.done.Load() >= mark }

// Flush waits until every op queued and every write made on the loop's
// connections before the call has been run and handed to its connection,
// or until ctx ends (its error is returned then). A drain round runs its
// ops, then writes the connections dirtied so far: an op queued by an op
// runs in the next round, after that write.
//
// A loop that has stopped runs nothing more: Flush returns at once then.
func (l *Loop) Flush(ctx context.Context) error {
	done := make(chan struct{})
	l.Post(func() { l.Post(func() { close(done) }) })
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if l.stopped.Load() {
				return nil
			}
		}
	}
}

// Pending reports whether ops are queued or running. A goroutine that
// queued an op and then writes to a connection directly would overtake it;
// it checks Pending first and queues the write as an op instead.
func (l *Loop) Pending() bool { return l.pending.Load() > 0 }

func (l *Loop) markDirty(c *conn) {
	l.mu.Lock()
	l.dirty = append(l.dirty, c)
	wake := !l.scheduled
	l.scheduled = true
	l.mu.Unlock()
	if wake {
		l.wake()
	}
}

func (l *Loop) wake() {
	if err := l.el.Execute(context.Background(), l); err != nil {
		// The loop is shutting down; nothing will run again. Drop the
		// work, and stop ordering writes behind it.
		l.stopped.Store(true)
		l.mu.Lock()
		l.pending.Add(-int64(len(l.ops)))
		l.done.Add(uint64(len(l.ops)))
		for _, op := range l.ops {
			l.backlog.Add(-opCost(op))
		}
		l.ops, l.dirty, l.scheduled = nil, nil, false
		if l.drained != nil {
			close(l.drained)
			l.drained = nil
		}
		l.mu.Unlock()
	}
}

// Run drains the queue; it implements gnet.Runnable and runs on the loop.
// Each round runs the ops queued so far, then writes every connection they
// dirtied; within a round, runOps also writes them each roundBudget visits.
func (l *Loop) Run(context.Context) error {
	for round := 0; round < maxRounds; round++ {
		l.mu.Lock()
		ops, dirty := l.ops, l.dirty
		if len(ops) == 0 && len(dirty) == 0 {
			l.scheduled = false
			l.notifyDrainedLocked()
			l.mu.Unlock()
			return nil
		}
		l.ops, l.dirty = l.spareOps, l.spareDirty
		l.mu.Unlock()
		cost := l.runOps(ops)
		l.done.Add(uint64(len(ops)))
		l.pending.Add(-int64(len(ops)))
		l.backlog.Add(-cost)
		clear(ops)
		for i, c := range dirty {
			c.flush()
			dirty[i] = nil
		}
		l.spareOps, l.spareDirty = ops[:0], dirty[:0]
		l.mu.Lock()
		l.notifyDrainedLocked()
		l.mu.Unlock()
	}
	// Still busy: let the loop poll the network, then continue.
	l.wake()
	return nil
}

// runOps runs ops in order, letting each Merger absorb the ops after it,
// and returns their cost for the backlog. Merged broadcasts visit their
// recipients once for all their messages, so the visits a round makes are
// counted after merging: each time they reach roundBudget, the
// connections dirtied so far are written (flushDirty) before the next op,
// and deliveries keep leaving while a long backlog is worked off.
func (l *Loop) runOps(ops []Op) int64 {
	var cost, visits int64
	for i := 0; i < len(ops); i++ {
		op := ops[i]
		// A merged op visits its recipients once: its own cost is the
		// visits, the absorbed ops' costs only leave the backlog.
		c := opCost(op)
		cost += c
		if m, ok := op.(Merger); ok {
			for i+1 < len(ops) && m.Merge(ops[i+1]) {
				i++
				cost += opCost(ops[i])
			}
		}
		op.Run()
		if visits += c; visits >= roundBudget && i+1 < len(ops) {
			l.flushDirty()
			visits = 0
		}
	}
	return cost
}

// flushDirty writes the connections dirtied by the ops run so far in this
// round. Loop-only.
func (l *Loop) flushDirty() {
	l.mu.Lock()
	dirty := l.dirty
	l.dirty = l.midDirty
	l.mu.Unlock()
	for i, c := range dirty {
		c.flush()
		dirty[i] = nil
	}
	l.midDirty = dirty[:0]
}
