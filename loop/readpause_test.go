package loop

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/sioloop/sioloop/internal/testutil"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/wsframe"
)

// floodTotal is what a flooding peer tries to send: far more than the
// kernel's socket buffers and the paused-input cap hold together.
const (
	floodTotal = 64 << 20
	floodMsg   = 4 << 10 // payload bytes per message
)

// floodStream encodes floodTotal bytes of binary messages; message i
// starts with i (8 bytes, big endian) and is filled with byte(i).
func floodStream(client bool) []byte {
	out := make([]byte, 0, floodTotal+floodTotal/floodMsg*14)
	p := make([]byte, floodMsg)
	for i := 0; len(out) < floodTotal; i++ {
		for j := range p {
			p[j] = byte(i)
		}
		binary.BigEndian.PutUint64(p, uint64(i))
		if client {
			out = wsframe.AppendClientFrame(out, ws.OpBinary, p, [4]byte{1, 2, 3, 4})
		} else {
			out = wsframe.AppendFrame(out, ws.OpBinary, p)
		}
	}
	return out
}

// seqChecker is a FrameHandler that checks messages arrive in order,
// intact, and never while reading is paused.
type seqChecker struct {
	mu     sync.Mutex
	paused bool // set before PauseRead, cleared before ResumeRead
	next   uint64
	err    error
	want   uint64        // report on done once next reaches want
	done   chan struct{} // closed then
	closed chan error
	opened chan eio.WSConn
}

func newSeqChecker(want uint64) *seqChecker {
	return &seqChecker{want: want, done: make(chan struct{}), closed: make(chan error, 1), opened: make(chan eio.WSConn, 1)}
}

func (h *seqChecker) OnMessage(_ eio.WSConn, binary_ bool, p []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return
	}
	switch {
	case h.paused:
		h.err = fmt.Errorf("message %d delivered while reading was paused", h.next)
	case !binary_ || len(p) != floodMsg || binary.BigEndian.Uint64(p) != h.next:
		h.err = fmt.Errorf("message %d: got %d bytes starting %x", h.next, len(p), p[:min(8, len(p))])
	default:
		for _, b := range p[8:] {
			if b != byte(h.next) {
				h.err = fmt.Errorf("message %d corrupted", h.next)
				return
			}
		}
	}
	h.next++
	if h.next == h.want {
		close(h.done)
	}
}

func (h *seqChecker) OnClose(_ eio.WSConn, err error) { h.closed <- err }

func (h *seqChecker) setPaused(v bool) {
	h.mu.Lock()
	h.paused = v
	h.mu.Unlock()
}

func (h *seqChecker) result() (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next, h.err
}

// onLoop runs f on lp and waits for it.
func onLoop(t *testing.T, lp *Loop, f func()) {
	t.Helper()
	done := make(chan struct{})
	lp.Post(func() { f(); close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("loop did not run the op")
	}
}

// loopProbe reports, from c's loop, what c buffers and whether its
// socket is out of the poller.
func loopProbe(t *testing.T, lp *Loop, gc gnet.Conn, readOff *bool) func() (int, bool) {
	return func() (n int, off bool) {
		onLoop(t, lp, func() { n, off = gc.InboundBuffered(), *readOff })
		return n, off
	}
}

// floodPaused pauses c, lets peer write the flood until its writes stall
// (a write deadline of a few seconds, which a server that reads would
// never hit), checks what c buffers (probe), then resumes and requires
// every message delivered in order.
func floodPaused(t *testing.T, peer net.Conn, c eio.WSConn, probe func() (buffered int, off bool), h *seqChecker, stream []byte, limit int) {
	t.Helper()
	h.setPaused(true)
	c.(eio.ReadPauser).PauseRead()
	c.(eio.ReadPauser).PauseRead() // idempotent
	if _, off := probe(); !off {
		t.Fatal("PauseRead did not take the socket out of the poller")
	}

	_ = peer.SetWriteDeadline(time.Now().Add(3 * time.Second))
	n, err := peer.Write(stream)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("the peer wrote %d of %d bytes to a paused connection (err %v): the server kept reading", n, len(stream), err)
	}
	buffered, _ := probe()
	t.Logf("paused: the peer got %d bytes into the kernel and server; the server buffers %d", n, buffered)
	if buffered > limit {
		t.Fatalf("a paused connection buffers %d bytes of input, want <= %d", buffered, limit)
	}
	if got, err := h.result(); err != nil {
		t.Fatal(err)
	} else if got != 0 {
		t.Fatalf("%d messages delivered while paused", got)
	}

	h.setPaused(false)
	c.(eio.ReadPauser).ResumeRead()
	c.(eio.ReadPauser).ResumeRead()
	_ = peer.SetWriteDeadline(time.Now().Add(time.Minute))
	if _, err := peer.Write(stream[n:]); err != nil {
		t.Fatalf("write after ResumeRead: %v", err)
	}
	select {
	case <-h.done:
	case err := <-h.closed:
		t.Fatalf("connection closed after ResumeRead: %v", err)
	case <-time.After(time.Minute):
		got, err := h.result()
		t.Fatalf("only %d of %d messages delivered after ResumeRead (%v)", got, h.want, err)
	}
	if _, err := h.result(); err != nil {
		t.Fatal(err)
	}
}

