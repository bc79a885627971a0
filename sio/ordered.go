package sio

import (
	"bytes"
	"context"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// Broadcasts are deferred to event loops so that they can be merged.
//
// A plain broadcast (one room or everyone, no except rooms) does not walk
// its recipients on the emitting goroutine. It takes the room's immutable
// snapshot, already bucketed by group, and queues one broadcastOp per group
// on that group's loop. The loop runs queued ops before writing its
// connections, and consecutive broadcasts to the same snapshot are merged:
// when messages arrive faster than the loop writes, each recipient is
// visited once for all of them and its frames leave in one write.
//
// Every other write to a socket must stay behind the broadcasts queued
// before it (socket.io delivers a socket's packets in emit order). So
// while its group's loop has queued ops, a client's direct send (emit, ack,
// connect, disconnect, close) is queued there too, as an op, instead of
// being written at once. A goroutine that queued a broadcast sees its own
// increment of the loop's pending count, so its later sends cannot
// overtake it.

// loopSource finds the event loop of a group: a *loop.Server or a
// *loop.Enroller.
type loopSource interface{ Loop(i int) *loop.Loop }

type loopSet struct{ src loopSource }

// setLoops records the first loop source; later ones are ignored, so that
// a group always maps to one loop. It returns the set it recorded, nil
// when one was there already.
func (s *Server) setLoops(src loopSource) *loopSet {
	set := &loopSet{src: src}
	if s.loops.CompareAndSwap(nil, set) {
		return set
	}
	return nil
}

// loopOf returns the loop that orders writes to group g, or nil when the
// server runs no loops (writes are then direct).
func (s *Server) loopOf(g int) *loop.Loop {
	ls := s.loops.Load()
	if ls == nil {
		return nil
	}
	return ls.src.Loop(g)
}

// send sends a message (text and attachments) in order with queued
// broadcasts. The inputs are copied if the send is deferred.
func (c *client) send(msg []byte, atts ...[]byte) {
	l := c.queuedLoop()
	if l == nil {
		c.sendMessage(msg, atts)
		return
	}
	msg = bytes.Clone(msg)
	atts = cloneAll(atts)
	c.postWrite(l, func() { c.sendMessage(msg, atts) })
}

// closeSession closes the connection after the writes queued before it,
// and after what its sockets hold (output_hold.go).
func (c *client) closeSession() {
	for _, s := range c.socketsNow() {
		s.releaseOutput()
	}
	if l := c.queuedLoop(); l != nil {
		c.postWrite(l, c.sess.Close)
		return
	}
	c.sess.Close()
}

func cloneAll(bs [][]byte) [][]byte {
	if len(bs) == 0 {
		return nil
	}
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = bytes.Clone(b)
	}
	return out
}

// broadcastOp delivers one or more broadcasts to one group's share of a
// room snapshot. It runs on the group's loop.
type broadcastOp struct {
	members  []*Socket // immutable snapshot slice
	except   *Socket   // socket.broadcast's sender, or nil
	volatile bool
	preps    []*eio.Prepared
	frames   []byte     // WebSocket frames of every prep, back to back
	owned    bool       // frames was allocated by Merge (else it is preps[0]'s)
	loop     *loop.Loop // the loop it runs on
	marks    []uint64   // every loop's mark when it was issued (Server.loopMarks); read-only, shared
}

func newBroadcastOp(members []*Socket, except *Socket, volatile bool, p *eio.Prepared, l *loop.Loop, marks []uint64) *broadcastOp {
	o := &broadcastOp{members: members, except: except, volatile: volatile, frames: p.Frames(), loop: l, marks: marks}
	o.preps = append(o.preps, p)
	return o
}

// Merge absorbs a broadcast to the same recipients.
func (o *broadcastOp) Merge(next loop.Op) bool {
	n, ok := next.(*broadcastOp)
	if !ok || n.except != o.except || n.volatile != o.volatile || !sameMembers(n.members, o.members) {
		return false
	}
	if !o.owned {
		o.frames = append(make([]byte, 0, 4*len(o.frames)+len(n.frames)), o.frames...)
		o.owned = true
	}
	o.frames = append(o.frames, n.frames...)
	o.preps = append(o.preps, n.preps...)
	o.marks = laterMarks(o.marks, n.marks)
	return true
}

// laterMarks returns marks at least as late as a and b, elementwise.
func laterMarks(a, b []uint64) []uint64 {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	later := true
	for g := range a {
		if b[g] < a[g] {
			later = false
			break
		}
	}
	if later {
		return b
	}
	m := make([]uint64, len(a))
	for g := range m {
		m[g] = max(a[g], b[g])
	}
	return m
}

func sameMembers(a, b []*Socket) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Run writes the frames to every member.
func (o *broadcastOp) Run() {
	sent, dropped := 0, 0
	for _, s := range o.members {
		if s == o.except {
			continue
		}
		if o.volatile && !s.client.sess.Writable() {
			dropped++
			continue
		}
		sent++
		if r := s.client.reloc.Load(); r != nil && r.from != o.loop && !r.ready(r.markIn(o.marks)) {
			// s moved here from a loop that has not yet run everything
			// queued before this op (relocate.go).
			frames, preps := o.frames, o.preps
			r.forward(func() { s.writeBatch(frames, preps) })
			continue
		}
		s.writeBatch(o.frames, o.preps)
	}
	if len(o.members) > 0 {
		if st := o.members[0].nsp.srv.stats.Load(); st != nil {
			st.countBroadcast(o.members[0].client.group.Load(), sent, dropped, len(o.preps), len(o.frames))
		}
	}
}

// Cost is the op's work for the loop's backlog bound: one unit per
// recipient visit.
func (o *broadcastOp) Cost() int { return len(o.members) }

var (
	_ loop.Merger = (*broadcastOp)(nil)
	_ loop.Coster = (*broadcastOp)(nil)
)

// maxBacklogWait bounds how long a broadcast waits for an overloaded loop
// before it is queued anyway: a safety net for a caller that runs on the
// loop itself (a user callback the loop runs), whose wait could never end
// otherwise. A handler or a user goroutine is released much sooner, as soon
// as the loop has worked off half of its bound.
const maxBacklogWait = 2 * time.Second

// deferBroadcast queues op on l. While l is overloaded (loop/backlog.go) a
// volatile broadcast is dropped, as socket.io drops volatile packets a
// transport cannot take, and any other waits for the loop to catch up:
// the publisher is slowed to the rate the recipients' loop sustains (a
// handler that waits makes its connection's mailbox fill, which pauses
// reading that connection), instead of the backlog and its latency growing
// without bound.
func deferBroadcast(l *loop.Loop, op *broadcastOp) {
	if l.Overloaded() {
		if op.volatile {
			return
		}
		l.WaitBacklog(maxBacklogWait)
	}
	l.Defer(op)
}

// drainLoops waits until no loop has queued ops (broadcasts and writes
// behind them), or ctx ends, so that closing connections does not drop them.
func (s *Server) drainLoops(ctx context.Context) {
	defer func() {
		// Then what the ops and the sends before them wrote must be
		// handed to the connections before the loops stop.
		for g := 0; g < s.groups; g++ {
			if l := s.loopOf(g); l != nil {
				l.Flush(ctx)
			}
		}
	}()
	for {
		busy := false
		for g := 0; g < s.groups; g++ {
			if l := s.loopOf(g); l != nil && l.Pending() {
				busy = true
			}
		}
		if !busy {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Millisecond):
		}
	}
}
