package clusterwire

import (
	"context"
	"sync"

	"github.com/sioloop/sioloop/sio"
)

// Ack is a broadcast with acks this node sent: the other nodes report
// their client count, then each client's answer.
type Ack struct {
	OnCount func(int)
	OnAck   func(sio.Message, error)
}

// Table is a namespace adapter's requests that wait for other nodes: the
// answers it expects, by request id, and its broadcasts with acks.
// Answers for ids it does not hold are ignored. Its mutex is a leaf:
// callers run the callbacks of what Lookup returns after it is released.
type Table struct {
	mu      sync.Mutex
	pending map[string]*Pending // guarded by mu
	acks    map[string]*Ack     // guarded by mu
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{pending: make(map[string]*Pending), acks: make(map[string]*Ack)}
}

// AddAck registers the broadcast with acks id until ctx ends: the sender
// stops waiting then, and later answers are dropped.
func (t *Table) AddAck(ctx context.Context, id string, ack *Ack) {
	t.mu.Lock()
	t.acks[id] = ack
	t.mu.Unlock()
	context.AfterFunc(ctx, func() {
		t.mu.Lock()
		delete(t.acks, id)
		t.mu.Unlock()
	})
}

// Lookup returns what waits for an answer to id: a broadcast with acks or
// a request (or neither), both read at once.
func (t *Table) Lookup(id string) (*Ack, *Pending) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.acks[id], t.pending[id]
}

// Has reports whether id is one of this node's own requests or
// broadcasts with acks (the classic adapter's receivers ignore their own
// requests by it).
func (t *Table) Has(id string) bool {
	a, p := t.Lookup(id)
	return a != nil || p != nil
}

// Await registers p under id, publishes the request and waits for p's
// answers or the end of ctx; p is forgotten when it returns, so that late
// answers are dropped.
func (t *Table) Await(ctx context.Context, id string, p *Pending, publish func() error) error {
	t.mu.Lock()
	t.pending[id] = p
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.pending, id)
		t.mu.Unlock()
	}()
	if err := publish(); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