func streamMessages(stream []byte, client bool) uint64 {
	per := wsframe.HeaderSize(floodMsg) + floodMsg
	if client {
		per += 4
	}
	return uint64(len(stream) / per)
}

// TestPauseReadServerConn: a raw client floods a paused server
// connection with 64 MiB; the server buffers at most one gnet read of it,
// and after ResumeRead every message arrives, in order.
func TestPauseReadServerConn(t *testing.T) {
	stream := floodStream(true)
	h := newSeqChecker(streamMessages(stream, true))
	srv := NewServer(Config{Addr: freeAddr(t), Loops: 1, Handler: func(x eio.Exchange) {
		c, err := x.Upgrade(nil, h)
		if err != nil {
			x.Respond(http.StatusBadRequest, nil, nil)
			return
		}
		h.opened <- c
	}})
	runServer(t, srv)
	peer, _ := rawUpgrade(t, srv.cfg.Addr)
	c := recv(t, h.opened, "upgraded connection")
	sc := c.(*conn)
	floodPaused(t, peer, c, loopProbe(t, sc.lp, sc.gc, &sc.readOff), h, stream, 256<<10)
}

// TestPauseReadEnrolledConn: the same for a connection accepted by
// net/http and enrolled on an Enroller's loop.
func TestPauseReadEnrolledConn(t *testing.T) {
	stream := floodStream(true)
	h := newSeqChecker(streamMessages(stream, true))
	en, err := NewEnroller(Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { en.Stop(context.Background()) })
	enrolled := make(chan error, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			enrolled <- err
			return
		}
		fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			wsframe.AcceptKey(r.Header.Get("Sec-WebSocket-Key")))
		c, err := en.Enroll(nc, rw.Reader, h)
		if err == nil {
			h.opened <- c
		}
		enrolled <- err
	}))
	defer hs.Close()
	peer, _ := rawUpgrade(t, hs.Listener.Addr().String())
	if err := recv(t, enrolled, "enrollment"); err != nil {
		t.Fatal(err)
	}
	c := recv(t, h.opened, "enrolled connection")
	sc := c.(*conn)
	floodPaused(t, peer, c, loopProbe(t, sc.lp, sc.gc, &sc.readOff), h, stream, 256<<10)
}

