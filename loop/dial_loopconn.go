package loop

import (
	"errors"
	"io"
	"math/rand/v2"
	"sync/atomic"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/wsframe"
)

// A dialed connection served on the Dialer's event loops: gnet's handler
// for them and the client side of a WebSocket connection (masked writes,
// unmasked reads), which the Dialer hands to its caller as an eio.WSConn.

// dialAdoption is the gnet context of a dialed connection being enrolled.
type dialAdoption struct {
	pre []byte
	fh  eio.FrameHandler
	c   *clientConn
}

type dialHandler struct {
	gnet.BuiltinEventEngine
	d *Dialer
}

func (h *dialHandler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	ad, ok := gc.Context().(*dialAdoption)
	if !ok {
		return nil, gnet.Close
	}
	c := newClientConn(h.d, h.d.loopFor(gc.EventLoop()), gc, ad.fh)
	c.pre = ad.pre
	ad.c = c
	gc.SetContext(c)
	if len(c.pre) > 0 {
		// Frames that arrived with the handshake response: decode them
		// before (or, if bytes arrive first, together with) the next read.
		c.lp.Post(c.processPre)
	}
	return nil, gnet.None
}

func (h *dialHandler) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*clientConn)
	if !ok {
		return gnet.Close
	}
	if c.readWant.Load() {
		return c.pausedTraffic()
	}
	c.processFrames()
	c.flush()
	return gnet.None
}

func (h *dialHandler) OnClose(gc gnet.Conn, err error) gnet.Action {
	if c, ok := gc.Context().(*clientConn); ok {
		c.onClose(err)
	}
	return gnet.None
}

// clientConn is the client end of a WebSocket connection on an event loop.
type clientConn struct {
	d       *Dialer
	lp      *Loop
	gc      gnet.Conn
	remote  string
	flushFn func() // c.flush, bound once so posting it does not allocate

	// Loop-only state.
	fh      eio.FrameHandler
	dec     wsframe.Decoder
	pre     []byte // frame bytes read with the handshake response
	closed  bool   // a close frame was seen or sent; no more messages
	readOff bool   // the socket is out of EPOLLIN (readpause.go)

	readWant atomic.Bool // PauseRead called, ResumeRead not since; any goroutine

	ob       outbox      // pending writes; queued means a flush is posted
	gotClose atomic.Bool // the peer's close frame arrived
}

func newClientConn(d *Dialer, lp *Loop, gc gnet.Conn, fh eio.FrameHandler) *clientConn {
	c := &clientConn{d: d, lp: lp, gc: gc, fh: fh}
	if a := gc.RemoteAddr(); a != nil {
		c.remote = a.String()
	}
	c.dec.Client = true
	c.dec.MaxMessageSize = d.cfg.MaxMessageBytes
	c.flushFn = c.flush
	return c
}

// processPre decodes the bytes read with the handshake response. Loop-only.
func (c *clientConn) processPre() {
	if c.pre != nil {
		c.processFrames()
		c.flush()
	}
}

// processFrames decodes every complete frame buffered. Loop-only.
func (c *clientConn) processFrames() {
	buf, _ := c.gc.Peek(-1)
	usePre := c.pre != nil
	if usePre {
		c.pre = append(c.pre, buf...)
		_, _ = c.gc.Discard(len(buf))
		buf = c.pre
	}
	off, _ := dispatchFrames(&c.dec, buf, c)
	if usePre {
		if n := copy(c.pre, buf[off:]); n > 0 {
			c.pre = c.pre[:n]
		} else {
			c.pre = nil
		}
		return
	}
	if off > 0 {
		_, _ = c.gc.Discard(off)
	}
}

// readMore, message, pong, protocolError and peerClosed make clientConn
// the frameSink of dispatchFrames. Loop-only.
func (c *clientConn) readMore() bool { return !c.closed && !c.readWant.Load() }

func (c *clientConn) message(msg wsframe.Message) {
	c.fh.OnMessage(c, msg.Kind == wsframe.KindBinary, msg.Payload)
}

func (c *clientConn) pong(payload []byte) { c.write(ws.OpPong, payload) }

func (c *clientConn) protocolError(code ws.StatusCode, err error) { c.sendClose(code, err) }

func (c *clientConn) peerClosed(code ws.StatusCode) {
	c.gotClose.Store(true)
	c.sendClose(code, nil)
}

