package loop

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/testutil"
	"github.com/sioloop/sioloop/wsframe"
)

// echoServer runs a loop.Server whose WebSocket connections greet with
// "hello" right after the 101 (so the greeting usually arrives in the
// same read as the handshake response) and echo every message; a request
// for /refuse is answered 403, and a message "close" makes the server
// close with 4000.
func echoServer(t *testing.T) (addr string, closes <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	_ = l.Close()
	ch := make(chan error, 16)
	srv := NewServer(Config{Addr: addr, Loops: 1, Handler: func(x eio.Exchange) {
		if x.Request().URL.Path == "/refuse" {
			x.Respond(http.StatusForbidden, nil, []byte("no"))
			return
		}
		c, err := x.Upgrade(nil, echoHandler{closes: ch})
		if err != nil {
			x.Respond(http.StatusBadRequest, nil, nil)
			return
		}
		c.WriteMessage(false, []byte("hello"))
	}})
	go func() { _ = srv.Serve() }()
	select {
	case <-srv.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("server not ready")
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return addr, ch
}

type echoHandler struct{ closes chan error }

func (h echoHandler) OnMessage(c eio.WSConn, binary bool, p []byte) {
	if !binary && string(p) == "close" {
		c.Close(4000)
		return
	}
	c.WriteMessage(binary, p)
}

// OnClose reports the close if someone listens; the loop must not block.
func (h echoHandler) OnClose(c eio.WSConn, err error) {
	select {
	case h.closes <- err:
	default:
	}
}

// collector is a client FrameHandler recording what it gets.
type collector struct {
	msgs   chan string // "t:" or "b:" + payload
	closed chan error
}

func newCollector() *collector {
	return &collector{msgs: make(chan string, 64), closed: make(chan error, 1)}
}

func (c *collector) OnMessage(_ eio.WSConn, binary bool, p []byte) {
	k := "t:"
	if binary {
		k = "b:"
	}
	c.msgs <- k + string(p)
}

func (c *collector) OnClose(_ eio.WSConn, err error) { c.closed <- err }

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

func newTestDialer(t *testing.T, cfg DialerConfig) *Dialer {
	t.Helper()
	if cfg.Loops == 0 {
		cfg.Loops = 2
	}
	d, err := NewDialer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// exercise runs one connection through greeting, echoes of every size
// class, pre-encoded frames and a client close.
func exercise(t *testing.T, d *Dialer, url string, serverCloses <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	col := newCollector()
	c, err := d.DialWebSocket(ctx, url, http.Header{"X-Test": {"1"}}, col)
	if err != nil {
		t.Fatal(err)
	}
	if got := recv(t, col.msgs, "greeting"); got != "t:hello" {
		t.Fatalf("greeting %q", got)
	}
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 300_000} {
		text := strings.Repeat("x", n)
		c.WriteMessage(false, []byte(text))
		if got := recv(t, col.msgs, "text echo"); got != "t:"+text {
			t.Fatalf("text echo of %d bytes: got %d bytes", n, len(got)-2)
		}
		bin := bytes.Repeat([]byte{0xFE}, n)
		c.WriteMessage(true, bin)
		if got := recv(t, col.msgs, "binary echo"); got != "b:"+string(bin) {
			t.Fatalf("binary echo of %d bytes: got %d bytes", n, len(got)-2)
		}
	}
	// Many messages queued at once leave together and come back in order.
	for i := range 100 {
		c.WriteMessage(false, []byte{byte('a' + i%26)})
	}
	for i := range 100 {
		if got := recv(t, col.msgs, "burst echo"); got != "t:"+string(rune('a'+i%26)) {
			t.Fatalf("burst %d: %q", i, got)
		}
	}
	// WriteFrames takes server-style frames, including fragments.
	var frames []byte
	frames = wsframe.AppendFrame(frames, ws.OpText, []byte("pre"))
	first := wsframe.AppendFrame(nil, ws.OpBinary, []byte{1, 2})
	first[0] &^= 0x80 // not final
	frames = append(frames, first...)
	frames = wsframe.AppendFrame(frames, ws.OpContinuation, []byte{3})
	c.WriteFrames(frames)
	if got := recv(t, col.msgs, "frame echo"); got != "t:pre" {
		t.Fatalf("frame echo %q", got)
	}
	if got := recv(t, col.msgs, "fragmented echo"); got != "b:\x01\x02\x03" {
		t.Fatalf("fragmented echo %q", got)
	}
	c.Close(1000)
	if err := recv(t, col.closed, "client close"); err != nil {
		t.Fatalf("client side of a clean close: %v", err)
	}
	if err := recv(t, serverCloses, "server close"); err != nil {
		t.Fatalf("server side of a clean close: %v", err)
	}
}

func TestDialWebSocket(t *testing.T) {
	addr, closes := echoServer(t)
	d := newTestDialer(t, DialerConfig{})
	exercise(t, d, "ws://"+addr+"/ws", closes)
}

func TestDialServerClose(t *testing.T) {
	addr, _ := echoServer(t)
	d := newTestDialer(t, DialerConfig{})
	col := newCollector()
	c, err := d.DialWebSocket(context.Background(), "ws://"+addr+"/", nil, col)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, col.msgs, "greeting")
	c.WriteMessage(false, []byte("close"))
	if err := recv(t, col.closed, "close"); err != nil {
		t.Fatalf("server close: %v", err)
	}
}

