package loop

import (
	"errors"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/wsframe"
)

// Reading is paused for two reasons: eio.ReadPauser.PauseRead on a
// WebSocket connection (its handler falls behind), and, on an HTTP
// connection, input piling up behind a request that awaits its response
// (httpState.held). While paused, buffered input is not processed and the
// socket is not read (readpause_linux.go says how, and what bounds the
// input that still arrives); writes and the detection of a closed peer go
// on. Each connection type keeps two fields for it, inline so that a conn
// stays in its allocation class: readWant (atomic, set by PauseRead from
// any goroutine) and readOff (loop-only: the socket is out of EPOLLIN).

// ErrInputOverflow is the close cause of a connection that went on
// sending while its reading was paused, until its buffered input passed
// Config.MaxPausedInputBytes.
var ErrInputOverflow = errors.New("loop: input overflow: paused connection kept sending")

// syncReading makes the socket's read interest follow paused. Loop-only,
// and only while gnet's OnClose has not run for gc.
func (l *Loop) syncReading(gc gnet.Conn, off *bool, paused bool) {
	switch {
	case paused && !*off:
		*off = l.stopReading(gc)
	case !paused && *off:
		l.startReading(gc)
		*off = false
	}
}

// flushReading writes ob's pending bytes to gc. When reading is paused it
// re-applies the pause if the write left bytes in gnet's (until then
// empty) outbound buffer: gnet then re-armed EPOLLIN with ModReadWrite.
// Loop-only.
func (l *Loop) flushReading(gc gnet.Conn, ob *outbox, off *bool) {
	if !*off {
		ob.flush(gc)
		return
	}
	before := gc.OutboundBuffered()
	ob.flush(gc)
	if !ob.isDead() && before == 0 && gc.OutboundBuffered() > 0 {
		*off = l.stopReading(gc)
	}
}

// overflowed reports whether a paused connection holds more buffered input
// than max. Loop-only.
func overflowed(gc gnet.Conn, max int) bool { return gc.InboundBuffered() > max }

// PauseRead implements eio.ReadPauser. Any goroutine; idempotent. Once it
// has returned, at most the message whose delivery the loop had already
// begun still arrives; called from OnMessage, it stops delivery right
// after that message.
func (c *conn) PauseRead() {
	if !c.readWant.Swap(true) {
		c.lp.Post(c.syncRead)
	}
}

// ResumeRead implements eio.ReadPauser. Any goroutine; idempotent. The
// input buffered meanwhile is delivered first, in order.
func (c *conn) ResumeRead() {
	if c.readWant.Swap(false) {
		c.lp.Post(c.syncRead)
	}
}

// readPaused reports whether input must not be processed now. Loop-only.
func (c *conn) readPaused() bool {
	return c.readWant.Load() || (c.h != nil && c.h.held)
}

// syncRead applies the current pause state on the loop and, when reading
// is on again, processes what was buffered. Loop-only.
func (c *conn) syncRead() {
	if c.mode == modeClosed {
		return // closing, or gone: the fd may not be ours any more
	}
	paused := c.readPaused()
	c.lp.syncReading(c.gc, &c.readOff, paused)
	if !paused && c.gc.InboundBuffered()+c.preLen() > 0 {
		c.process()
		c.flush()
	}
}

// pausedTraffic handles OnTraffic while reading is paused: input that got
// through (see readpause_linux.go) stays buffered, the pause is applied
// again, and past the cap the connection is closed. Loop-only.
func (c *conn) pausedTraffic() gnet.Action {
	if c.mode == modeClosed {
		return gnet.None
	}
	if overflowed(c.gc, c.srv.cfg.MaxPausedInputBytes) {
		var b *bytebufferpool.ByteBuffer
		if c.mode == modeWS {
			b = outPool.Get()
			b.B = wsframe.AppendClose(b.B, ws.StatusPolicyViolation, "")
		}
		c.mode = modeClosed
		var p []byte
		if b != nil {
			p = b.B
		}
		c.ob.appendClose(p, ErrInputOverflow, c.srv.cfg.MaxOutboundBytes)
		c.flush()
		if b != nil {
			outPool.Put(b)
		}
		return gnet.Close
	}
	c.readOff = c.lp.stopReading(c.gc)
	return gnet.None
}

// holdHTTP pauses reading when input piles up behind a request that
// awaits its response: more than one maximal request (MaxHeaderBytes +
// MaxBodyBytes) is not buffered for a client that does not wait for its
// answers. resume releases the hold. Loop-only.
func (c *conn) holdHTTP() {
	h := c.h
	if h.held || c.gc.InboundBuffered() < c.srv.cfg.MaxHeaderBytes+int(c.srv.cfg.MaxBodyBytes) {
		return
	}
	h.held = true
	c.lp.syncReading(c.gc, &c.readOff, true)
}

// PauseRead implements eio.ReadPauser for a dialed connection.
func (c *clientConn) PauseRead() {
	if !c.readWant.Swap(true) {
		c.lp.Post(c.syncRead)
	}
}

// ResumeRead implements eio.ReadPauser for a dialed connection.
func (c *clientConn) ResumeRead() {
	if c.readWant.Swap(false) {
		c.lp.Post(c.syncRead)
	}
}

// syncRead is conn.syncRead for a dialed connection. Loop-only.
func (c *clientConn) syncRead() {
	if c.closed {
		return
	}
	paused := c.readWant.Load()
	c.lp.syncReading(c.gc, &c.readOff, paused)
	if !paused && c.gc.InboundBuffered()+len(c.pre) > 0 {
		c.processFrames()
		c.flush()
	}
}

// pausedTraffic is conn.pausedTraffic for a dialed connection. Loop-only.
func (c *clientConn) pausedTraffic() gnet.Action {
	if c.closed {
		return gnet.None
	}
	if overflowed(c.gc, c.d.cfg.MaxPausedInputBytes) {
		c.sendClose(ws.StatusPolicyViolation, ErrInputOverflow)
		c.flush()
		return gnet.Close
	}
	c.readOff = c.lp.stopReading(c.gc)
	return gnet.None
}

// PauseRead implements eio.ReadPauser for a connection served by
// goroutines: its reader stops before the next frame and reads nothing
// more until ResumeRead, so the kernel's buffer fills as on a loop.
func (c *goConn) PauseRead() {
	c.mu.Lock()
	c.paused = true
	c.mu.Unlock()
}

// ResumeRead implements eio.ReadPauser for a connection served by
// goroutines.
func (c *goConn) ResumeRead() {
	c.mu.Lock()
	c.paused = false
	c.mu.Unlock()
	c.resumed.Broadcast()
}

// waitResumed blocks the reader while reading is paused and the
// connection is not closing. Reader goroutine only.
func (c *goConn) waitResumed() {
	c.mu.Lock()
	for c.paused && !c.closing && !c.dead {
		c.resumed.Wait()
	}
	c.mu.Unlock()
}

var (
	_ eio.ReadPauser = (*conn)(nil)
	_ eio.ReadPauser = (*clientConn)(nil)
	_ eio.ReadPauser = (*goConn)(nil)
)