// TestPauseReadDialedConn: the same for the client end of a connection
// opened with a Dialer, a raw server flooding it.
func TestPauseReadDialedConn(t *testing.T) {
	stream := floodStream(false)
	h := newSeqChecker(streamMessages(stream, false))
	addr, peers := floodingServer(t)
	d := newTestDialer(t, DialerConfig{Loops: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialWebSocket(ctx, "ws://"+addr+"/", nil, h)
	if err != nil {
		t.Fatal(err)
	}
	peer := recv(t, peers, "accepted peer")
	defer peer.Close()
	cc := c.(*clientConn)
	floodPaused(t, peer, c, loopProbe(t, cc.lp, cc.gc, &cc.readOff), h, stream, 256<<10)
}

// TestPauseReadTLSConn: the same for a wss:// connection, served by
// goroutines: its reader stops, so the flood stalls in the TLS proxy and
// kernel buffers.
func TestPauseReadTLSConn(t *testing.T) {
	stream := floodStream(false)
	h := newSeqChecker(streamMessages(stream, false))
	addr, peers := floodingServer(t)
	proxy, cfg := tlsProxy(t, addr)
	d := newTestDialer(t, DialerConfig{Loops: 1, TLSConfig: cfg})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialWebSocket(ctx, "wss://"+proxy+"/", nil, h)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(1000)
	peer := recv(t, peers, "accepted peer")
	defer peer.Close()
	gc := c.(*goConn)
	probe := func() (int, bool) {
		gc.mu.Lock()
		defer gc.mu.Unlock()
		return 0, gc.paused // the reader's buffer is bounded by construction
	}
	floodPaused(t, peer, c, probe, h, stream, 0)
}

// floodingServer accepts one WebSocket connection by hand and hands over
// the raw server end, ready for frames.
func floodingServer(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	peers := make(chan net.Conn, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			nc.Close()
			return
		}
		fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			wsframe.AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
		peers <- nc
	}()
	return l.Addr().String(), peers
}

// TestPauseReadOverflowCloses: input that gets past a pause (here: the
// fallback of systems without the epoll mechanism, simulated by a cap
// below what is already buffered) closes the connection with
// ErrInputOverflow instead of growing.
func TestPauseReadOverflowCloses(t *testing.T) {
	h := newSeqChecker(1 << 62)
	srv := NewServer(Config{Addr: freeAddr(t), Loops: 1, MaxPausedInputBytes: 1, Handler: func(x eio.Exchange) {
		c, err := x.Upgrade(nil, h)
		if err != nil {
			x.Respond(http.StatusBadRequest, nil, nil)
			return
		}
		c.(eio.ReadPauser).PauseRead()
		h.opened <- c
	}})
	runServer(t, srv)
	peer, _ := rawUpgrade(t, srv.cfg.Addr)
	c := recv(t, h.opened, "upgraded connection")
	sc := c.(*conn)
	var off bool
	onLoop(t, sc.lp, func() { off = sc.readOff })
	if !off {
		t.Fatal("not paused")
	}
	// Undo the pause behind the conn's back, as gnet does after draining
	// its outbound buffer: the next read is let through.
	onLoop(t, sc.lp, func() { sc.lp.startReading(sc.gc) })
	frame := wsframe.AppendClientFrame(nil, ws.OpBinary, []byte("0123456789"), [4]byte{9, 9, 9, 9})
	if _, err := peer.Write(frame); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, h.closed, "close"); !errors.Is(err, ErrInputOverflow) {
		t.Fatalf("closed with %v, want ErrInputOverflow", err)
	}
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

func runServer(t *testing.T, srv *Server) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
	t.Cleanup(func() {
		_ = srv.Stop(context.Background())
		<-done
	})
}

// rawUpgrade opens a WebSocket connection by hand.
func rawUpgrade(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	const req = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	_ = nc.SetReadDeadline(time.Time{})
	return nc, br
}

