package sio

import (
	"math"
	"sync"
	"time"

	"github.com/sioloop/sioloop/internal/packet"
)

// job is one unit of a connection's callback work: a received packet to
// handle, or a func. A packet travels by value, so receiving one costs no
// closure.
type job struct {
	f    func() // run f; when nil, handle p
	p    packet.Packet
	atts [][]byte
}

// jobBatch is a mailbox queue's storage. Batches are pooled rather than
// kept per mailbox, so an idle connection holds no queue at all.
type jobBatch struct{ jobs []job }

var batchPool = sync.Pool{New: func() any { return new(jobBatch) }}

// jobOverhead is what a job costs beyond its bytes: the job itself in its
// batch (96 bytes on 64-bit) rounded up for the decoded packet around it.
const jobOverhead = 128

// minJobCost is the least a job counts against Config.MaxQueuedInputBytes,
// so that the bound also caps how many events wait: 256 with the 1 MiB
// default. A small event can be a lot of work (one broadcast to 10,000
// subscribers costs the loop ~2 ms), and every event waiting in a mailbox
// is delay that the connection's later events pay: measured at twice the
// sustainable broadcast rate to 10,000 subscribers, a publisher's mailbox
// bounded by bytes alone held ~7,700 broadcasts, 20 s of work.
const minJobCost = 4 << 10

// cost is what a job counts against Config.MaxQueuedInputBytes.
func (j *job) cost() int {
	n := jobOverhead + len(j.p.Data)
	for _, a := range j.atts {
		n += len(a)
	}
	return max(n, minJobCost)
}

// mailbox runs a connection's callbacks one at a time, in order, off the
// event loops. It is part of its client (the client methods below drive
// it) and is drained by a worker of the server's pool only while work is
// queued, so an idle connection costs no goroutine.
//
// A mailbox is bounded without dropping anything: once the jobs queued or
// running cost more than Config.MaxQueuedInputBytes, the client's input is
// paused (eio.Session.PauseInput: the transport stops reading, so the
// client waits on TCP flow control), and it is resumed once they fall to
// half of it. Only the connection whose callbacks are slow waits.
type mailbox struct {
	mu     sync.Mutex
	q      *jobBatch // nil when empty; guarded by mu
	queued int       // cost of the jobs queued or running; guarded by mu
}

// mailboxState holds a mailbox's flags, guarded by its mu. It lives in
// the client's padding, beside closed, rather than in mailbox, so that a
// client stays within its size class (size_test.go).
type mailboxState uint8

const (
	// mbRunning: queued in the pool or being drained.
	mbRunning mailboxState = 1 << iota
	// mbWantPause: queued passed the bound and has not yet fallen to the
	// low-water mark, so input should be paused.
	mbWantPause
	// mbPaused: the session's input was last set paused.
	mbPaused
	// mbApplying: a goroutine is bringing the session's input state to
	// mbWantPause (applyInputFlow).
	mbApplying
)

func (s mailboxState) has(f mailboxState) bool { return s&f != 0 }

func (s *mailboxState) set(f mailboxState, on bool) {
	if on {
		*s |= f
	} else {
		*s &^= f
	}
}

// postPacket queues a received packet for handle. Safe from any goroutine.
func (c *client) postPacket(p packet.Packet, atts [][]byte) {
	if st := c.srv.stats.Load(); st != nil {
		st.eventsIn.add(c.group.Load(), 1)
	}
	if c.resolveAck(&p, atts) { // acks skip the queue (ack.go)
		return
	}
	if p.Type == packet.Disconnect {
		// The socket's Context ends now, not once its handlers are done.
		c.mu.Lock()
		s := c.socketLocked(p.Namespace)
		c.mu.Unlock()
		if s != nil {
			s.cancelContext()
		}
	}
	c.push(job{p: p, atts: atts})
}

// post queues f in the mailbox. Safe from any goroutine.
func (c *client) post(f func()) { c.push(job{f: f}) }

