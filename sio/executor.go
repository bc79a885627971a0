package sio

import (
	"context"
	"time"
)

// An executor runs the work queued on it one piece at a time, in queue
// order, on the goroutine that writes the connections of one group. It is
// how sio orders a client's writes (ordered.go) and hands broadcasts to
// the loops (deliver.go); an event loop (loop.Loop) is one. A server that
// runs no loops (net/http only) has none, and writes are made directly.
type executor interface {
	// DeferMark queues op, returning its mark: Passed(mark) reports
	// true once it has run. Safe from any goroutine, ops included.
	DeferMark(op interface{ Run() }) uint64
	// Mark returns the mark of the last op queued so far.
	Mark() uint64
	// Passed reports whether every op up to mark has run (or was
	// dropped by a stopped executor).
	Passed(mark uint64) bool
	// Pending reports whether ops are queued and not finished. A
	// goroutine that queued an op sees it pending until it has run.
	Pending() bool
	// Overloaded reports whether the queued work or the connections'
	// unsent bytes are past their bounds (loop/backlog.go).
	Overloaded() bool
	// WaitBacklog waits, at most timeout, until the executor has worked
	// off half of its bounds; it reports whether it did.
	WaitBacklog(timeout time.Duration) bool
	// Flush waits until every op queued and every write made before the
	// call has been handed to its connection, or ctx ends.
	Flush(ctx context.Context) error
}

// writeOp is a write queued on an executor; a func value is
// pointer-shaped, so the conversion does not allocate.
type writeOp func()

func (w writeOp) Run() { w() }

// post queues w on e.
func post(e executor, w func()) { e.DeferMark(writeOp(w)) }

// executorSource finds the executor of a group; serve.go adapts the loop
// server and the enroller of ListenAndServeTLS to it.
type executorSource interface{ executor(g int) executor }

type executorSet struct{ src executorSource }

// setExecutors records the first executor source; later ones are
// ignored, so that a group always maps to one executor. It returns the set
// it recorded, nil when one was there already.
func (s *Server) setExecutors(src executorSource) *executorSet {
	set := &executorSet{src: src}
	if s.executors.CompareAndSwap(nil, set) {
		return set
	}
	return nil
}

// executorOf returns the executor that orders writes to group g, or nil
// when the server runs no loops.
func (s *Server) executorOf(g int) executor {
	es := s.executors.Load()
	if es == nil {
		return nil
	}
	return es.src.executor(g)
}
