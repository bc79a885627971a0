package sio_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/sio"
)

// logSink collects a server's log output for assertions.
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

// waitPanicLog waits for a record of a contained panic naming every one
// of attrs (key=value) and carrying a stack that shows the test's frame.
func (l *logSink) waitPanicLog(t *testing.T, attrs ...string) {
	t.Helper()
	eventually(t, "the panic's log record with "+strings.Join(attrs, " "), func() bool {
		for _, line := range strings.Split(l.String(), "\n") {
			if !strings.Contains(line, "panic in an application callback") ||
				!strings.Contains(line, "goroutine ") || !strings.Contains(line, "panic_test.go") {
				continue
			}
			ok := true
			for _, a := range attrs {
				ok = ok && strings.Contains(line, a)
			}
			if ok {
				return true
			}
		}
		return false
	})
}

// expectGone reads until the server ends the connection (close frame or
// EOF), skipping anything sent before.
func expectGone(t *testing.T, c *wsClient) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		m, err := c.readMessage(time.Until(deadline))
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection of the panicking socket is still open after %v", wait)
			}
			return // EOF or reset: closed
		}
		if m.op == ws.OpClose {
			return
		}
	}
}

var panicConnectRE = regexp.MustCompile(`^40(/[^,]*,)?\{"sid":"([A-Za-z0-9_-]{20})"\}$`)

// TestPanicsAreContained makes each kind of application callback panic for
// one client: the process must live on, that socket's connection close, a
// log record name the socket id and namespace and carry the stack, and a
// second client on the same server (and event loop) keep exchanging acked
// events.
func TestPanicsAreContained(t *testing.T) {
	boom := func(s *sio.Socket, ids chan<- string) {
		ids <- s.ID()
		panic("boom from the test")
	}
	tests := []struct {
		name string
		nsp  string // namespace the bad client joins
		auth string // CONNECT payload of the bad client
		send []string
		// setup registers the panicking callback; it reports the id of
		// the socket it panics for on ids.
		setup func(srv *sio.Server, ids chan<- string)
	}{
		{name: "On", send: []string{`42["boom"]`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) { s.On("boom", func(*sio.Event) { boom(s, ids) }) })
		}},
		{name: "Once", send: []string{`42["boom"]`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) { s.Once("boom", func(*sio.Event) { boom(s, ids) }) })
		}},
		{name: "OnAny", send: []string{`42["boom"]`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) {
				s.OnAny(func(ev *sio.Event) {
					if ev.Name == "boom" {
						boom(s, ids)
					}
				})
			})
		}},
		{name: "Socket.Use", send: []string{`42["boom"]`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) {
				s.Use(func(ev *sio.Event) error {
					if ev.Name == "boom" {
						boom(s, ids)
					}
					return nil
				})
			})
		}},
		{name: "OnError", send: []string{`42["boom"]`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) {
				s.Use(func(ev *sio.Event) error {
					if ev.Name == "boom" {
						return errors.New("refused")
					}
					return nil
				})
				s.OnError(func(error) { boom(s, ids) })
			})
		}},
		{name: "sio.Handle", send: []string{`421["boom",1]`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) {
				sio.Handle(s, "boom", func(_ context.Context, n int) (int, error) {
					boom(s, ids)
					return n, nil
				})
			})
		}},
		{name: "OnDisconnecting", send: []string{`41`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) {
				s.OnDisconnecting(func(string) { boom(s, ids) })
			})
		}},
		{name: "OnDisconnect", send: []string{`41`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) {
				s.OnDisconnect(func(string) { boom(s, ids) })
			})
		}},
		{name: "OnJoinRoom", send: []string{`42["boom"]`}, setup: func(srv *sio.Server, ids chan<- string) {
			srv.Of("/").OnJoinRoom(func(room, id string) {
				if room == "hot" {
					boom(srv.Of("/").Socket(id), ids)
				}
			})
			srv.OnConnection(func(s *sio.Socket) { s.On("boom", func(*sio.Event) { s.Join("hot") }) })
		}},
		{name: "OnCreateRoom", send: []string{`42["boom"]`}, setup: func(srv *sio.Server, ids chan<- string) {
			var joiner atomic.Pointer[sio.Socket]
			srv.Of("/").OnCreateRoom(func(room string) {
				if room == "hot" {
					boom(joiner.Load(), ids)
				}
			})
			srv.OnConnection(func(s *sio.Socket) {
				s.On("boom", func(*sio.Event) { joiner.Store(s); s.Join("hot") })
			})
		}},
		{name: "OnDeleteRoom", send: []string{`42["boom"]`}, setup: func(srv *sio.Server, ids chan<- string) {
			var leaver atomic.Pointer[sio.Socket]
			srv.Of("/").OnDeleteRoom(func(room string) {
				if room == "hot" {
					boom(leaver.Load(), ids)
				}
			})
			srv.OnConnection(func(s *sio.Socket) {
				s.On("boom", func(*sio.Event) { s.Join("hot"); leaver.Store(s); s.Leave("hot") })
			})
		}},
		{name: "OnCreateRoom of the socket's own room", setup: func(srv *sio.Server, ids chan<- string) {
			srv.Of("/").OnCreateRoom(func(room string) {
				if s := srv.Of("/").Socket(room); s != nil && strings.Contains(string(s.Auth()), "boom") {
					boom(s, ids)
				}
			})
		}, auth: `{"boom":1}`},
		{name: "Namespace.Use", auth: `{"boom":1}`, setup: func(srv *sio.Server, ids chan<- string) {
			srv.Use(func(s *sio.Socket) error {
				if strings.Contains(string(s.Auth()), "boom") {
					boom(s, ids)
				}
				return nil
			})
		}},
		{name: "ParentNamespace.Use", nsp: "/dyn-1", setup: func(srv *sio.Server, ids chan<- string) {
			srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).Use(func(s *sio.Socket) error {
				boom(s, ids)
				return nil
			})
		}},
		{name: "OnConnection", auth: `{"boom":1}`, setup: func(srv *sio.Server, ids chan<- string) {
			srv.OnConnection(func(s *sio.Socket) {
				if strings.Contains(string(s.Auth()), "boom") {
					boom(s, ids)
				}
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logSink{}
			ids := make(chan string, 4)
			ts := startServer(t, sio.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))}, func(srv *sio.Server) {
				tt.setup(srv, ids)
			})
			b := startBuddy(t, ts)
			mark := b.mark()

			c, _ := ts.openWS(t)
			connect := "40"
			if tt.nsp != "" {
				connect += tt.nsp + ","
			}
			c.send(t, connect+tt.auth)
			if len(tt.send) > 0 {
				if reply := c.next(t); panicConnectRE.FindStringSubmatch(reply) == nil {
					t.Fatalf("CONNECT reply %q", reply)
				}
			}
			for _, m := range tt.send {
				c.send(t, m)
			}
			var id string
			select {
			case id = <-ids:
			case <-time.After(wait):
				t.Fatal("the callback never ran")
			}
			expectGone(t, c)
			nsp := tt.nsp
			if nsp == "" {
				nsp = "/"
			}
			logs.waitPanicLog(t, `"sid":"`+id+`"`, `"namespace":"`+nsp+`"`, `"panic":"boom from the test"`)
			b.progress(t, mark)
		})
	}
}

