package loop

import (
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/http1"
	"github.com/sioloop/sioloop/internal/timer"
	"github.com/sioloop/sioloop/wsframe"
)

const (
	modeHTTP = iota
	modeWS
	modeClosed
)

// errProtocol marks a connection closed for a WebSocket protocol violation.
var errProtocol = errors.New("loop: websocket protocol error")

// conn is the state of one TCP connection.
type conn struct {
	srv    *Server
	lp     *Loop
	gc     gnet.Conn // loop-only, except Close
	remote string

	// Loop-only state. mode is one byte so that the read-pause fields
	// (readpause.go) fit beside it.
	mode    uint8
	readOff bool // the socket is out of EPOLLIN (readpause.go)
	listed  bool // the connection is on lp.stalled (pressure.go)
	// readWant: PauseRead called, ResumeRead not since. Atomic, any
	// goroutine; it sits here to fill the padding after mode.
	readWant atomic.Bool
	h        *httpState       // while in HTTP mode; dropped at the WebSocket upgrade
	dec      *wsframe.Decoder // only while a message is under way (decPool)
	fh       eio.FrameHandler
	// ext holds what only some WebSocket connections need: it is set
	// at the upgrade or enrollment, before the connection is handed to
	// anyone, and the pointer never changes afterwards.
	ext *connExt

	ob outbox // pending writes; queued means on lp.dirty
}

// connExt is the part of a conn that only enrolled connections or those
// that negotiated an extension use, out of line to keep conn small.
type connExt struct {
	pre  []byte        // frame bytes not in gnet's buffer (enrolled conns); loop-only
	defl *deflateState // permessage-deflate, or nil; never changed once set
	// tls is the TLS state of a connection adopted from a TLS listener
	// through a bridge (AdoptBridged), for its requests' Request().TLS.
	tls *tls.ConnectionState
}

// tlsState returns the TLS state of a bridged TLS connection, or nil.
func (c *conn) tlsState() *tls.ConnectionState {
	if x := c.ext; x != nil {
		return x.tls
	}
	return nil
}

// deflate returns the connection's permessage-deflate state, or nil.
// Any goroutine.
func (c *conn) deflate() *deflateState {
	if x := c.ext; x != nil {
		return x.defl
	}
	return nil
}

// preLen is the number of frame bytes held outside gnet's buffer.
func (c *conn) preLen() int {
	if x := c.ext; x != nil {
		return len(x.pre)
	}
	return 0
}

// httpState is what a connection needs only while it speaks HTTP: an
// idle WebSocket connection does not carry it. States are pooled
// (statePool), so that a new connection parses into an http1.Request whose
// Headers have already grown; nothing outside the connection's loop
// points into one (exchanges copy the head), so it is recycled as soon as
// the connection upgrades or closes.
type httpState struct {
	req    http1.Request
	limits http1.Limits
	busy   bool      // a request awaits its response; parsing is paused
	held   bool      // busy, and so much input is buffered that reading is paused too
	x      *exchange // the request awaiting its response
	idle   *timer.Timer
}

// maxPooledHeaders bounds the Headers capacity a pooled state keeps: a
// request with unusually many fields does not pin its array in the pool.
const maxPooledHeaders = 32

var statePool = sync.Pool{New: func() any { return new(httpState) }}

// decPool holds frame decoders. A connection takes one when frames arrive
// and gives it back once they are consumed, unless a fragmented message is
// under way: an idle WebSocket connection keeps none (80 bytes each).
var decPool = sync.Pool{New: func() any { return new(wsframe.Decoder) }}

func newConn(s *Server, gc gnet.Conn) *conn {
	c := &conn{srv: s, gc: gc, lp: s.loopFor(gc.EventLoop())}
	c.lp.nConns.Add(1)
	if a := gc.RemoteAddr(); a != nil {
		c.remote = a.String()
	}
	h := statePool.Get().(*httpState)
	h.limits = http1.Limits{MaxHeaderBytes: s.cfg.MaxHeaderBytes, MaxBodyBytes: s.cfg.MaxBodyBytes}
	// The timer is not pooled with the state: its callback is bound to
	// this conn, and one that fires as the conn upgrades or closes may
	// still run after the state went back to the pool.
	h.idle = s.wheel.NewTimer(c.idleExpired)
	h.idle.Reset(s.cfg.IdleTimeout)
	c.h = h
	return c
}

