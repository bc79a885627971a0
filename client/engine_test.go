package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/internal/testutil"
)

// fakePolling is a scripted Engine.IO polling server for behaviours a
// real server does not show on demand: silence (no pings), garbage.
type fakePolling struct {
	handshakes atomic.Int32
	// open is the handshake answer.
	open string
	// afterConnect is what the GET after the client's CONNECT returns;
	// later GETs hang until the client gives up.
	afterConnect string

	mu        sync.Mutex
	connected map[string]bool // sid → CONNECT received
}

func newFakePolling(t *testing.T, open, afterConnect string) (*fakePolling, string) {
	f := &fakePolling{open: open, afterConnect: afterConnect, connected: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakePolling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sid := q.Get("sid")
	switch {
	case r.Method == http.MethodGet && sid == "":
		f.handshakes.Add(1)
		_, _ = io.WriteString(w, f.open)
	case r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(string(body), "40") {
			f.mu.Lock()
			f.connected[sid] = true
			f.mu.Unlock()
		}
		_, _ = io.WriteString(w, "ok")
	default:
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			f.mu.Lock()
			ready := f.connected[sid]
			delete(f.connected, sid)
			f.mu.Unlock()
			if ready {
				_, _ = io.WriteString(w, f.afterConnect)
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		<-r.Context().Done()
	}
}

const fakeOpen = `0{"sid":"fake","upgrades":[],"pingInterval":100,"pingTimeout":100,"maxPayload":1000000}`

// TestPingTimeout: a server that stops pinging is given up after
// pingInterval+pingTimeout, with reason "ping timeout", and reconnected.
func TestPingTimeout(t *testing.T) {
	f, url := newFakePolling(t, fakeOpen, `40{"sid":"s1"}`)
	m := client.NewManager(url, client.Options{Transports: []string{client.Polling}, Reconnection: true, ReconnectionDelay: 50 * time.Millisecond})
	t.Cleanup(m.Close)
	s := m.Socket("/", client.SocketOptions{})
	disc := make(chan string, 4)
	s.OnDisconnect(func(r string) { disc <- r })
	start := time.Now()
	if err := s.ConnectContext(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if r := next(t, disc, "disconnect"); r != client.ReasonPingTimeout {
		t.Fatalf("reason %q", r)
	}
	if el := time.Since(start); el < 150*time.Millisecond || el > 2*time.Second {
		t.Fatalf("ping timeout after %v, want about 200ms", el)
	}
	deadline := time.Now().Add(wait)
	for f.handshakes.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no reconnection after the ping timeout")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestParseError: a packet the client cannot read closes the connection
// with "parse error".
func TestParseError(t *testing.T) {
	for _, c := range []struct{ name, payload string }{
		{name: "unknown engine type", payload: "40{\"sid\":\"s1\"}\x1e9"},
		{name: "bad socket.io packet", payload: "40{\"sid\":\"s1\"}\x1e42{}"},
		{name: "bad base64", payload: "40{\"sid\":\"s1\"}\x1eb!!"},
		{name: "binary without header", payload: "40{\"sid\":\"s1\"}\x1ebAQI="},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, url := newFakePolling(t, fakeOpen, c.payload)
			m := client.NewManager(url, client.Options{Transports: []string{client.Polling}})
			t.Cleanup(m.Close)
			s := m.Socket("/", client.SocketOptions{})
			disc := make(chan string, 4)
			s.OnDisconnect(func(r string) { disc <- r })
			if err := s.ConnectContext(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if r := next(t, disc, "disconnect"); r != client.ReasonParseError {
				t.Fatalf("reason %q", r)
			}
		})
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestConnectFailures(t *testing.T) {
	for _, transport := range []string{client.Polling, client.WebSocket} {
		t.Run(transport, func(t *testing.T) {
			url := "http://" + deadAddr(t)
			// Without reconnection, the first failure is final.
			m := client.NewManager(url, client.Options{Transports: []string{transport}})
			s := m.Socket("/", client.SocketOptions{})
			if err := s.ConnectContext(ctxT(t)); err == nil || errors.Is(err, client.ErrReconnectFailed) {
				t.Fatalf("refused connection: %v", err)
			}

			// With it, attempts are retried up to ReconnectionAttempts.
			m = client.NewManager(url, client.Options{Transports: []string{transport}, Reconnection: true,
				ReconnectionAttempts: 2, ReconnectionDelay: 10 * time.Millisecond})
			s = m.Socket("/", client.SocketOptions{})
			var errs atomic.Int32
			s.OnConnectError(func(error) { errs.Add(1) })
			if err := s.ConnectContext(ctxT(t)); !errors.Is(err, client.ErrReconnectFailed) {
				t.Fatalf("after attempts: %v", err)
			}
			// The first attempt, two retries, then the final error.
			testutil.Eventually(t, wait, "4 connect errors", func() bool { return errs.Load() >= 4 })
			if n := errs.Load(); n != 4 {
				t.Fatalf("%d connect errors, want 4", n)
			}

			// A context ending first disconnects the socket.
			m = client.NewManager(url, client.Options{Transports: []string{transport}, Reconnection: true,
				ReconnectionDelay: 10 * time.Millisecond})
			s = m.Socket("/", client.SocketOptions{})
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if err := s.ConnectContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("with a context: %v", err)
			}
			if s.Active() {
				t.Fatal("still trying after ConnectContext gave up")
			}
		})
	}
}

// TestConnectTimeout: a server that accepts but never answers fails the
// attempt after Options.Timeout.
func TestConnectTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	for _, transport := range []string{client.Polling, client.WebSocket} {
		t.Run(transport, func(t *testing.T) {
			m := client.NewManager("http://"+l.Addr().String(), client.Options{Transports: []string{transport}, Timeout: 200 * time.Millisecond})
			s := m.Socket("/", client.SocketOptions{})
			start := time.Now()
			if err := s.ConnectContext(ctxT(t)); !errors.Is(err, client.ErrTimeout) {
				t.Fatalf("got %v, want ErrTimeout", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("timed out after %v", el)
			}
		})
	}
}

// TestHandshakeRefused: an HTTP error answer is reported with its status.
func TestHandshakeRefused(t *testing.T) {
	fx := goFixture(t)
	for _, transport := range []string{client.Polling, client.WebSocket} {
		t.Run(transport, func(t *testing.T) {
			m := client.NewManager(fx.url, client.Options{Transports: []string{transport}, Path: "/elsewhere/"})
			err := m.Socket("/", client.SocketOptions{}).ConnectContext(ctxT(t))
			var he *client.HandshakeError
			if !errors.As(err, &he) || he.Status != http.StatusNotFound {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		url  string
		opts client.Options
		auth any
	}{
		{name: "scheme", url: "ftp://127.0.0.1:1"},
		{name: "no host", url: "http://"},
		{name: "transport", url: "http://127.0.0.1:1", opts: client.Options{Transports: []string{"carrier-pigeon"}}},
		{name: "auth not an object", url: goFixture(t).url, auth: []int{1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := client.NewManager(c.url, c.opts)
			defer m.Close()
			if err := m.Socket("/", client.SocketOptions{Auth: c.auth}).ConnectContext(ctxT(t)); err == nil {
				t.Fatal("connected")
			}
		})
	}
}