// TestPauseReadWhileWriting: writes go on while reading is paused, and
// gnet re-arming EPOLLIN on its write path (when a write leaves bytes
// queued, and when it drains them) does not reopen the input: the server
// queues 16 MiB for a peer that floods without reading, the peer's writes
// stall, then the peer reads all of it and floods again, and stalls again
// with the server holding at most one extra read of input.
func TestPauseReadWhileWriting(t *testing.T) {
	stream := floodStream(true)
	h := newSeqChecker(streamMessages(stream, true))
	srv := NewServer(Config{Addr: freeAddr(t), Loops: 1, MaxOutboundBytes: 64 << 20, Handler: func(x eio.Exchange) {
		c, err := x.Upgrade(nil, h)
		if err != nil {
			x.Respond(http.StatusBadRequest, nil, nil)
			return
		}
		h.opened <- c
	}})
	runServer(t, srv)
	peer, br := rawUpgrade(t, srv.cfg.Addr)
	c := recv(t, h.opened, "upgraded connection")
	sc := c.(*conn)
	probe := loopProbe(t, sc.lp, sc.gc, &sc.readOff)
	h.setPaused(true)
	c.(eio.ReadPauser).PauseRead()

	// More than loopback's socket buffers take, so gnet queues the rest.
	const outMsgs, outSize = 256, 64 << 10
	out := make([]byte, outSize)
	for i := 0; i < outMsgs; i++ {
		c.WriteMessage(true, out)
	}
	var queued int
	// The op after the one that sees the writes runs after their flush.
	onLoop(t, sc.lp, func() {})
	onLoop(t, sc.lp, func() { queued = sc.gc.OutboundBuffered() })
	if queued == 0 {
		t.Fatal("the server's writes all fit in the kernel: nothing for gnet to drain")
	}
	written := 0
	stall := func(what string, limit int) {
		t.Helper()
		_ = peer.SetWriteDeadline(time.Now().Add(3 * time.Second))
		n, err := peer.Write(stream[written:])
		written += n
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("%s: the peer wrote %d bytes more (err %v): the server kept reading", what, n, err)
		}
		if buffered, off := probe(); !off || buffered > limit {
			t.Fatalf("%s: reading off %v, %d bytes buffered, want off and <= %d", what, off, buffered, limit)
		}
	}
	// The write that queued bytes made gnet re-arm EPOLLIN, and the pause
	// was re-applied right after it: no read got through.
	stall("while the server's output is queued", 0)

	// Read all the output: gnet drains its buffer and re-arms EPOLLIN.
	_ = peer.SetReadDeadline(time.Now().Add(time.Minute))
	for i := 0; i < outMsgs; i++ {
		hdr, err := ws.ReadHeader(br)
		if err != nil || hdr.Length != outSize {
			t.Fatalf("output message %d: %v %v", i, hdr, err)
		}
		if _, err := br.Discard(outSize); err != nil {
			t.Fatal(err)
		}
	}
	onLoop(t, sc.lp, func() { queued = sc.gc.OutboundBuffered() })
	if queued != 0 {
		t.Fatalf("%d bytes still queued after the peer read everything", queued)
	}
	// gnet's drain re-armed EPOLLIN unseen: one read (64 KiB) got in
	// before OnTraffic paused again.
	stall("after gnet drained its buffer", 64<<10)

	h.setPaused(false)
	c.(eio.ReadPauser).ResumeRead()
	_ = peer.SetWriteDeadline(time.Now().Add(time.Minute))
	if _, err := peer.Write(stream[written:]); err != nil {
		t.Fatalf("write after ResumeRead: %v", err)
	}
	select {
	case <-h.done:
	case err := <-h.closed:
		t.Fatalf("connection closed: %v", err)
	case <-time.After(time.Minute):
		got, err := h.result()
		t.Fatalf("only %d of %d messages delivered (%v)", got, h.want, err)
	}
	if _, err := h.result(); err != nil {
		t.Fatal(err)
	}
}

// TestPauseReadSeesClose: a peer that hangs up while its connection is
// paused is noticed (EPOLLRDHUP stays armed): OnClose runs without a
// resume.
func TestPauseReadSeesClose(t *testing.T) {
	h := newSeqChecker(1 << 62)
	srv := NewServer(Config{Addr: freeAddr(t), Loops: 1, Handler: func(x eio.Exchange) {
		c, err := x.Upgrade(nil, h)
		if err != nil {
			x.Respond(http.StatusBadRequest, nil, nil)
			return
		}
		h.opened <- c
	}})
	runServer(t, srv)
	peer, _ := rawUpgrade(t, srv.cfg.Addr)
	c := recv(t, h.opened, "upgraded connection")
	sc := c.(*conn)
	c.(eio.ReadPauser).PauseRead()
	if _, off := loopProbe(t, sc.lp, sc.gc, &sc.readOff)(); !off {
		t.Fatal("not paused")
	}
	peer.Close()
	recv(t, h.closed, "OnClose of a paused connection whose peer left")
}