// releaseHTTP drops the connection's HTTP state and returns it to the
// pool. Loop-only; the caller has dealt with h.x.
func (c *conn) releaseHTTP() {
	h := c.h
	if h == nil {
		return
	}
	c.h = nil
	h.idle.Stop()
	h.req.Reset() // drops the views into gnet's buffer
	req := h.req
	if cap(req.Headers) > maxPooledHeaders {
		req.Headers = nil
	}
	*h = httpState{req: req}
	statePool.Put(h)
}

// enterWS switches the connection to WebSocket frames. Loop-only.
func (c *conn) enterWS(fh eio.FrameHandler) {
	c.mode = modeWS
	c.fh = fh
	c.releaseHTTP()
}

// idleExpired runs on the timer wheel: close the connection if it is still
// waiting for a request.
func (c *conn) idleExpired() {
	c.lp.Post(func() {
		if c.mode == modeHTTP && c.h != nil && !c.h.busy && c.ob.appendClose(nil, nil, c.srv.cfg.MaxOutboundBytes) {
			c.lp.markDirty(c)
		}
	})
}

func (c *conn) onTraffic() gnet.Action {
	if c.readPaused() {
		return c.pausedTraffic()
	}
	c.process()
	c.flush()
	return gnet.None
}

// process parses buffered input until it runs out or must wait. Loop-only.
func (c *conn) process() {
	for c.mode == modeHTTP && !c.h.busy {
		buf, _ := c.gc.Peek(-1)
		if len(buf) == 0 {
			return
		}
		h := c.h
		n, err := http1.Parse(buf, &h.req, &h.limits)
		if err != nil {
			var he *http1.Error
			if !errors.As(err, &he) {
				he = http1.ErrBadRequest
			}
			c.failHTTP(he)
			return
		}
		if n == 0 {
			return
		}
		x, err := newExchange(c, &h.req, buf)
		if err != nil {
			_, _ = c.gc.Discard(n)
			c.failHTTP(http1.ErrBadRequest)
			return
		}
		h.busy = true
		h.x = x
		h.idle.Stop()
		// The handler may upgrade the connection, which recycles h: it
		// must not be used past this point.
		c.srv.cfg.Handler(x)
		_, _ = c.gc.Discard(n)
	}
	if c.mode == modeHTTP && c.h.busy {
		c.holdHTTP()
	}
	if c.mode == modeWS {
		c.processFrames()
	}
}

// failHTTP answers a malformed request and closes the connection.
func (c *conn) failHTTP(e *http1.Error) {
	c.h.busy = true
	b := outPool.Get()
	b.B = http1.AppendError(b.B, e)
	c.writeClose(b.B, nil)
	outPool.Put(b)
}

// processFrames decodes every complete frame buffered. Loop-only.
func (c *conn) processFrames() {
	buf, _ := c.gc.Peek(-1)
	x := c.ext
	usePre := x != nil && x.pre != nil
	if usePre {
		// Bytes read by net/http past the upgrade request come first.
		x.pre = append(x.pre, buf...)
		_, _ = c.gc.Discard(len(buf))
		buf = x.pre
	}
	if c.dec == nil {
		c.dec = decPool.Get().(*wsframe.Decoder)
		c.dec.MaxMessageSize = c.srv.cfg.MaxMessageBytes
		c.dec.MaxFragments = c.srv.cfg.MaxMessageFragments
		c.dec.Deflate = c.deflate() != nil
	}
	defer c.putDecoder()
	off, _ := dispatchFrames(c.dec, buf, c)
	if usePre {
		if n := copy(x.pre, x.pre[off:]); n > 0 {
			x.pre = x.pre[:n]
		} else {
			x.pre = nil
		}
		return
	}
	if off > 0 {
		_, _ = c.gc.Discard(off)
	}
}

// readMore, message, pong, protocolError and peerClosed make conn the
// frameSink of dispatchFrames. Loop-only.
func (c *conn) readMore() bool { return c.mode == modeWS && !c.readWant.Load() }

func (c *conn) message(msg wsframe.Message) {
	if !msg.Compressed {
		c.fh.OnMessage(c, msg.Kind == wsframe.KindBinary, msg.Payload)
		return
	}
	if err := c.deliverCompressed(msg); err != nil {
		var ce *wsframe.CloseError
		errors.As(err, &ce)
		c.closeWS(int(ce.Code), err)
	}
}

func (c *conn) pong(payload []byte) { c.write(ws.OpPong, payload) }

func (c *conn) protocolError(code ws.StatusCode, err error) { c.closeWS(int(code), err) }

