package redisstreams

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/sio"
)

// The pipeline of a namespace: what this node appends to the stream
// (broadcasts without acks, joins, leaves, disconnects), in the order of
// the calls, each followed by its local part.
//
// Broadcast only queues (it never waits for Redis); one sender goroutine
// per namespace, started when the queue goes from empty to not empty and
// gone when it is empty again, sends the XADDs one after the other. A
// change is applied here when its XADD returned, then its caller wakes.
// A broadcast, with connection state recovery, is delivered here with its
// entry id as offset by the stream's reader when it reaches the entry
// (awaitLocked below), so that local sockets get this node's and the other
// nodes' broadcasts in stream order; without recovery it was delivered at
// once.
//
// One XADD is in flight per namespace: Redis assigns ids in the order it
// executes commands, and the Bus's client spreads concurrent commands over
// several connections, which keeps no order between them; the Bus has no
// ordered multi-command XADD. A namespace's appends are thus bounded by
// one round trip each (BenchmarkPipeline: 11,000 to 12,000 broadcasts/s
// for one namespace, 20,000/s for four, on the loaded 2-core loopback dev
// VM); namespaces append in parallel.
//
// The queue is bounded by Config.MaxQueuedBytes: past it, Broadcast
// delivers here at once, ahead of what is queued, without offset, and the
// broadcast never reaches other nodes (Stats.Dropped). When an XADD fails
// (Redis down, AppendTimeout) its broadcast is delivered without offset
// and the next XADDs are skipped until a retry works (health): local
// delivery goes on at once while Redis is away.
type pipeline struct {
	a   *nsAdapter
	max int

	mu      sync.Mutex
	q       []*item // guarded by mu
	bytes   int     // of the items queued or being sent; guarded by mu
	running bool    // a sender goroutine drains q; guarded by mu
	idle    chan struct{}
}

// item is one message of the pipeline.
type item struct {
	typ  int
	data string // the XADD data field

	// Broadcasts.
	p         *sio.Packet
	opts      *sio.BroadcastOptions
	t         target
	delivered bool // already delivered here (recovery off)
	// deliveredAs is the entry id the reader delivered it as, before the
	// XADD's reply came; guarded by nsAdapter.dispatchMu.
	deliveredAs string

	// Joins, leaves, disconnects: done gets the XADD's error once the
	// change is applied here.
	rooms     []string
	closeConn bool
	done      chan error
}

func (it *item) size() int { return len(it.data) + itemOverhead }

func (pl *pipeline) init(a *nsAdapter) {
	pl.a = a
	pl.max = a.r.cfg.MaxQueuedBytes
	pl.idle = make(chan struct{})
	close(pl.idle)
}

// push queues it and reports whether it fit (an item bigger than the
// bound fits in an empty queue).
func (pl *pipeline) push(it *item) bool {
	n := it.size()
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.bytes > 0 && pl.bytes+n > pl.max {
		return false
	}
	pl.q = append(pl.q, it)
	pl.bytes += n
	if !pl.running {
		pl.running = true
		pl.idle = make(chan struct{})
		go pl.run()
	}
	return true
}

