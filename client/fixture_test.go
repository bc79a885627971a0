package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sioloop/sioloop/internal/testutil"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// A fixture is a server application the tests run against: the same
// application implemented on our sio package and on the Node reference
// (testdata/server.js), each served twice, the second time with
// connection state recovery.
//
// Application, on "/", "/custom" and "/private" (whose middleware wants
// auth {"token":"secret"} and refuses with "not authorized", data
// {"reason":"bad token"}):
//   - on connection: emit "auth" with the CONNECT payload;
//   - "echo" (args...): emit "echo-back" with the same args, binary kept;
//   - "ack" (args..., ack): ack with the same args;
//   - "ask" (args...): emit "question" with ack (2 s) and the same args,
//     then "answer" with the first argument of the client's ack;
//   - "no-ack": nothing;
//   - "disconnect-me": disconnect the socket from its namespace;
//   - "drop": close the underlying connection;
//   - "join" (room, ack): join room, ack "ok";
//   - "news-then-drop" (room): emit "news" "n0" to room, 50 ms later close
//     the connection, 100 ms after that emit "news" "n1" and "n2" to room.
type fixture struct {
	name        string
	url         string // plain server
	recoveryURL string // server with connection state recovery
}

func inCI() bool { return testutil.InCI() }

// servers returns the fixtures to run a test against: ours always, the
// Node reference when its modules are installed (required under CI).
func servers(t *testing.T) []fixture {
	t.Helper()
	fs := []fixture{goFixture(t)}
	if fx, ok := nodeFixture(t); ok {
		fs = append(fs, fx)
	}
	return fs
}

var (
	goOnce sync.Once
	goFx   fixture
	goErr  error
)

// goFixture starts the Go servers once for the whole test binary.
func goFixture(t *testing.T) fixture {
	t.Helper()
	goOnce.Do(func() {
		plain, err := startGo(sio.Config{})
		if err != nil {
			goErr = err
			return
		}
		rec, err := startGo(sio.Config{ConnectionStateRecovery: &sio.RecoveryConfig{
			MaxDisconnectionDuration: 2 * time.Minute, SkipMiddlewares: true}})
		if err != nil {
			goErr = err
			return
		}
		goFx = fixture{name: "go", url: plain, recoveryURL: rec}
	})
	if goErr != nil {
		t.Fatal(goErr)
	}
	return goFx
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func startGo(cfg sio.Config) (string, error) {
	// Short heartbeats so that a client that does not answer pings fails
	// within a test; the timeout leaves room for a loaded machine (both
	// sides give up pingInterval+pingTimeout after the last ping or pong).
	cfg.PingInterval = 250 * time.Millisecond
	cfg.PingTimeout = 750 * time.Millisecond
	cfg.ConnectTimeout = time.Second
	cfg.Loops = 2
	cfg.CORS = &sio.CORS{Origins: []string{"*"}}
	srv := sio.NewServer(cfg)
	goApp(srv)
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(addr, nil) }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		return "", err
	case <-time.After(10 * time.Second):
		return "", errors.New("go fixture not ready in 10s")
	}
	return "http://" + addr, nil
}

// echoArgs turns an event's arguments back into values that emit the same
// thing: raw JSON, with binary attachments as []byte wherever they were.
func echoArgs(m *sio.Message) []any {
	out := make([]any, m.Len())
	for i := range out {
		if b, ok := m.Binary(i); ok {
			out[i] = b
			continue
		}
		if len(m.Attachments()) > 0 && strings.Contains(string(m.Arg(i)), `"_placeholder"`) {
			var v any
			if err := m.Decode(append(make([]any, i), &v)...); err == nil {
				out[i] = v
				continue
			}
		}
		out[i] = m.Arg(i)
	}
	return out
}

