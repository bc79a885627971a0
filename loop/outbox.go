package loop

import (
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"
)

// outPool holds pending outbound bytes between a write and the flush.
var outPool bytebufferpool.Pool

// outbox is the outbound half of a connection on a loop, server side or
// client side: writers on any goroutine append to a pooled buffer under mu,
// and the loop writes everything pending with one gnet Write (flush).
//
// A write goes begin (false: the connection is closing, drop it), append
// to out.B, then commit (which releases mu and says whether the caller must
// schedule the flush: only the first write after a flush does).
type outbox struct {
	mu          sync.Mutex
	out         *bytebufferpool.ByteBuffer // guarded by mu
	queued      bool                       // a flush is scheduled; guarded by mu
	closing     bool                       // close once out is written; guarded by mu
	closeIssued bool                       // guarded by mu
	dead        bool                       // OnClose ran; guarded by mu
	closeErr    error                      // cause reported to the frame handler; guarded by mu

	backlog atomic.Int64 // bytes in gnet's outbound buffer at the last flush
}

// begin locks the outbox for an append and makes sure out exists. It
// reports false, with mu released, once the connection is closing.
func (o *outbox) begin() bool {
	o.mu.Lock()
	if o.closing || o.dead {
		o.mu.Unlock()
		return false
	}
	if o.out == nil {
		o.out = outPool.Get()
	}
	return true
}

// commit ends an append begun with begin: it enforces the outbound cap
// (max bytes queued here and in gnet), releases mu, and reports whether
// the caller must schedule a flush.
func (o *outbox) commit(max int) (schedule bool) {
	if n := int64(len(o.out.B)) + o.backlog.Load(); n > int64(max) && !o.closing {
		// Drop what is queued: the peer cannot keep up, it will not miss
		// it, and keeping it only grows memory.
		o.out.B = o.out.B[:0]
		o.closing = true
		o.closeErr = ErrSlowConsumer
	}
	schedule = !o.queued
	o.queued = true
	o.mu.Unlock()
	return schedule
}

// appendClose queues p (a close frame, or an HTTP error) and marks the
// connection to close once it is written. Like commit, it reports whether
// to schedule a flush; false also when the connection was already closing.
func (o *outbox) appendClose(p []byte, cause error, max int) (schedule bool) {
	if !o.begin() {
		return false
	}
	o.out.B = append(o.out.B, p...)
	o.closing = true
	if o.closeErr == nil {
		o.closeErr = cause
	}
	return o.commit(max)
}

// flush writes the pending bytes to gc with one syscall, then closes gc if
// a close was queued. Loop-only.
func (o *outbox) flush(gc gnet.Conn) {
	o.mu.Lock()
	b := o.out
	o.out = nil
	o.queued = false
	closeNow := o.closing && !o.closeIssued && !o.dead
	if closeNow {
		o.closeIssued = true
	}
	dead := o.dead
	o.mu.Unlock()
	if b != nil {
		if !dead {
			_, _ = gc.Write(b.B)
		}
		outPool.Put(b)
	}
	if !dead {
		o.backlog.Store(int64(gc.OutboundBuffered()))
	}
	if closeNow {
		_ = gc.Close()
	}
}

// kill marks the connection closed (gnet's OnClose ran), drops what is
// pending, and returns the recorded cause and whether a close was issued.
func (o *outbox) kill() (cause error, closeIssued bool) {
	o.mu.Lock()
	o.dead = true
	o.closing = true
	if o.out != nil {
		outPool.Put(o.out)
		o.out = nil
	}
	cause, closeIssued = o.closeErr, o.closeIssued
	o.mu.Unlock()
	return cause, closeIssued
}

// isDead reports whether OnClose ran.
func (o *outbox) isDead() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dead
}

// buffered is the number of bytes queued here and in gnet.
func (o *outbox) buffered() int {
	o.mu.Lock()
	n := 0
	if o.out != nil {
		n = len(o.out.B)
	}
	o.mu.Unlock()
	return n + int(o.backlog.Load())
}
