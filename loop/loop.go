package loop

import (
	"context"
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// maxRounds bounds how many batches one task drains before yielding the
// loop to network I/O; the rest is picked up by a fresh task.
const maxRounds = 8

// Loop is the per-event-loop work queue. Tasks and dirty connections posted
// from any goroutine are drained by a single gnet task, so bursts coalesce.
type Loop struct {
	el    gnet.EventLoop
	index int

	mu        sync.Mutex
	tasks     []func() // guarded by mu
	dirty     []*conn  // guarded by mu
	scheduled bool     // a drain task is queued or running; guarded by mu

	spareTasks []func() // loop-only
	spareDirty []*conn  // loop-only
}

// Index is the loop's position among the server's loops.
func (l *Loop) Index() int { return l.index }

// Post runs f on the loop goroutine. Safe from any goroutine.
func (l *Loop) Post(f func()) {
	l.mu.Lock()
	l.tasks = append(l.tasks, f)
	wake := !l.scheduled
	l.scheduled = true
	l.mu.Unlock()
	if wake {
		l.wake()
	}
}

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
		// The loop is shutting down; nothing will run again. Drop the work.
		l.mu.Lock()
		l.tasks, l.dirty, l.scheduled = nil, nil, false
		l.mu.Unlock()
	}
}

// Run drains the queue; it implements gnet.Runnable and runs on the loop.
func (l *Loop) Run(context.Context) error {
	for round := 0; round < maxRounds; round++ {
		l.mu.Lock()
		tasks, dirty := l.tasks, l.dirty
		if len(tasks) == 0 && len(dirty) == 0 {
			l.scheduled = false
			l.mu.Unlock()
			return nil
		}
		l.tasks, l.dirty = l.spareTasks, l.spareDirty
		l.mu.Unlock()
		for i, f := range tasks {
			f()
			tasks[i] = nil
		}
		for i, c := range dirty {
			c.flush()
			dirty[i] = nil
		}
		l.spareTasks, l.spareDirty = tasks[:0], dirty[:0]
	}
	// Still busy: let the loop poll the network, then continue.
	l.wake()
	return nil
}