func goApp(srv *sio.Server) {
	onConn := func(s *sio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("echo", func(ev *sio.Event) { _ = s.Emit("echo-back", echoArgs(&ev.Message)...) })
		s.On("ack", func(ev *sio.Event) { _ = ev.Ack(echoArgs(&ev.Message)...) })
		s.On("ask", func(ev *sio.Event) {
			args := echoArgs(&ev.Message)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				reply, err := s.EmitWithAck(ctx, "question", args...)
				if err != nil {
					_ = s.Emit("answer-error", err.Error())
					return
				}
				if reply.Len() == 0 {
					_ = s.Emit("answer", nil)
					return
				}
				_ = s.Emit("answer", echoArgs(&reply)[0])
			}()
		})
		s.On("no-ack", func(*sio.Event) {})
		s.On("disconnect-me", func(*sio.Event) { s.Disconnect(false) })
		s.On("drop", func(*sio.Event) { s.Conn().Close() })
		s.On("join", func(ev *sio.Event) {
			var room string
			_ = ev.Decode(&room)
			s.Join(room)
			_ = ev.Ack("ok")
		})
		s.On("news-then-drop", func(ev *sio.Event) {
			var room string
			_ = ev.Decode(&room)
			ns := s.Namespace()
			_ = ns.To(room).Emit("news", "n0")
			time.AfterFunc(50*time.Millisecond, func() {
				s.Conn().Close()
				time.AfterFunc(100*time.Millisecond, func() {
					_ = ns.To(room).Emit("news", "n1")
					_ = ns.To(room).Emit("news", "n2")
				})
			})
		})
	}
	srv.OnConnection(onConn)
	srv.Of("/custom").OnConnection(onConn)
	priv := srv.Of("/private")
	priv.Use(func(s *sio.Socket) error {
		var a struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(s.Handshake().Auth, &a) != nil || a.Token != "secret" {
			return &sio.ConnectError{Message: "not authorized", Data: map[string]string{"reason": "bad token"}}
		}
		return nil
	})
	priv.OnConnection(onConn)
}

var (
	nodeOnce  sync.Once
	nodeFx    fixture
	nodeErr   error
	nodeStdin io.WriteCloser
)

// nodeFixture starts testdata/server.js once; it skips (outside CI) when
// node or the socket.io package is missing.
func nodeFixture(t *testing.T) (fixture, bool) {
	t.Helper()
	nodeOnce.Do(func() {
		node, err := exec.LookPath("node")
		if err != nil {
			nodeErr = errors.New("node not installed")
			return
		}
		mods := os.Getenv("SOCKETIO_MODULES")
		if mods == "" {
			mods = filepath.Join("..", "bench", "peers", "node", "node_modules")
		}
		if _, err := os.Stat(filepath.Join(mods, "socket.io", "package.json")); err != nil {
			nodeErr = fmt.Errorf("socket.io not installed in %s (npm ci in bench/peers/node)", mods)
			return
		}
		abs, _ := filepath.Abs(mods)
		cmd := exec.Command(node, filepath.Join("testdata", "server.js"))
		cmd.Env = append(os.Environ(), "SOCKETIO_MODULES="+abs)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			nodeErr = err
			return
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			nodeErr = err
			return
		}
		if err := cmd.Start(); err != nil {
			nodeErr = err
			return
		}
		// The process exits when the test binary does: its stdin closes.
		// Keep the pipe referenced, or its finalizer would close it early.
		nodeStdin = stdin
		line := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			if sc.Scan() {
				line <- sc.Text()
			}
			close(line)
		}()
		select {
		case l, ok := <-line:
			var ports struct {
				Port         int `json:"port"`
				RecoveryPort int `json:"recoveryPort"`
			}
			if !ok || json.Unmarshal([]byte(l), &ports) != nil {
				nodeErr = fmt.Errorf("node fixture said %q", l)
				return
			}
			nodeFx = fixture{
				name:        "node",
				url:         fmt.Sprintf("http://127.0.0.1:%d", ports.Port),
				recoveryURL: fmt.Sprintf("http://127.0.0.1:%d", ports.RecoveryPort),
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			nodeErr = errors.New("node fixture not ready in 15s")
		}
	})
	if nodeErr != nil {
		if inCI() {
			t.Fatal(nodeErr)
		}
		t.Logf("skipping the Node reference server: %v", nodeErr)
		return fixture{}, false
	}
	return nodeFx, true
}
