package sio

import (
	"time"

	"github.com/sioloop/sioloop/eio"
)

// A broadcast reaches the sockets an adapter selected by one of two roads,
// both here. A room snapshot (one room or everyone) is handed over group
// by group: one broadcastOp per group, queued on the group's executor,
// which walks its share of the snapshot and writes each socket
// (toGroups). Any other selection is a set of sockets the adapter
// computed; each is written in order with its other writes, as a direct
// emit is (to). Local broadcasts and those a cluster adapter receives
// from other nodes (it calls MemoryAdapter.Broadcast for them) take the
// same roads. The message is encoded once, before either (Server.prepare).
//
// Broadcast ops are queued rather than run at once so that they can be
// merged: when messages arrive faster than a loop writes, consecutive
// broadcasts to the same snapshot visit each recipient once for all of
// them, and its frames leave in one write.

// delivery is one prepared broadcast on its way to its recipients.
type delivery struct {
	srv      *Server
	prep     *eio.Prepared
	except   *Socket // socket.broadcast's sender, or nil
	volatile bool
	stats    *counters // nil unless Stats was called
}

func (s *Server) newDelivery(prep *eio.Prepared, opts *BroadcastOptions) delivery {
	return delivery{srv: s, prep: prep, except: opts.ExceptSocket, volatile: opts.Volatile, stats: s.stats.Load()}
}

// toGroups hands each group's share of a room snapshot to the group's
// executor, or writes it at once on a server without executors. The
// executors' marks are read after the snapshot was taken (relocate.go).
func (d delivery) toGroups(groups [][]*Socket) {
	marks := d.srv.executorMarks()
	for g, ms := range groups {
		if len(ms) == 0 {
			continue
		}
		e := d.srv.executorOf(g)
		op := &broadcastOp{members: ms[:len(ms):len(ms)], except: d.except, volatile: d.volatile,
			preps: []*eio.Prepared{d.prep}, frames: d.prep.Frames(), exec: e, marks: marks}
		if e == nil {
			op.Run()
			continue
		}
		queueBroadcast(e, op)
	}
}

// to writes the broadcast to s, in order with its other writes.
func (d delivery) to(s *Socket) {
	if d.volatile && !s.client.sess.Writable() {
		if d.stats != nil {
			d.stats.countBroadcast(s.client.group.Load(), 0, 1, 1, len(d.prep.Frames()))
		}
		return
	}
	s.sendPrepared(d.prep)
	if d.stats != nil {
		d.stats.countBroadcast(s.client.group.Load(), 1, 0, 1, len(d.prep.Frames()))
	}
}

// maxBacklogWait bounds how long a broadcast waits for an overloaded
// executor before it is queued anyway: a safety net for a caller that runs
// on the loop itself (a user callback the loop runs), whose wait could
// never end otherwise. A handler or a user goroutine is released much
// sooner, as soon as the loop has worked off half of its bound.
const maxBacklogWait = 2 * time.Second

// queueBroadcast queues op on e. While e is overloaded (loop/backlog.go) a
// volatile broadcast is dropped, as socket.io drops volatile packets a
// transport cannot take, and any other waits for the loop to catch up:
// the publisher is slowed to the rate the recipients' loop sustains (a
// handler that waits makes its connection's mailbox fill, which pauses
// reading that connection), instead of the backlog and its latency growing
// without bound.
func queueBroadcast(e executor, op *broadcastOp) {
	if e.Overloaded() {
		if op.volatile {
			return
		}
		e.WaitBacklog(maxBacklogWait)
	}
	e.DeferMark(op)
}

// broadcastOp delivers one or more broadcasts to one group's share of a
// room snapshot. It runs on the group's executor (or at once without one).
type broadcastOp struct {
	members  []*Socket // immutable snapshot slice
	except   *Socket   // socket.broadcast's sender, or nil
	volatile bool
	preps    []*eio.Prepared
	frames   []byte   // WebSocket frames of every prep, back to back
	owned    bool     // frames was allocated by Merge (else it is preps[0]'s)
	exec     executor // the executor it runs on; nil without one
	marks    []uint64 // every executor's mark when it was issued (Server.executorMarks); read-only, shared
}

// Merge absorbs the op queued right after o when it is a broadcast to the
// same recipients (loop.Merger).
func (o *broadcastOp) Merge(next interface{ Run() }) bool {
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
		if r := s.client.reloc.Load(); r != nil && r.from != o.exec && !r.ready(r.markIn(o.marks)) {
			// s moved here from an executor that has not yet run
			// everything queued before this op (relocate.go).
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

// Cost is the op's work for the executor's backlog bound (loop.Coster):
// one unit per recipient visit.
func (o *broadcastOp) Cost() int { return len(o.members) }