// wait returns once the pipeline is empty, or ctx ended.
func (pl *pipeline) wait(ctx context.Context) {
	pl.mu.Lock()
	idle := pl.idle
	pl.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// run is the sender goroutine: it takes what is queued, in order, until
// nothing is.
func (pl *pipeline) run() {
	for {
		pl.mu.Lock()
		batch := pl.q
		pl.q = nil
		if len(batch) == 0 {
			pl.running = false
			close(pl.idle)
			pl.mu.Unlock()
			return
		}
		pl.mu.Unlock()
		for i, it := range batch {
			pl.send(it)
			batch[i] = nil
			pl.mu.Lock()
			pl.bytes -= it.size()
			pl.mu.Unlock()
		}
	}
}

// send appends it to the stream, then does its local part: a change is
// applied here; a broadcast with its offset is handed to the reader
// (awaitLocked), which delivers it when it reaches its entry.
func (pl *pipeline) send(it *item) {
	a := pl.a
	defer a.r.containPanic("pipeline item")
	// While the XADD is out, the reader may come across its entry before
	// the reply: it then delivers it at once (deliverOwnEntry).
	track := it.typ == clusterwire.MsgBroadcast && !it.delivered
	if track {
		a.dispatchMu.Lock()
		a.inflight = it
		a.dispatchMu.Unlock()
	}
	rawID, id, err := pl.append(it)
	if it.typ != clusterwire.MsgBroadcast {
		a.apply(it.typ, it.opts, it.rooms, it.closeConn)
		it.done <- err
		return
	}
	if !track {
		return
	}
	a.dispatchMu.Lock()
	defer a.dispatchMu.Unlock()
	a.inflight = nil
	switch {
	case it.deliveredAs != "":
		// The reader delivered it.
	case rawID == "":
		// Not in the stream: delivered now, behind the own broadcasts the
		// reader has not reached yet.
		a.flushAwaitingLocked(time.Time{})
		a.MemoryAdapter.Broadcast(it.p, it.opts)
	default:
		a.awaitLocked(it, id, rawID)
	}
}

// append sends it's XADD, unless Redis is known not to answer, and counts
// the outcome.
func (pl *pipeline) append(it *item) (rawID string, id entryID, err error) {
	a := pl.a
	if !a.r.health.try() {
		a.r.appendFailed.Add(1)
		return "", id, errSkipped
	}
	ctx, cancel := context.WithTimeout(a.r.ctx, a.r.cfg.AppendTimeout)
	rawID, err = a.r.bus.XAdd(ctx, a.stream.name, a.r.cfg.MaxLen,
		"uid", a.uid, "nsp", a.ns.Name(), "type", strconv.Itoa(it.typ), "data", it.data)
	cancel()
	if err == nil {
		var ok bool
		if id, ok = parseID(rawID); !ok {
			err = errMalformed
		}
	}
	if err != nil {
		a.r.health.fail()
		n := a.r.appendFailed.Add(1)
		a.r.warn("xadd", "redisstreams: XADD failed, delivering on this node only", slog.String("namespace", a.ns.Name()), slog.Any("error", err), slog.Uint64("failed", n))
		return "", id, err
	}
	a.r.health.ok()
	a.r.appended.Add(1)
	return rawID, id, nil
}

var errSkipped = errorString("redisstreams: Redis did not answer, XADD skipped")

type errorString string

func (e errorString) Error() string { return string(e) }

// deliverOwnLocked delivers one of this node's broadcasts, appended as
// id. dispatchMu is held.
func (a *nsAdapter) deliverOwnLocked(it *item, id entryID, rawID string) {
	out := it.p
	if !it.opts.Volatile {
		out = &sio.Packet{Data: appendOffset(it.p.Data, rawID), Attachments: it.p.Attachments}
	}
	opts := it.opts
	if len(a.restoring) > 0 {
		opts = a.holdLocked(opts, it.t, it.p, id, rawID)
	}
	a.lastOwn = maxID(a.lastOwn, id)
	a.MemoryAdapter.Broadcast(out, opts)
}

// Own broadcasts are delivered here in stream order, by the reader:
// were they delivered when their XADD returns, an entry of another node
// that precedes them in the stream, not read yet, would reach local
// sockets after them, and a client keeps the offset of the last event it
// got, so a later restore would replay that entry twice, or skip it. A
// broadcast appended as id waits in awaiting until the reader reaches id;
// if the reader does not within AppendTimeout (Redis went away, or lost
// the stream), it is delivered then, ahead of what the reader has yet to
// deliver.

type awaited struct {
	it    *item
	id    entryID
	rawID string
	since time.Time
}

// awaitLocked hands it, appended as id, to the reader. dispatchMu is held.
func (a *nsAdapter) awaitLocked(it *item, id entryID, rawID string) {
	if len(a.awaiting) == 0 {
		a.awaitIdle = make(chan struct{})
		t := a.r.cfg.AppendTimeout
		if a.awaitTimer == nil {
			a.awaitTimer = time.AfterFunc(t, a.expireAwaiting)
		} else {
			a.awaitTimer.Reset(t)
		}
	}
	a.awaiting = append(a.awaiting, awaited{it: it, id: id, rawID: rawID, since: time.Now()})
}

// flushAwaitingLocked delivers, in order, the awaited broadcasts handed
// over before cutoff (all of them for the zero time). dispatchMu is held.
func (a *nsAdapter) flushAwaitingLocked(cutoff time.Time) {
	n := 0
	for _, w := range a.awaiting {
		if !cutoff.IsZero() && !w.since.Before(cutoff) {
			break
		}
		a.deliverOwnLocked(w.it, w.id, w.rawID)
		n++
	}
	a.popAwaitingLocked(n)
}

func (a *nsAdapter) popAwaitingLocked(n int) {
	if n == 0 {
		return
	}
	clear(a.awaiting[:n])
	a.awaiting = a.awaiting[n:]
	if len(a.awaiting) == 0 {
		a.awaiting = nil
		close(a.awaitIdle)
		a.awaitTimer.Stop()
	}
}

// expireAwaiting runs AppendTimeout after the oldest awaited broadcast
// was handed over, on a timer goroutine.
func (a *nsAdapter) expireAwaiting() {
	a.dispatchMu.Lock()
	defer a.dispatchMu.Unlock()
	if len(a.awaiting) == 0 {
		return
	}
	now := time.Now()
	before := len(a.awaiting)
	a.flushAwaitingLocked(now.Add(-a.r.cfg.AppendTimeout + time.Millisecond))
	if late := before - len(a.awaiting); late > 0 {
		a.r.warn("late", "redisstreams: the stream reader did not reach this node's broadcasts in time, delivered them",
			slog.String("namespace", a.ns.Name()), slog.Int("broadcasts", late))
	}
	if len(a.awaiting) > 0 {
		a.awaitTimer.Reset(a.awaiting[0].since.Add(a.r.cfg.AppendTimeout).Sub(now))
	}
}

// waitAwaiting returns once no broadcast waits for the reader, or ctx
// ended.
func (a *nsAdapter) waitAwaiting(ctx context.Context) {
	a.dispatchMu.Lock()
	var idle chan struct{}
	if len(a.awaiting) > 0 {
		idle = a.awaitIdle
	}
	a.dispatchMu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
}

// deliverOwnEntry is the reader's part for an entry of this node's: the
// awaited broadcast appended as it is delivered now; so is the one whose
// XADD is out if the entry is its (the reply is still to come). Any other
// own entry was delivered already (its XADD was given up on, or the
// reader came too late).
func (a *nsAdapter) deliverOwnEntry(s *stream, id entryID, rawID string, m *streamMsg) {
	a.dispatchMu.Lock()
	defer a.dispatchMu.Unlock()
	s.setPosition(id)
	for i, w := range a.awaiting {
		if w.id == id {
			// Those before it, if any, were skipped by the reader (trimmed
			// away): delivered first, in order.
			for _, v := range a.awaiting[:i+1] {
				a.deliverOwnLocked(v.it, v.id, v.rawID)
			}
			a.popAwaitingLocked(i + 1)
			return
		}
	}
	if it := a.inflight; it != nil && it.typ == m.typ && it.data == m.data && it.deliveredAs == "" {
		it.deliveredAs = rawID
		a.flushAwaitingLocked(time.Time{})
		a.deliverOwnLocked(it, id, rawID)
	}
}