func (c *client) push(j job) {
	cost := j.cost()
	m := &c.mb
	m.mu.Lock()
	if m.q == nil {
		m.q = batchPool.Get().(*jobBatch)
	}
	m.q.jobs = append(m.q.jobs, j)
	m.queued += cost
	flip := !c.mbState.has(mbWantPause) && m.queued > c.srv.cfg.MaxQueuedInputBytes
	if flip {
		c.mbState.set(mbWantPause, true)
	}
	start := !c.mbState.has(mbRunning)
	c.mbState.set(mbRunning, true)
	m.mu.Unlock()
	if flip {
		c.applyInputFlow()
	}
	if start {
		c.srv.workers.start(c)
	}
}

// drain runs the mailbox until it is empty, then returns.
func (c *client) drain() {
	m := &c.mb
	done := 0 // cost of the jobs run and not yet taken off queued
	// resumeAt is how much done must reach before the low-water mark can
	// be (queued only grows meanwhile): while input is paused the lock is
	// taken once per resume, not once per job. A pause decided while a
	// batch runs is seen at the next batch.
	resumeAt := math.MaxInt
	for {
		m.mu.Lock()
		flip := c.finishedLocked(&done, &resumeAt)
		b := m.q
		if b == nil {
			c.mbState.set(mbRunning, false)
		}
		m.q = nil
		m.mu.Unlock()
		if flip {
			c.applyInputFlow()
		}
		if b == nil {
			return
		}
		for i := range b.jobs {
			j := &b.jobs[i]
			if j.f != nil {
				j.f()
			} else {
				c.handle(j.p, j.atts)
			}
			done += j.cost()
			*j = job{}
			if done >= resumeAt {
				// Resume as soon as the low-water mark is reached, not
				// at the end of the batch, so the client sends again
				// while the rest is handled.
				m.mu.Lock()
				flip := c.finishedLocked(&done, &resumeAt)
				m.mu.Unlock()
				if flip {
					c.applyInputFlow()
				}
			}
		}
		b.jobs = b.jobs[:0]
		batchPool.Put(b)
	}
}

// finishedLocked takes the cost of the jobs done off queued, clears
// mbWantPause once queued is down to the low-water mark (half the bound),
// and reports whether it did; resumeAt becomes what done must reach before
// that can happen (MaxInt when input is not to be paused). Called with
// mb.mu held.
func (c *client) finishedLocked(done, resumeAt *int) bool {
	m := &c.mb
	m.queued -= *done
	*done = 0
	*resumeAt = math.MaxInt
	if !c.mbState.has(mbWantPause) {
		return false
	}
	low := c.srv.cfg.MaxQueuedInputBytes / 2
	if m.queued > low {
		*resumeAt = m.queued - low
		return false
	}
	c.mbState.set(mbWantPause, false)
	return true
}

// applyInputFlow brings the session's input state to mbWantPause. Pushes
// and drains decide on different goroutines; so that their calls cannot
// reach the session in the wrong order (a late PauseInput after the queue
// drained would stall the client for good), one goroutine at a time
// applies the latest decision, and applies again if it changed meanwhile.
// No lock is held while the session is called.
func (c *client) applyInputFlow() {
	m := &c.mb
	m.mu.Lock()
	if c.mbState.has(mbApplying) {
		m.mu.Unlock()
		return // the goroutine applying will see the new decision
	}
	c.mbState.set(mbApplying, true)
	for c.mbState.has(mbPaused) != c.mbState.has(mbWantPause) {
		pause := c.mbState.has(mbWantPause)
		m.mu.Unlock()
		if pause {
			c.sess.PauseInput()
		} else {
			c.sess.ResumeInput()
		}
		m.mu.Lock()
		c.mbState.set(mbPaused, pause)
	}
	c.mbState.set(mbApplying, false)
	m.mu.Unlock()
}

// workerIdle is how long a worker goroutine stays parked without work
// before it exits.
const workerIdle = 2 * time.Second