func TestDialRefused(t *testing.T) {
	addr, _ := echoServer(t)
	d := newTestDialer(t, DialerConfig{})
	_, err := d.DialWebSocket(context.Background(), "ws://"+addr+"/refuse", nil, newCollector())
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Fatalf("got %v", err)
	}
	if _, err := d.DialWebSocket(context.Background(), "http://"+addr+"/", nil, newCollector()); err == nil {
		t.Fatal("http scheme accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.DialWebSocket(ctx, "ws://"+addr+"/", nil, newCollector()); err == nil {
		t.Fatal("cancelled context accepted")
	}
}

// TestDialContextDeadline: a server that never answers the handshake is
// given up at the context's deadline.
func TestDialContextDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	d := newTestDialer(t, DialerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = d.DialWebSocket(ctx, "ws://"+l.Addr().String()+"/", nil, newCollector())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

// TestDialerClose: stopping the dialer closes its connections.
func TestDialerClose(t *testing.T) {
	addr, _ := echoServer(t)
	d, err := NewDialer(DialerConfig{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	if _, err := d.DialWebSocket(context.Background(), "ws://"+addr+"/", nil, col); err != nil {
		t.Fatal(err)
	}
	recv(t, col.msgs, "greeting")
	_ = d.Close()
	if err := recv(t, col.closed, "close"); !errors.Is(err, ErrDialerClosed) {
		t.Fatalf("close cause %v", err)
	}
}

// TestDialMessageLimit: a message from the server above MaxMessageBytes
// closes the connection with an error.
func TestDialMessageLimit(t *testing.T) {
	addr, _ := echoServer(t)
	d := newTestDialer(t, DialerConfig{MaxMessageBytes: 1000})
	col := newCollector()
	c, err := d.DialWebSocket(context.Background(), "ws://"+addr+"/", nil, col)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, col.msgs, "greeting")
	c.WriteMessage(false, make([]byte, 1001))
	var ce *wsframe.CloseError
	if err := recv(t, col.closed, "close"); !errors.As(err, &ce) || ce.Code != ws.StatusMessageTooBig {
		t.Fatalf("close cause %v", err)
	}
}

// TestDialNoGoroutines: connections on loops hold no goroutine.
func TestDialNoGoroutines(t *testing.T) {
	addr, _ := echoServer(t)
	d := newTestDialer(t, DialerConfig{})
	c0, err := d.DialWebSocket(context.Background(), "ws://"+addr+"/", nil, newCollector())
	if err != nil {
		t.Fatal(err)
	}
	defer c0.Close(1000)
	// A goroutine of c0's dial still winding down only raises the baseline.
	before := runtime.NumGoroutine()
	var conns []eio.WSConn
	for range 200 {
		c, err := d.DialWebSocket(context.Background(), "ws://"+addr+"/", nil, newCollector())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The dials' own goroutines wind down asynchronously: wait for the
	// count to settle; connections that held goroutines never let it.
	defer func() {
		for _, c := range conns {
			c.Close(1000)
		}
	}()
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("at most 10 goroutines more than the %d before 200 more connections", before),
		func() bool { return runtime.NumGoroutine()-before <= 10 })
}

// tlsProxy terminates TLS in front of addr and returns its address and a
// client TLS config that trusts it.
func tlsProxy(t *testing.T, addr string) (string, *tls.Config) {
	t.Helper()
	hs := httptest.NewUnstartedServer(http.NotFoundHandler())
	hs.StartTLS()
	cfg := hs.TLS.Clone()
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	hs.Close()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				_ = in.Close()
				continue
			}
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				} else {
					_ = dst.Close()
				}
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com"}
}

