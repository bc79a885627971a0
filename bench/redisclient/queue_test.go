package redisclient

import (
	"context"
	"sync"
)

// queue is the fire-and-forget publish path, the same for both clients: a
// bounded queue (in bytes) that one sender goroutine drains in batches of
// everything queued, each batch sent as one pipeline (client.PublishBatch).
//
// Unlike redisbus.Bus, which drops a message when its bound is hit, Push
// waits for room here: the benchmark measures how fast the client empties
// the queue, not how fast messages can be dropped.
type queue struct {
	c     client
	shard bool

	mu      sync.Mutex // guards the fields below
	room    sync.Cond  // signalled when the sender took a batch
	work    sync.Cond  // signalled when a message was queued or the queue closed
	idle    sync.Cond  // signalled when the sender finished a batch
	q       []pub
	bytes   int
	max     int
	sending bool
	closed  bool
	errs    int

	done chan struct{}
}

func newQueue(c client, shard bool, maxBytes int) *queue {
	q := &queue{c: c, shard: shard, max: maxBytes, done: make(chan struct{})}
	q.room.L, q.work.L, q.idle.L = &q.mu, &q.mu, &q.mu
	go q.send()
	return q
}

// Push queues a copy of payload (the copy is the string the client sends).
func (q *queue) Push(channel string, payload []byte) {
	q.mu.Lock()
	for q.bytes+len(payload) > q.max && len(q.q) > 0 {
		q.room.Wait()
	}
	q.q = append(q.q, pub{channel, string(payload)})
	q.bytes += len(payload)
	if len(q.q) == 1 {
		q.work.Signal()
	}
	q.mu.Unlock()
}

// Drain waits until every queued message was sent.
func (q *queue) Drain() {
	q.mu.Lock()
	for len(q.q) > 0 || q.sending {
		q.idle.Wait()
	}
	q.mu.Unlock()
}

// Close drains the queue and stops the sender; it returns the number of
// batches that failed.
func (q *queue) Close() int {
	q.Drain()
	q.mu.Lock()
	q.closed = true
	q.work.Signal()
	q.mu.Unlock()
	<-q.done
	return q.errs
}

func (q *queue) send() {
	defer close(q.done)
	var batch []pub
	ctx := context.Background()
	for {
		q.mu.Lock()
		for len(q.q) == 0 && !q.closed {
			q.work.Wait()
		}
		if len(q.q) == 0 {
			q.mu.Unlock()
			return
		}
		batch, q.q = q.q, batch[:0]
		q.bytes = 0
		q.sending = true
		q.room.Broadcast()
		q.mu.Unlock()

		err := q.c.PublishBatch(ctx, q.shard, batch)

		q.mu.Lock()
		if err != nil {
			q.errs++
		}
		q.sending = false
		q.idle.Broadcast()
		q.mu.Unlock()
		clear(batch) // drop the payload strings
	}
}
