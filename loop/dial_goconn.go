package loop

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/wsframe"
)

// A dialed connection gnet cannot adopt (TLS), served by a reader and a
// writer goroutine instead, behind the same eio.WSConn.

// serveGoroutines runs a connection gnet cannot adopt (TLS) on a reader
// and a writer goroutine.
func (d *Dialer) serveGoroutines(nc net.Conn, pre []byte, h eio.FrameHandler) eio.WSConn {
	c := &goConn{d: d, nc: nc, fh: h, wake: make(chan struct{}, 1), writerDone: make(chan struct{})}
	c.resumed = sync.NewCond(&c.mu)
	c.dec.Client = true
	c.dec.MaxMessageSize = d.cfg.MaxMessageBytes
	if a := nc.RemoteAddr(); a != nil {
		c.remote = a.String()
	}
	d.mu.Lock()
	if d.goConns == nil {
		d.goConns = make(map[*goConn]struct{})
	}
	d.goConns[c] = struct{}{}
	d.mu.Unlock()
	go c.writeLoop()
	go c.readLoop(pre)
	return c
}

// goConn is the client end of a WebSocket connection served by goroutines.
type goConn struct {
	d      *Dialer
	nc     net.Conn
	remote string
	wake   chan struct{} // signals the writer; capacity 1
	// writerDone is closed when the writer goroutine ends.
	writerDone chan struct{}

	// Reader goroutine only.
	fh  eio.FrameHandler
	dec wsframe.Decoder

	mu       sync.Mutex
	out      []byte // guarded by mu
	closing  bool   // close once out is written; guarded by mu
	dead     bool   // the connection is closed; guarded by mu
	gotClose bool   // guarded by mu
	closeErr error  // guarded by mu
	pending  int    // bytes handed to the writer, not yet written; guarded by mu
	paused   bool   // PauseRead called, ResumeRead not since; guarded by mu
	// resumed wakes the reader waiting while paused (on mu): at
	// ResumeRead and when the connection starts closing.
	resumed *sync.Cond
}

// readBufSize is the goConn read size; a frame larger than the buffer
// grows it up to the message limit.
const readBufSize = 16 << 10

func (c *goConn) readLoop(pre []byte) {
	buf := make([]byte, 0, max(readBufSize, len(pre)))
	buf = append(buf, pre...)
	var rerr error
	for {
		off, stop := dispatchFrames(&c.dec, buf, c)
		if stop {
			break
		}
		buf = buf[:copy(buf, buf[off:])]
		c.waitResumed()
		if len(buf) == cap(buf) {
			if int64(cap(buf)) > c.d.cfg.MaxMessageBytes+wsframe.MaxClientHeaderSize {
				c.closeWith(ws.StatusMessageTooBig, errors.New("loop: frame too large"))
				break
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := c.nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			rerr = err
			break
		}
	}
	c.dec.Release()
	// Wait for the writer to send what is queued (the close frame), then
	// make sure the connection is down.
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.signal()
	t := time.NewTimer(time.Second)
	select {
	case <-c.writerDone:
	case <-t.C: // a peer that does not read must not hold us
	}
	t.Stop()
	_ = c.nc.Close()
	c.mu.Lock()
	cause := c.closeErr
	clean := c.gotClose
	c.dead = true
	c.mu.Unlock()
	if cause == nil && !clean && rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, net.ErrClosed) {
		cause = rerr
	}
	c.d.mu.Lock()
	delete(c.d.goConns, c)
	c.d.mu.Unlock()
	c.fh.OnClose(c, cause)
}

// readMore, message, pong, protocolError and peerClosed make goConn the
// frameSink of dispatchFrames. Reader goroutine only.
func (c *goConn) readMore() bool {
	c.waitResumed()
	return true
}

func (c *goConn) message(msg wsframe.Message) {
	c.fh.OnMessage(c, msg.Kind == wsframe.KindBinary, msg.Payload)
}

func (c *goConn) pong(payload []byte) { c.write(ws.OpPong, payload) }

func (c *goConn) protocolError(code ws.StatusCode, err error) { c.closeWith(code, err) }

func (c *goConn) peerClosed(code ws.StatusCode) {
	c.mu.Lock()
	c.gotClose = true
	c.mu.Unlock()
	c.closeWith(code, nil)
}

func (c *goConn) writeLoop() {
	defer close(c.writerDone)
	var b []byte
	for range c.wake {
		c.mu.Lock()
		b, c.out = c.out, b[:0]
		c.pending = len(b)
		closing, dead := c.closing, c.dead
		c.mu.Unlock()
		if dead {
			return
		}
		if len(b) > 0 {
			if _, err := c.nc.Write(b); err != nil {
				_ = c.nc.Close() // the reader sees the error and reports it
				c.mu.Lock()
				c.pending = 0
				c.closing = true
				c.mu.Unlock()
				c.resumed.Broadcast()
				return
			}
		}
		c.mu.Lock()
		c.pending = 0
		more := len(c.out) > 0
		c.mu.Unlock()
		if closing && !more {
			// Half-close so the server sees our close frame followed by
			// EOF, and the reader ends on the server's answer.
			if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
				_ = tc.CloseWrite()
			} else {
				_ = c.nc.Close()
			}
			return
		}
	}
}

func (c *goConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *goConn) closeWith(code ws.StatusCode, cause error) {
	c.mu.Lock()
	if c.closing || c.dead {
		c.mu.Unlock()
		return
	}
	c.out = wsframe.AppendClientClose(c.out, code, "", c.d.cfg.MaskKey())
	c.closing = true
	if c.closeErr == nil {
		c.closeErr = cause
	}
	c.mu.Unlock()
	c.resumed.Broadcast()
	c.signal()
}

func (c *goConn) write(op ws.OpCode, p []byte) {
	c.mu.Lock()
	if c.closing || c.dead {
		c.mu.Unlock()
		return
	}
	if len(c.out)+c.pending+len(p) > c.d.cfg.MaxOutboundBytes {
		c.out = c.out[:0]
		c.closing = true
		c.closeErr = ErrSlowConsumer
		c.mu.Unlock()
		c.resumed.Broadcast()
		_ = c.nc.Close()
		return
	}
	c.out = wsframe.AppendClientFrame(c.out, op, p, c.d.cfg.MaskKey())
	c.mu.Unlock()
	c.signal()
}

// WriteMessage implements eio.WSConn.
func (c *goConn) WriteMessage(binary bool, p []byte) {
	c.write(messageOp(binary), p)
}

// WriteFrames implements eio.WSConn: b holds complete unmasked frames.
func (c *goConn) WriteFrames(b []byte) {
	c.mu.Lock()
	if c.closing || c.dead {
		c.mu.Unlock()
		return
	}
	c.out = appendMasked(c.out, b, c.d.cfg.MaskKey)
	c.mu.Unlock()
	c.signal()
}

// Close implements eio.WSConn.
func (c *goConn) Close(code int) { c.closeWith(ws.StatusCode(code), nil) }

// Buffered implements eio.WSConn.
func (c *goConn) Buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.out) + c.pending
}

// Group implements eio.WSConn: goroutine-served connections are all in
// group 0.
func (c *goConn) Group() int { return 0 }

// RemoteAddr implements eio.WSConn.
func (c *goConn) RemoteAddr() string { return c.remote }
