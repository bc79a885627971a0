package loop

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/wsframe"
)

// DialerConfig configures a Dialer. The zero value of every field selects
// the documented default.
type DialerConfig struct {
	// Loops is the number of client event loops. Default:
	// runtime.NumCPU().
	Loops int
	// MaxMessageBytes caps one WebSocket message from a server. Default
	// 1e6 (socket.io's maxHttpBufferSize); larger messages close the
	// connection with 1009.
	MaxMessageBytes int64
	// MaxOutboundBytes caps the bytes queued for one connection and not yet
	// taken by the kernel; past it the connection is closed with
	// ErrSlowConsumer. Default 8 MiB.
	MaxOutboundBytes int
	// MaxPausedInputBytes caps the input a connection may hold buffered
	// while its reading is paused (eio.ReadPauser): a server that goes on
	// sending past it is disconnected with ErrInputOverflow. Default
	// MaxMessageBytes + 4 MiB.
	MaxPausedInputBytes int
	// NetDial opens the TCP connection, e.g. to choose a source address.
	// Default: a zero net.Dialer's DialContext. Only *net.TCPConn and
	// *net.UnixConn results can move to an event loop.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for wss:// URLs. Default: a zero tls.Config with
	// the URL's host as ServerName.
	TLSConfig *tls.Config
	// Logger receives engine-level errors. Nil discards them.
	Logger *slog.Logger
	// MaskKey draws the masking key of each frame sent. Default: random
	// keys, as RFC 6455 §10.3 requires of clients exposed to untrusted
	// intermediaries. A load tool on loopback may use a fixed key.
	MaskKey func() [4]byte
}

