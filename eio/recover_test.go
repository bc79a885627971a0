package eio_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
)

// logSink collects log records as JSON lines.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// request runs one request with header values set and returns status and body.
func (e *engine) request(t *testing.T, method, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A panic in an application callback answers 500, is logged with the
// request and the stack, and the server goes on serving.
func TestCallbackPanicsAreContained(t *testing.T) {
	const panicHeader = "X-Panic"
	panics := func(r *http.Request) bool { return r.Header.Get(panicHeader) != "" }
	tests := []struct {
		name     string
		callback string // as logged
		cfg      func(cfg *eio.Config)
		onConn   func(s *eio.Session)
	}{
		{name: "AllowRequest", callback: "AllowRequest", cfg: func(cfg *eio.Config) {
			cfg.AllowRequest = func(r *http.Request) error {
				if panics(r) {
					panic("boom")
				}
				return nil
			}
		}},
		{name: "CORS origin", callback: "CORS.AllowOrigin", cfg: func(cfg *eio.Config) {
			cfg.CORS = &eio.CORS{AllowOrigin: func(origin string) bool {
				if origin == "http://panic.example" {
					panic("boom")
				}
				return true
			}}
		}},
		{name: "Headers", callback: "Headers", cfg: func(cfg *eio.Config) {
			cfg.Headers = func(h http.Header, r *http.Request) {
				if panics(r) {
					panic("boom")
				}
			}
		}},
		{name: "InitialHeaders", callback: "InitialHeaders", cfg: func(cfg *eio.Config) {
			cfg.InitialHeaders = func(h http.Header, r *http.Request) {
				if panics(r) {
					panic("boom")
				}
			}
		}},
		{name: "OnConnection", callback: "OnConnection", onConn: func(s *eio.Session) {
			if panics(s.Request()) {
				panic("boom")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &logSink{}
			cfg := quietPing
			cfg.Logger = slog.New(slog.NewJSONHandler(sink, nil))
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			e := startEngine(t, cfg, tc.onConn)
			bad := map[string]string{panicHeader: "1", "Origin": "http://panic.example"}
			status, body := e.request(t, "GET", e.url("http", "EIO=4&transport=polling"), bad)
			if status != 500 {
				t.Fatalf("handshake with a panicking %s: %d %q, want 500", tc.callback, status, body)
			}
			log := sink.String()
			for _, want := range []string{`"msg":"eio: panic in ` + tc.callback + `"`, `"method":"GET"`, `"path":"/engine.io/"`, `"remote":"127.0.0.1:`, `"panic":"boom"`, `recover_test.go`} {
				if !strings.Contains(log, want) {
					t.Fatalf("log lacks %s:\n%s", want, log)
				}
			}
			if n := e.Count(); n != 0 {
				t.Fatalf("%d sessions left after the failed handshake", n)
			}
			// The next request is served.
			p := e.openPolling(t)
			if status, body := p.post(t, "4hi"); status != 200 || body != "ok" {
				t.Fatalf("POST after the panic: %d %q", status, body)
			}
			eventually(t, "the message", func() bool { return len(e.messages(p.sid)) == 1 })
		})
	}
}

// An upgrade request whose callback panics gets the 500 instead of its
// 101; one whose OnConnection panics (it runs once the WebSocket is open)
// is closed.
func TestCallbackPanicOnWebSocketHandshake(t *testing.T) {
	var fail atomic.Bool
	sink := &logSink{}
	cfg := quietPing
	cfg.Logger = slog.New(slog.NewJSONHandler(sink, nil))
	cfg.AllowRequest = func(r *http.Request) error {
		if fail.Load() && r.URL.Query().Get("panic") == "allow" {
			panic("boom")
		}
		return nil
	}
	e := startEngine(t, cfg, func(s *eio.Session) {
		if s.Request().URL.Query().Get("panic") == "conn" {
			panic("boom")
		}
	})
	fail.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, _, _, err := ws.Dialer{}.Dial(ctx, e.url("ws", "EIO=4&transport=websocket&panic=allow"))
	var se ws.StatusError
	if !errors.As(err, &se) || int(se) != 500 {
		t.Fatalf("upgrade with a panicking AllowRequest: %v, want status 500", err)
	}
	c := dialWS(t, e.url("ws", "EIO=4&transport=websocket&panic=conn"))
	if m := c.next(t); !strings.HasPrefix(m, "0{") {
		t.Fatalf("first message %q, want the open packet", m)
	}
	c.expectClose(t, -1)
	log := sink.String()
	for _, want := range []string{"eio: panic in AllowRequest", "eio: panic in OnConnection"} {
		if !strings.Contains(log, want) {
			t.Fatalf("log lacks %q:\n%s", want, log)
		}
	}
	eventually(t, "no session left", func() bool { return e.Count() == 0 })
	c2, sid := e.openWS(t)
	c2.send(t, "4hi")
	eventually(t, "the next session's message", func() bool { return len(e.messages(sid)) == 1 })
}
