package sio

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testMailboxes returns n clients, whose mailboxes pool p serves. They
// have no session, so their input bound is out of reach.
func testMailboxes(p *workerPool, n int) []*client {
	srv := &Server{workers: p, cfg: Config{MaxQueuedInputBytes: math.MaxInt}}
	out := make([]*client, n)
	for i := range out {
		out[i] = &client{srv: srv}
	}
	return out
}

// A callback that blocks must not hold up other connections' callbacks,
// whatever the number of threads: the fear with a shared run queue.
func TestMailboxBlockedCallbackDelaysOnlyItsOwn(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := newWorkerPool()
	mbs := testMailboxes(p, 50)
	release := make(chan struct{})
	defer close(release)
	var blockedRan atomic.Bool
	mbs[0].post(func() { <-release })
	mbs[0].post(func() { blockedRan.Store(true) })
	var wg sync.WaitGroup
	for _, m := range mbs[1:] {
		wg.Add(1)
		m.post(wg.Done)
	}
	waitGroupOrFail(t, &wg, 5*time.Second)
	if blockedRan.Load() {
		t.Fatal("a mailbox ran its second callback before the first returned")
	}
}

// Every mailbox keeps its own order, and each callback runs once, while
// many goroutines post to many mailboxes at once.
func TestMailboxOrderUnderConcurrency(t *testing.T) {
	p := newWorkerPool()
	const boxes, per = 64, 500
	mbs := testMailboxes(p, boxes)
	last := make([]int, boxes) // touched only by each mailbox's callbacks
	var bad atomic.Int64
	var wg sync.WaitGroup
	wg.Add(boxes * per)
	for b := 0; b < boxes; b++ {
		go func() {
			for i := 1; i <= per; i++ {
				mbs[b].post(func() {
					if last[b] != i-1 {
						bad.Add(1)
					}
					last[b] = i
					if i%50 == 0 {
						time.Sleep(time.Microsecond) // park the worker now and then
					}
					wg.Done()
				})
			}
		}()
	}
	waitGroupOrFail(t, &wg, 20*time.Second)
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d callbacks ran out of order", n)
	}
}

// Workers parked for the idle time exit; the pool then starts new ones.
func TestWorkerPoolRetiresIdleWorkers(t *testing.T) {
	p := newWorkerPool()
	p.idle = 20 * time.Millisecond
	mbs := testMailboxes(p, 8)
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(len(mbs))
	for _, m := range mbs {
		m.post(func() { started.Done(); <-release }) // 8 workers at once
	}
	started.Wait()
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		parked, reaping := len(p.parked), p.reaping
		p.mu.Unlock()
		if parked == 0 && !reaping {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still parked after the idle time", parked)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ran := make(chan struct{})
	mbs[0].post(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("no worker ran a callback after the pool emptied")
	}
}

func waitGroupOrFail(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatal("callbacks did not all run in time (a mailbox is stuck behind a blocked one?)")
	}
}