func (c *conn) peerClosed(code ws.StatusCode) { c.closeWS(int(code), nil) }

// putDecoder gives the decoder back to decPool unless the next frames
// depend on its state. Messages it returned are invalid afterwards; the
// frame handler copies what it keeps. Loop-only.
func (c *conn) putDecoder() {
	if d := c.dec; d != nil && (d.Between() || c.mode != modeWS) {
		d.Release()
		decPool.Put(d)
		c.dec = nil
	}
}

// closeWS queues a close frame and closes the connection; cause (nil for a
// clean close) is what the frame handler will see. Loop-only.
func (c *conn) closeWS(code int, cause error) {
	c.mode = modeClosed
	b := outPool.Get()
	b.B = wsframe.AppendClose(b.B, ws.StatusCode(code), "")
	c.writeClose(b.B, cause)
	outPool.Put(b)
}

// write frames p as one message of opcode op, compressed if the
// connection negotiated permessage-deflate and p is a data message of at
// least the threshold. Any goroutine.
func (c *conn) write(op ws.OpCode, p []byte) {
	if c.ob.begin() {
		if d := c.deflate(); d != nil && !op.IsControl() && len(p) >= d.threshold {
			c.ob.out.B = wsframe.AppendDeflatedFrame(c.ob.out.B, op, p, d.level)
		} else {
			c.ob.out.B = wsframe.AppendFrame(c.ob.out.B, op, p)
		}
		c.commit()
	}
}

// writeRaw queues bytes as they are. Any goroutine.
func (c *conn) writeRaw(p []byte) {
	if c.ob.begin() {
		c.ob.out.B = append(c.ob.out.B, p...)
		c.commit()
	}
}

// writeClose queues p and closes the connection after it is written.
func (c *conn) writeClose(p []byte, cause error) {
	if c.ob.appendClose(p, cause, c.srv.cfg.MaxOutboundBytes) {
		c.lp.markDirty(c)
	}
}

// commit ends an append begun with c.ob.begin and queues the connection
// for its loop's flush.
func (c *conn) commit() {
	if c.ob.commit(c.srv.cfg.MaxOutboundBytes) {
		c.lp.markDirty(c)
	}
}

// flush writes the pending bytes with one syscall. Loop-only.
func (c *conn) flush() {
	old := c.ob.backlog.Load()
	c.lp.flushReading(c.gc, &c.ob, &c.readOff)
	if n := c.ob.backlog.Load(); n != old {
		c.lp.trackOutbound(c, old, n)
	}
}

func (c *conn) onClose(err error) {
	cause, _ := c.ob.kill()
	if old := c.ob.backlog.Swap(0); old != 0 {
		c.lp.trackOutbound(c, old, 0)
	}
	c.lp.nConns.Add(-1)
	mode := c.mode
	c.mode = modeClosed
	c.putDecoder()
	if h := c.h; h != nil {
		x := h.x
		h.x = nil
		c.releaseHTTP()
		if x != nil {
			x.abort()
		}
	}
	if cause == ErrSlowConsumer {
		c.srv.slow.Add(1)
	}
	if c.fh != nil {
		if cause == nil && err != nil && !errors.Is(err, io.EOF) && mode == modeWS {
			cause = err // reset by peer and the like; EOF is a clean close
		}
		c.fh.OnClose(c, cause)
		c.fh = nil
	}
}

// WriteMessage implements eio.WSConn.
func (c *conn) WriteMessage(binary bool, p []byte) {
	c.write(messageOp(binary), p)
}

// WriteFrames implements eio.WSConn.
func (c *conn) WriteFrames(b []byte) { c.writeRaw(b) }

// Deflate implements eio.DeflateConn.
func (c *conn) Deflate() (threshold, level int, ok bool) {
	if d := c.deflate(); d != nil {
		return d.threshold, d.level, true
	}
	return 0, 0, false
}

// Close implements eio.WSConn.
func (c *conn) Close(code int) {
	b := outPool.Get()
	b.B = wsframe.AppendClose(b.B, ws.StatusCode(code), "")
	c.writeClose(b.B, nil)
	outPool.Put(b)
}

// Buffered implements eio.WSConn.
func (c *conn) Buffered() int { return c.ob.buffered() }

// Group implements eio.WSConn.
func (c *conn) Group() int { return c.lp.index }

// RemoteAddr implements eio.WSConn.
func (c *conn) RemoteAddr() string { return c.remote }