// TestFallbackHandlerPanicIsContained makes the net/http fallback handler
// of ListenAndServe panic: the request gets a 500, the panic is logged
// with the method, path and stack, and the server goes on: the fallback
// answers the next request and a Socket.IO client keeps exchanging acked
// events.
func TestFallbackHandlerPanicIsContained(t *testing.T) {
	logs := &logSink{}
	srv := sio.NewServer(sio.Config{Loops: 1, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	srv.OnConnection(func(s *sio.Socket) { s.On("echo", echo) })
	addr := serve(t, srv, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("boom from the test")
		}
		_, _ = w.Write([]byte("fine"))
	}))
	ts := &testServer{Server: srv, t: t, addr: addr, hc: &http.Client{}}
	b := startBuddy(t, ts)
	mark := b.mark()

	status, body := ts.httpDo(t, http.MethodGet, "http://"+addr+"/boom", nil, nil)
	if status != http.StatusInternalServerError {
		t.Fatalf("GET /boom: %d %q, want 500", status, body)
	}
	logs.waitPanicLog(t, `"method":"GET"`, `"path":"/boom"`, `"panic":"boom from the test"`)
	if status, body := ts.httpDo(t, http.MethodGet, "http://"+addr+"/ok", nil, nil); status != 200 || body != "fine" {
		t.Fatalf("GET /ok after the panic: %d %q", status, body)
	}
	b.progress(t, mark)
}
