package sio

import (
	"sync"
	"time"
)

// mailbox runs a connection's callbacks one at a time, in order, off the
// event loops. A goroutine serves it only while work is queued, so an idle
// connection costs no goroutine.
type mailbox struct {
	workers *workerPool

	mu      sync.Mutex
	q       []func() // guarded by mu
	spare   []func() // guarded by mu
	running bool     // guarded by mu
}

// post queues f. Safe from any goroutine.
func (m *mailbox) post(f func()) {
	m.mu.Lock()
	m.q = append(m.q, f)
	start := !m.running
	m.running = true
	m.mu.Unlock()
	if start {
		m.workers.start(m)
	}
}

// run drains the mailbox, then returns.
func (m *mailbox) run() {
	for {
		m.mu.Lock()
		batch := m.q
		if len(batch) == 0 {
			m.running = false
			m.mu.Unlock()
			return
		}
		m.q = m.spare
		m.mu.Unlock()
		for i, f := range batch {
			f()
			batch[i] = nil
		}
		m.mu.Lock()
		m.spare = batch[:0]
		m.mu.Unlock()
	}
}

// workerIdle is how long a worker goroutine waits for another mailbox
// before it exits.
const workerIdle = 2 * time.Second

// workerPool keeps the goroutines that drained a mailbox for a while, so
// the next burst of events reuses a goroutine whose stack has already
// grown, instead of paying for a new one (measured: stack growth of fresh
// goroutines was ~8% of server CPU in the echo benchmark). The number of
// workers follows the number of connections with work at the same time.
type workerPool struct {
	idle chan *mailbox // unbuffered: a send succeeds only if a worker waits
}

func newWorkerPool() *workerPool { return &workerPool{idle: make(chan *mailbox)} }

// start has m drained by a parked worker, or by a new one.
func (p *workerPool) start(m *mailbox) {
	select {
	case p.idle <- m:
	default:
		go p.work(m)
	}
}

func (p *workerPool) work(m *mailbox) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		m.run()
		t.Reset(workerIdle)
		select {
		case m = <-p.idle:
		case <-t.C:
			return
		}
	}
}