// workerPool drains mailboxes with a set of goroutines that follows the
// number of mailboxes needing a goroutine at the same time.
//
// Mailboxes with work wait in one FIFO run queue. The pool keeps at least
// one worker awake and not committed to a mailbox (searching) while the
// queue is not empty, the way the Go scheduler keeps a spinning thread: a
// worker that takes a mailbox wakes another only if the queue still holds
// work and nobody else is searching. So a burst of events for many
// connections costs one or two goroutine wake-ups, not one per connection,
// while a callback that blocks (on I/O, a channel, EmitWithAck) parks its
// worker and lets a searching one take the next mailbox: a slow callback
// still delays only its own connection.
//
// Parked workers are reused most recently parked first, so a burst runs
// on goroutines whose stacks have already grown (fresh goroutines growing
// their stacks cost ~8% of server CPU in the echo benchmark). Workers
// parked for workerIdle exit.
type workerPool struct {
	idle time.Duration // workerIdle, shorter in tests

	mu        sync.Mutex
	queue     []*client // guarded by mu; queue[head:] waits
	head      int       // guarded by mu
	searching int       // workers awake and not draining a mailbox; guarded by mu
	parked    []*worker // guarded by mu; most recently parked last
	reaping   bool      // a reap is scheduled; guarded by mu
}

type worker struct {
	wake  chan bool // true: work; false: exit
	since time.Time // when it parked; guarded by the pool's mu
}

func newWorkerPool() *workerPool { return &workerPool{idle: workerIdle} }

// start queues c, whose mailbox's running flag was just set, to be drained.
func (p *workerPool) start(c *client) {
	p.mu.Lock()
	p.queue = append(p.queue, c)
	if p.searching == 0 {
		p.wakeLocked()
	}
	p.mu.Unlock()
}

// wakeLocked adds a searching worker: a parked one, or a new goroutine.
func (p *workerPool) wakeLocked() {
	p.searching++
	if n := len(p.parked); n > 0 {
		w := p.parked[n-1]
		p.parked[n-1] = nil
		p.parked = p.parked[:n-1]
		w.wake <- true // buffered, and w is parked: never blocks
		return
	}
	go p.work(&worker{wake: make(chan bool, 1)})
}

// popLocked takes the first queued client, or returns nil.
func (p *workerPool) popLocked() *client {
	if p.head == len(p.queue) {
		return nil
	}
	c := p.queue[p.head]
	p.queue[p.head] = nil
	p.head++
	switch {
	case p.head == len(p.queue):
		p.queue, p.head = p.queue[:0], 0
	case p.head >= 256 && 2*p.head >= len(p.queue):
		// Never empty under steady load: reclaim the consumed front.
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	return c
}

// work is a worker's life; w counts as searching on entry.
func (p *workerPool) work(w *worker) {
	p.mu.Lock()
	for {
		c := p.popLocked()
		if c == nil {
			p.searching--
			w.since = time.Now()
			p.parked = append(p.parked, w)
			if !p.reaping {
				p.reaping = true
				time.AfterFunc(p.idle, p.reap)
			}
			p.mu.Unlock()
			if !<-w.wake {
				return
			}
			p.mu.Lock()
			continue
		}
		p.searching--
		if p.head < len(p.queue) && p.searching == 0 {
			p.wakeLocked()
		}
		p.mu.Unlock()
		c.drain()
		p.mu.Lock()
		p.searching++
	}
}

// reap ends the workers parked for workerIdle or longer (the oldest are
// first in parked), and reschedules itself while any stay parked.
func (p *workerPool) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	n := 0
	for n < len(p.parked) && now.Sub(p.parked[n].since) >= p.idle {
		p.parked[n].wake <- false
		n++
	}
	rest := copy(p.parked, p.parked[n:])
	clear(p.parked[rest:])
	p.parked = p.parked[:rest]
	if len(p.parked) == 0 {
		p.reaping = false
		return
	}
	time.AfterFunc(p.idle-now.Sub(p.parked[0].since), p.reap)
}
