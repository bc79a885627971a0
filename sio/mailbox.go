package sio

import "sync"

// mailbox runs a connection's callbacks one at a time, in order, off the
// event loops. A goroutine exists only while work is queued, so an idle
// connection costs no goroutine.
type mailbox struct {
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
		go m.run()
	}
}

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