// sendClose queues a close frame and closes the connection after it; cause
// is what the frame handler will see (nil: clean). Loop-only.
func (c *clientConn) sendClose(code ws.StatusCode, cause error) {
	c.closed = true
	b := outPool.Get()
	b.B = wsframe.AppendClientClose(b.B, code, "", c.d.cfg.MaskKey())
	c.writeClose(b.B, cause)
	outPool.Put(b)
}

// maskKey draws a frame's masking key. math/rand/v2's global source is
// ChaCha8 seeded from the OS, unpredictable to the network as RFC 6455
// §10.3 asks, and needs no lock.
func maskKey() [4]byte {
	v := rand.Uint32()
	return [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}

// write frames p as one masked message of opcode op. Any goroutine.
func (c *clientConn) write(op ws.OpCode, p []byte) {
	if c.ob.begin() {
		c.ob.out.B = wsframe.AppendClientFrame(c.ob.out.B, op, p, c.d.cfg.MaskKey())
		c.commit()
	}
}

// writeClose queues p and closes the connection after it is written.
func (c *clientConn) writeClose(p []byte, cause error) {
	if c.ob.appendClose(p, cause, c.d.cfg.MaxOutboundBytes) {
		c.lp.Post(c.flushFn)
	}
}

// commit ends an append begun with c.ob.begin and posts the flush.
func (c *clientConn) commit() {
	if c.ob.commit(c.d.cfg.MaxOutboundBytes) {
		c.lp.Post(c.flushFn)
	}
}

// flush writes the pending bytes with one syscall. Loop-only.
func (c *clientConn) flush() { c.lp.flushReading(c.gc, &c.ob, &c.readOff) }

func (c *clientConn) onClose(err error) {
	cause, closeIssued := c.ob.kill()
	clean := c.gotClose.Load() || closeIssued
	c.closed = true
	c.dec.Release()
	c.pre = nil
	if cause == nil && !clean {
		switch {
		case err == nil:
			// gnet closes connections without an error only when its
			// engine stops.
			cause = ErrDialerClosed
		case errors.Is(err, io.EOF):
			// The server closed TCP without a close frame: socket.io's
			// "transport close", not an error.
		default:
			cause = err
		}
	}
	if c.fh != nil {
		c.fh.OnClose(c, cause)
		c.fh = nil
	}
}

// WriteMessage implements eio.WSConn: p is sent as one masked message.
func (c *clientConn) WriteMessage(binary bool, p []byte) {
	c.write(messageOp(binary), p)
}

// WriteFrames implements eio.WSConn: b holds complete unmasked frames;
// each is sent masked.
func (c *clientConn) WriteFrames(b []byte) {
	if c.ob.begin() {
		c.ob.out.B = appendMasked(c.ob.out.B, b, c.d.cfg.MaskKey)
		c.commit()
	}
}

// appendMasked re-encodes unmasked frames as masked ones. It stops at the
// first incomplete frame.
func appendMasked(dst, b []byte, key func() [4]byte) []byte {
	for len(b) >= 2 {
		b0, l7 := b[0], int(b[1]&0x7F)
		h, n := 2, l7
		switch l7 {
		case 126:
			if len(b) < 4 {
				return dst
			}
			h, n = 4, int(b[2])<<8|int(b[3])
		case 127:
			if len(b) < 10 {
				return dst
			}
			var v uint64
			for _, x := range b[2:10] {
				v = v<<8 | uint64(x)
			}
			if v > uint64(len(b)) {
				return dst
			}
			h, n = 10, int(v)
		}
		if len(b) < h+n {
			return dst
		}
		if b0&0x80 == 0 {
			// Not final: keep the fragment's header bits as they are.
			at := len(dst)
			dst = wsframe.AppendClientFrame(dst, ws.OpCode(b0&0x0F), b[h:h+n], key())
			dst[at] = b0
		} else {
			dst = wsframe.AppendClientFrame(dst, ws.OpCode(b0&0x0F), b[h:h+n], key())
		}
		b = b[h+n:]
	}
	return dst
}

// Close implements eio.WSConn: a close frame, then the TCP close.
func (c *clientConn) Close(code int) {
	b := outPool.Get()
	b.B = wsframe.AppendClientClose(b.B, ws.StatusCode(code), "", c.d.cfg.MaskKey())
	c.writeClose(b.B, nil)
	outPool.Put(b)
}

// Buffered implements eio.WSConn.
func (c *clientConn) Buffered() int { return c.ob.buffered() }

// Group implements eio.WSConn.
func (c *clientConn) Group() int { return c.lp.index }

// RemoteAddr implements eio.WSConn.
func (c *clientConn) RemoteAddr() string { return c.remote }
