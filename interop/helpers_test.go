package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/testutil"
	"github.com/sioloop/sioloop/loop"
	"github.com/sioloop/sioloop/sio"
)

func inCI() bool { return testutil.InCI() }

var (
	nodeOnce sync.Once
	nodePath string
	nodeErr  error
)

// requireNode returns the node binary, after checking that the pinned client
// packages are installed. It skips the test outside CI when they are not.
func requireNode(t testing.TB) string {
	t.Helper()
	nodeOnce.Do(func() {
		var missing []string
		p, err := exec.LookPath("node")
		if err != nil {
			missing = append(missing, "node")
		}
		for _, pkg := range []string{"socket.io-client", "engine.io-client"} {
			if _, err := os.Stat(filepath.Join("..", "node_modules", pkg, "package.json")); err != nil {
				missing = append(missing, "node_modules/"+pkg+" (run npm ci at the repository root)")
			}
		}
		if len(missing) > 0 {
			nodeErr = errors.New("interop tests need " + strings.Join(missing, ", "))
			return
		}
		nodePath = p
	})
	if nodeErr != nil {
		if inCI() {
			t.Fatal(nodeErr)
		}
		t.Skip(nodeErr)
	}
	return nodePath
}

// freeAddr returns a loopback address that was free a moment ago. Its port
// is below Linux's ephemeral range (32768-60999), which the kernel draws
// from for outgoing connections and for listeners on port 0: the cluster
// tests open hundreds of those, and one of them took a port freeAddr had
// just returned before the test listened on it ("address already in use").
// redistest draws from 20000 up, so this stays below.
func freeAddr(t testing.TB) string { return testutil.FreeAddrIn(t, 10000, 20000) }

// serveMode says how a test server is run.
type serveMode string

const (
	// onLoops runs the server with ListenAndServe, on gnet event loops.
	onLoops serveMode = "loops"
	// onNetHTTP mounts the server in a net/http server (httptest).
	onNetHTTP serveMode = "nethttp"
	// onLoopsTLS runs it with ListenAndServeTLSConfig, and onNetHTTPTLS
	// mounts it in an httptest TLS server; both with httptest's
	// self-signed certificate (clients skip its verification).
	onLoopsTLS   serveMode = "loops-tls"
	onNetHTTPTLS serveMode = "nethttp-tls"
)

// startSIO runs a Socket.IO server configured by cfg and set up by setup,
// and returns its base URL ("http://127.0.0.1:port"). The server is shut
// down when the test ends.
func startSIO(t *testing.T, mode serveMode, cfg sio.Config, setup func(srv *sio.Server)) (*sio.Server, string) {
	t.Helper()
	if cfg.Loops == 0 {
		cfg.Loops = 2
	}
	srv := sio.NewServer(cfg)
	if setup != nil {
		setup(srv)
	}
	switch mode {
	case onLoops:
		addr, errc := testutil.ListenAndServe(t, freeAddr, srv.Ready(), 10*time.Second,
			func(addr string) error { return srv.ListenAndServe(addr, nil) })
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			testutil.Returned(t, errc, 5*time.Second, loop.ErrServerClosed)
		})
		return srv, "http://" + addr
	case onLoopsTLS:
		cert := httptest.NewUnstartedServer(nil)
		cert.StartTLS() // for its certificate only
		tlsCfg := cert.TLS.Clone()
		cert.Close()
		addr := freeAddr(t)
		errc := make(chan error, 1)
		go func() { errc <- srv.ListenAndServeTLSConfig(addr, tlsCfg, nil) }()
		select {
		case <-srv.Ready():
		case err := <-errc:
			t.Fatalf("ListenAndServeTLSConfig(%s): %v", addr, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("ListenAndServeTLSConfig(%s) not ready within 10s", addr)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			select {
			case <-errc:
			case <-time.After(5 * time.Second):
				t.Errorf("ListenAndServeTLSConfig did not return within 5s of Shutdown")
			}
		})
		return srv, "https://" + addr
	case onNetHTTP, onNetHTTPTLS:
		mux := http.NewServeMux()
		mux.Handle("/socket.io/", srv)
		ts := httptest.NewUnstartedServer(mux)
		if mode == onNetHTTPTLS {
			ts.StartTLS()
		} else {
			ts.Start()
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			ts.CloseClientConnections()
			ts.Close()
		})
		return srv, ts.URL
	}
	t.Fatalf("unknown serve mode %q", mode)
	return nil, ""
}

// startEIO runs a bare Engine.IO server on event loops under /engine.io/
// and returns its base URL.
func startEIO(t *testing.T, cfg eio.Config, setup func(srv *eio.Server)) string {
	t.Helper()
	srv := eio.NewServer(cfg)
	setup(srv)
	var addr string
	var ls *loop.Server
	errc := make(chan error, 1)
	for attempt := 0; ; attempt++ {
		// freeAddr's port may be taken by another test process between
		// its check and this listen: draw another (as startSIO does).
		addr = freeAddr(t)
		ls = loop.NewServer(loop.Config{
			Addr:            addr,
			Loops:           2,
			MaxBodyBytes:    srv.Config().MaxPayload,
			MaxMessageBytes: srv.Config().MaxPayload,
			Handler: func(x eio.Exchange) {
				if strings.HasPrefix(x.Path(), "/engine.io/") {
					srv.Handle(x)
					return
				}
				x.Respond(http.StatusNotFound, nil, nil)
			},
		})
		go func() { errc <- ls.Serve() }()
		var err error
		select {
		case <-ls.Ready():
		case err = <-errc:
		case <-time.After(10 * time.Second):
			t.Fatalf("loop.Serve(%s) not ready within 10s", addr)
		}
		if err == nil {
			break
		}
		if attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("loop.Serve(%s): %v", addr, err)
		}
	}
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = ls.Stop(ctx)
		select {
		case <-errc:
		case <-time.After(5 * time.Second):
			t.Errorf("loop.Serve did not return within 5s of Stop")
		}
	})
	return "http://" + addr
}

// runNode runs js/<script> with args and decodes the JSON line it prints
// last into out. A non-zero exit, a timeout or unparsable output fails the
// test with the script's stderr.
func runNode(t *testing.T, timeout time.Duration, out any, script string, args ...string) {
	t.Helper()
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("js", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s %s: killed after %v\nstdout:\n%s\nstderr:\n%s", script, strings.Join(args, " "), timeout, stdout.String(), stderr.String())
	}
	if err != nil {
		t.Fatalf("node %s %s: %v\nstdout:\n%s\nstderr:\n%s", script, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(last), out); err != nil {
		t.Fatalf("node %s: bad JSON result %q: %v\nstderr:\n%s", script, last, err, stderr.String())
	}
}

// jsonArg encodes v as a command-line argument for a script.
func jsonArg(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// record collects what server-side handlers saw, from any goroutine.
type record struct {
	mu      sync.Mutex
	entries map[string][]string
}

func newRecord() *record { return &record{entries: make(map[string][]string)} }

// add appends a formatted value under key.
func (r *record) add(key, format string, args ...any) {
	r.mu.Lock()
	r.entries[key] = append(r.entries[key], fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// get returns a copy of the values under key.
func (r *record) get(key string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.entries[key]...)
}

// wait returns the values under key once there are at least n of them,
// failing the test after d.
func (r *record) wait(t *testing.T, key string, n int, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		v := r.get(key)
		if len(v) >= n {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("server record %q: have %d entries %q, want %d within %v", key, len(v), v, n, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// equalStrings compares two string slices.
func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
