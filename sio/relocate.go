package sio

import "sync/atomic"

// A client's writes are ordered on the executor of its group
// (ordered.go): an event loop. A polling client's group is the loop of its
// handshake's connection; once it upgrades, its WebSocket may live on another loop. The
// client then relocates: its group becomes its WebSocket's loop, so that
// broadcasts to it run where its connection is written, and its messages
// keep their order across the move.
//
// Writes issued before the move were queued on the old loop: broadcast ops
// whose snapshot holds the client in its old group, and direct sends queued
// behind them. They run there, as do stragglers, broadcasts that read a
// snapshot before the move and queue it just after. A write issued after
// the move must follow those its issuer queued before it, which are among
// the ops queued on the old loop before the write was issued. So a write
// carries the old loop's Mark from when it was issued and is made once the
// old loop has Passed it. If it has not, the write is forwarded to the old
// loop, behind them; later writes then wait for the forwarded one too. The
// check is made on the client's new loop (a direct send that cannot be
// made at once is queued there), so forwarding keeps one order.

// relocation is how a client that moved follows what its old loop still
// has queued.
type relocation struct {
	from      executor // the executor that ordered the client's writes before
	fromGroup int      // its group
	// fwd is from's mark of the last write forwarded there; written on
	// the client's new loop only.
	fwd atomic.Uint64
}

// ready reports whether a write to the client issued when from's mark was
// mark may be made now.
func (r *relocation) ready(mark uint64) bool {
	return r.from.Passed(max(mark, r.fwd.Load()))
}

// forward queues w, a write that is not ready, on the old loop. On the
// client's new loop only.
func (r *relocation) forward(w func()) { r.fwd.Store(r.from.DeferMark(writeOp(w))) }

// relocate moves c's group to its WebSocket's loop after an upgrade; see
// above. It does nothing without loops or when the loop is the same.
func (c *client) relocate() {
	to := c.sess.Group() % c.srv.groups
	old := int(c.group.Load())
	if to == old || c.reloc.Load() != nil {
		return
	}
	from := c.srv.executorOf(old)
	if from == nil || c.srv.executorOf(to) == nil {
		return
	}
	// The flag first, so that a broadcast that finds c in its new group
	// also takes the loops' marks; then the relocation, so that a write
	// ordered by the new group always sees it.
	c.srv.relocated.Store(true)
	c.reloc.Store(&relocation{from: from, fromGroup: old})
	c.group.Store(int32(to))
	for _, s := range c.socketsNow() {
		if a, ok := s.nsp.adapter.(interface{ regrouped(*Socket) }); ok {
			a.regrouped(s)
		}
	}
}

// regrouped drops the room snapshots that hold s in its old group.
func (a *MemoryAdapter) regrouped(s *Socket) { a.hub.Regrouped(s) }

// queuedExecutor returns the executor a write to c issued now must be
// queued on (with postWrite), or nil when it may be made at once: nothing
// queued before it on the client's executor, nor, after a relocation, on
// the old one.
func (c *client) queuedExecutor() executor {
	e := c.srv.executorOf(int(c.group.Load()))
	if e == nil {
		return nil
	}
	if e.Pending() {
		return e
	}
	if r := c.reloc.Load(); r != nil && !r.ready(r.from.Mark()) {
		return e
	}
	return nil
}

// postWrite queues w, a write to c, on e (from queuedExecutor) so that it
// follows the writes issued before it.
func (c *client) postWrite(e executor, w func()) {
	r := c.reloc.Load()
	if r == nil || r.from == e {
		post(e, w)
		return
	}
	mark := r.from.Mark()
	post(e, func() {
		if r.ready(mark) {
			w()
			return
		}
		r.forward(w)
	})
}

// markIn returns the old loop's mark among a broadcast op's marks, or,
// for an op that carries none, its mark now (which waits for more than
// needed, never less).
func (r *relocation) markIn(marks []uint64) uint64 {
	if r.fromGroup < len(marks) {
		return marks[r.fromGroup]
	}
	return r.from.Mark()
}

// executorMarks returns every executor's mark, for a broadcast's ops to
// carry, or nil while no client has relocated.
func (s *Server) executorMarks() []uint64 {
	if !s.relocated.Load() {
		return nil
	}
	marks := make([]uint64, s.groups)
	for g := range marks {
		if e := s.executorOf(g); e != nil {
			marks[g] = e.Mark()
		}
	}
	return marks
}