// TestDialTLS: wss:// connections, which gnet cannot adopt, run on
// goroutines with the same behaviour.
func TestDialTLS(t *testing.T) {
	addr, closes := echoServer(t)
	proxy, cfg := tlsProxy(t, addr)
	d := newTestDialer(t, DialerConfig{TLSConfig: cfg})
	exercise(t, d, "wss://"+proxy+"/ws", closes)
}

// TestDialerCloseTLS: Close also ends the goroutine-served connections.
func TestDialerCloseTLS(t *testing.T) {
	addr, _ := echoServer(t)
	proxy, cfg := tlsProxy(t, addr)
	d, err := NewDialer(DialerConfig{Loops: 1, TLSConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	if _, err := d.DialWebSocket(context.Background(), "wss://"+proxy+"/", nil, col); err != nil {
		t.Fatal(err)
	}
	recv(t, col.msgs, "greeting")
	_ = d.Close()
	if err := recv(t, col.closed, "close"); !errors.Is(err, ErrDialerClosed) {
		t.Fatalf("close cause %v", err)
	}
}

// TestAppendMaskedKey checks that WriteFrames re-masks each frame with the
// Dialer's MaskKey (a load tool sets the contract's all-zero key) and keeps
// a fragment's header bits.
func TestAppendMaskedKey(t *testing.T) {
	var src []byte
	src = wsframe.AppendFrame(src, ws.OpText, []byte("hello"))
	first := len(src)
	src = wsframe.AppendFrame(src, ws.OpBinary, []byte{1, 2, 3})
	src[first] &^= 0x80 // not final
	keys := [][4]byte{{1, 2, 3, 4}, {0, 0, 0, 0}}
	n := 0
	out := appendMasked(nil, src, func() [4]byte { k := keys[n%len(keys)]; n++; return k })
	if n != 2 {
		t.Fatalf("MaskKey called %d times, want 2", n)
	}
	h1, err := ws.ReadHeader(bytes.NewReader(out))
	if err != nil || !h1.Masked || h1.Mask != keys[0] || h1.OpCode != ws.OpText || !h1.Fin {
		t.Fatalf("first header %+v, %v", h1, err)
	}
	p := append([]byte(nil), out[2+4:2+4+5]...)
	ws.Cipher(p, h1.Mask, 0)
	if string(p) != "hello" {
		t.Fatalf("first payload %q", p)
	}
	h2, err := ws.ReadHeader(bytes.NewReader(out[2+4+5:]))
	if err != nil || h2.Mask != keys[1] || h2.OpCode != ws.OpBinary || h2.Fin {
		t.Fatalf("second header %+v, %v", h2, err)
	}
	if got := out[2+4+5+2+4:]; !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("zero-key payload %v, want it unchanged", got)
	}
}
