package client

import "sync"

// mailbox runs a socket's callbacks one at a time, in order, off the event
// loops and the transport goroutines. A goroutine exists only while work
// is queued, so an idle socket costs none.
type mailbox struct {
	mu      sync.Mutex
	q       []func() // guarded by mu
	spare   []func() // guarded by mu
	running bool     // a drain goroutine runs; guarded by mu
}

// post queues f. Safe from any goroutine; never blocks.
func (m *mailbox) post(f func()) {
	m.mu.Lock()
	m.q = append(m.q, f)
	start := !m.running
	m.running = true
	m.mu.Unlock()
	if start {
		go m.drain()
	}
}

func (m *mailbox) drain() {
	for {
		m.mu.Lock()
		batch := m.q
		if len(batch) == 0 {
			m.running = false
			m.mu.Unlock()
			return
		}
		m.q, m.spare = m.spare, nil
		m.mu.Unlock()
		for i, f := range batch {
			f()
			batch[i] = nil
		}
		m.mu.Lock()
		if m.spare == nil {
			m.spare = batch[:0]
		}
		m.mu.Unlock()
	}
}
