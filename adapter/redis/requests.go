package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sioloop/sioloop/sio"
)

// requestTable is a namespace adapter's requests that wait for other
// nodes: the answers it expects, by request id, and its broadcasts with
// acks. Answers for ids it does not hold are ignored.
type requestTable struct {
	mu      sync.Mutex
	pending map[string]*pending    // guarded by mu
	acks    map[string]*ackRequest // guarded by mu
}

func newRequestTable() requestTable {
	return requestTable{pending: make(map[string]*pending), acks: make(map[string]*ackRequest)}
}

// addAck registers the broadcast with acks id until ctx ends: the sender
// stops waiting then, and later answers are dropped.
func (t *requestTable) addAck(ctx context.Context, id string, ack *ackRequest) {
	t.mu.Lock()
	t.acks[id] = ack
	t.mu.Unlock()
	context.AfterFunc(ctx, func() {
		t.mu.Lock()
		delete(t.acks, id)
		t.mu.Unlock()
	})
}

// lookup returns what waits for an answer to id: a broadcast with acks or
// a request (or neither).
func (t *requestTable) lookup(id string) (*ackRequest, *pending) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.acks[id], t.pending[id]
}

// has reports whether id is one of this node's own requests or
// broadcasts with acks (the classic adapter's receivers ignore their own
// requests by it).
func (t *requestTable) has(id string) bool {
	a, p := t.lookup(id)
	return a != nil || p != nil
}

// await registers p under id, publishes the request and waits for p's
// answers or the end of ctx.
func (t *requestTable) await(ctx context.Context, id string, p *pending, publish func() error) error {
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

// TimeoutError is returned, with the answers that came, when other nodes
// did not all answer a request (FetchSockets, AllRooms,
// ServerSideEmitWithAck) before its context ended. Its message is
// socket.io-redis-adapter's, so that logs and errors read the same on Go
// and Node nodes. errors.Is matches it with ErrTimeout, a server-side
// emit's also with sio.ErrAckTimeout, and with the context's error.
type TimeoutError struct {
	// Request is "fetchSockets", "allRooms" or "serverSideEmit".
	Request string
	// Got and Want count answers: for serverSideEmit those of the other
	// nodes; for the others every node's, this one's included, as
	// socket.io counts them.
	Got, Want int
	// Err is why the wait ended: the context's error.
	Err error
	// cluster: worded as socket.io-adapter's ClusterAdapter (sharded).
	cluster bool
}

func (e *TimeoutError) Error() string {
	if e.Request == "serverSideEmit" || e.cluster {
		return fmt.Sprintf("timeout reached: only %d responses received out of %d", e.Got, e.Want)
	}
	return "timeout reached while waiting for " + e.Request + " response"
}

func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || (target == sio.ErrAckTimeout && e.Request == "serverSideEmit")
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// requestError is what a request returns when it failed: a *TimeoutError
// when ctx ended, else err with what failed.
func requestError(what string, p *pending, err error) error {
	return requestErrorIn(what, p, err, false)
}

// requestErrorIn is requestError with the wording of the ClusterAdapter's
// requests when cluster is true (the sharded adapter).
func requestErrorIn(what string, p *pending, err error, cluster bool) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &TimeoutError{Request: what, Got: p.got, Want: p.want, Err: err, cluster: cluster}
	}
	return fmt.Errorf("redis adapter: %s: %w", what, err)
}
