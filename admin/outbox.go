package admin

import "sync"

// maxQueued bounds the notifications waiting for the sender; past it new
// ones are dropped (the UI then misses some events, as it would lose them
// on a reconnection), so that a flood of events cannot grow memory without
// bound.
const maxQueued = 1 << 16

// notice is one event for the admin namespace.
type notice struct {
	name string
	args []any
}

// outbox queues notifications from the server's hooks, which run on
// handler goroutines, the engine's goroutines and event loops and must not
// block, for one goroutine that broadcasts them to the admin namespace in
// order.
type outbox struct {
	mu      sync.Mutex
	queue   []notice // guarded by mu
	closed  bool     // guarded by mu
	dropped uint64   // guarded by mu
	wake    chan struct{}
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// push queues a notification; it never blocks.
func (o *outbox) push(name string, args ...any) {
	o.mu.Lock()
	if o.closed || len(o.queue) >= maxQueued {
		o.dropped++
		o.mu.Unlock()
		return
	}
	o.queue = append(o.queue, notice{name, args})
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// take waits for notifications and returns them, or nil once closed.
func (o *outbox) take() []notice {
	for {
		o.mu.Lock()
		q := o.queue
		closed := o.closed
		o.queue = nil
		o.mu.Unlock()
		if len(q) > 0 {
			return q
		}
		if closed {
			return nil
		}
		<-o.wake
	}
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// sendLoop broadcasts the queued notifications to the admin namespace.
func (in *Instrumentation) sendLoop() {
	defer in.done.Done()
	for {
		q := in.out.take()
		if q == nil {
			return
		}
		for _, n := range q {
			_ = in.nsp.Emit(n.name, n.args...)
		}
	}
}