func (c *DialerConfig) withDefaults() {
	if c.Loops <= 0 {
		c.Loops = runtime.NumCPU()
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1e6
	}
	if c.MaxOutboundBytes <= 0 {
		c.MaxOutboundBytes = 8 << 20
	}
	if c.MaxPausedInputBytes <= 0 {
		c.MaxPausedInputBytes = int(c.MaxMessageBytes) + pausedInputSlack
	}
	if c.NetDial == nil {
		var d net.Dialer
		c.NetDial = d.DialContext
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.MaskKey == nil {
		c.MaskKey = maskKey
	}
}

// Dialer opens client WebSocket connections whose frames are read and
// written by gnet event loops, so an open connection costs no goroutine:
// one process can hold as many connections as it has file descriptors.
//
// The TCP connect and the opening handshake run on the dialing goroutine
// with blocking I/O; the established connection then moves to a loop. TLS
// (wss://) connections cannot move, gnet having no TLS: they are served by
// a reader and a writer goroutine each instead.
type Dialer struct {
	cfg     DialerConfig
	cli     *gnet.Client
	handler dialHandler

	mu      sync.Mutex
	loops   map[gnet.EventLoop]*Loop // guarded by mu
	goConns map[*goConn]struct{}     // TLS connections; guarded by mu
}

// NewDialer starts cfg.Loops client event loops.
func NewDialer(cfg DialerConfig) (*Dialer, error) {
	cfg.withDefaults()
	d := &Dialer{cfg: cfg, loops: make(map[gnet.EventLoop]*Loop)}
	d.handler.d = d
	cli, err := gnet.NewClient(&d.handler,
		gnet.WithMulticore(cfg.Loops > 1),
		gnet.WithNumEventLoop(cfg.Loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(quietLogger{cfg.Logger}),
	)
	if err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	if err := cli.Start(); err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	d.cli = cli
	return d, nil
}

// Close closes every connection of the Dialer and stops its event loops.
// Connections see OnClose with ErrDialerClosed.
func (d *Dialer) Close() error {
	d.mu.Lock()
	gcs := make([]*goConn, 0, len(d.goConns))
	for c := range d.goConns {
		gcs = append(gcs, c)
	}
	d.mu.Unlock()
	for _, c := range gcs {
		c.mu.Lock()
		if c.closeErr == nil {
			c.closeErr = ErrDialerClosed
		}
		c.closing = true
		c.mu.Unlock()
		c.resumed.Broadcast()
		_ = c.nc.Close()
	}
	return d.cli.Stop()
}

// ErrDialerClosed is the OnClose cause of connections closed by
// Dialer.Close.
var ErrDialerClosed = errors.New("loop: dialer closed")

// HandshakeError is a refused WebSocket opening handshake: the server
// answered Status instead of 101.
type HandshakeError struct{ Status int }

// Error names the status.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("loop: websocket handshake refused with HTTP %d", e.Status)
}

// DialWebSocket connects to rawURL (ws:// or wss://), performs the opening
// handshake with the extra request headers in header, and returns the
// connection. Messages from the server go to h on the connection's event
// loop (for wss://, on its reader goroutine), one at a time; h may receive
// its first messages before DialWebSocket returns, with the connection as
// their first argument. ctx bounds the connect and the handshake only.
//
// On the returned eio.WSConn, WriteMessage sends one masked message and
// Close a close frame; WriteFrames takes complete unmasked frames (as a
// server would write them) and sends each masked.
func (d *Dialer) DialWebSocket(ctx context.Context, rawURL string, header http.Header, h eio.FrameHandler) (eio.WSConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	var secure bool
	switch u.Scheme {
	case "ws":
	case "wss":
		secure = true
	default:
		return nil, fmt.Errorf("loop: unsupported websocket scheme %q", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		if secure {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	nc, err := d.cfg.NetDial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	raw := nc
	if secure {
		cfg := d.cfg.TLSConfig
		if cfg == nil || cfg.ServerName == "" {
			if cfg == nil {
				cfg = &tls.Config{}
			} else {
				cfg = cfg.Clone()
			}
			cfg.ServerName = u.Hostname()
		}
		nc = tls.Client(nc, cfg)
	}
	// Bound the blocking handshake by ctx: its deadline directly, its
	// cancellation by expiring the deadline (no goroutine unless it fires).
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	var hsHeader ws.HandshakeHeader
	if len(header) > 0 {
		hsHeader = ws.HandshakeHeaderHTTP(header)
	}
	dialer := ws.Dialer{Header: hsHeader}
	br, _, err := dialer.Upgrade(nc, u)
	if !stop() || ctx.Err() != nil {
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		_ = nc.Close()
		var se ws.StatusError
		if errors.As(err, &se) {
			return nil, &HandshakeError{Status: int(se)}
		}
		if ce := ctx.Err(); ce != nil {
			return nil, ce
		}
		var ne net.Error
		if _, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() {
			// The connection's deadline (ctx's) can fire just before ctx's
			// own timer does.
			return nil, context.DeadlineExceeded
		}
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	var pre []byte
	if br != nil {
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			pre = append([]byte(nil), b...)
		}
		ws.PutReader(br)
	}
	if secure {
		return d.serveGoroutines(nc, pre, h), nil
	}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		// A custom NetDial returned something gnet cannot adopt.
		return d.serveGoroutines(nc, pre, h), nil
	}
	ad := &dialAdoption{pre: pre, fh: h}
	if _, err := d.cli.EnrollContext(nc, ad); err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	if ad.c == nil {
		return nil, errors.New("loop: dialed connection was not opened")
	}
	return ad.c, nil
}

// loopFor maps a gnet loop to its Loop, creating it on first use.
func (d *Dialer) loopFor(el gnet.EventLoop) *Loop {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.loops[el]
	if !ok {
		l = &Loop{el: el, index: len(d.loops)}
		d.loops[el] = l
	}
	return l
}

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
	off := 0
	for off < len(buf) && !c.closed && !c.readWant.Load() {
		n, msg, ok, err := c.dec.Decode(buf[off:])
		if err != nil {
			code := ws.StatusProtocolError
			var ce *wsframe.CloseError
			if errors.As(err, &ce) {
				code = ce.Code
			}
			c.sendClose(code, err)
			break
		}
		if n == 0 {
			break
		}
		off += n
		if !ok {
			continue
		}
		switch msg.Kind {
		case wsframe.KindText, wsframe.KindBinary:
			c.fh.OnMessage(c, msg.Kind == wsframe.KindBinary, msg.Payload)
		case wsframe.KindPing:
			c.write(ws.OpPong, msg.Payload)
		case wsframe.KindClose:
			c.gotClose.Store(true)
			code := msg.CloseCode
			if code == ws.StatusNoStatusRcvd {
				code = 0
			}
			c.sendClose(code, nil)
		}
	}
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
	op := ws.OpText
	if binary {
		op = ws.OpBinary
	}
	c.write(op, p)
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
		off := 0
		stop := false
		for off < len(buf) && !stop {
			c.waitResumed()
			n, msg, ok, err := c.dec.Decode(buf[off:])
			if err != nil {
				code := ws.StatusProtocolError
				var ce *wsframe.CloseError
				if errors.As(err, &ce) {
					code = ce.Code
				}
				c.closeWith(code, err)
				stop = true
				break
			}
			if n == 0 {
				break
			}
			off += n
			if !ok {
				continue
			}
			switch msg.Kind {
			case wsframe.KindText, wsframe.KindBinary:
				c.fh.OnMessage(c, msg.Kind == wsframe.KindBinary, msg.Payload)
			case wsframe.KindPing:
				c.write(ws.OpPong, msg.Payload)
			case wsframe.KindClose:
				c.mu.Lock()
				c.gotClose = true
				c.mu.Unlock()
				code := msg.CloseCode
				if code == ws.StatusNoStatusRcvd {
					code = 0
				}
				c.closeWith(code, nil)
				stop = true
			}
		}
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
	op := ws.OpText
	if binary {
		op = ws.OpBinary
	}
	c.write(op, p)
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
