package main

import (
	"bytes"
	"context"
	"github.com/sioloop/sioloop/internal/testutil"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr bool
	}{
		{name: "defaults", want: config{addr: ":3000", mode: "standalone", parser: "json"}},
		{name: "PORT", env: map[string]string{"PORT": "8080"}, want: config{addr: ":8080", mode: "standalone", parser: "json"}},
		{name: "flag beats PORT", args: []string{"-addr", "127.0.0.1:9000"}, env: map[string]string{"PORT": "8080"}, want: config{addr: "127.0.0.1:9000", mode: "standalone", parser: "json"}},
		{name: "ticker and mode", args: []string{"-ticker", "2s", "-mode", "nethttp"}, want: config{addr: ":3000", ticker: 2 * time.Second, mode: "nethttp", parser: "json"}},
		{name: "msgpack", args: []string{"-parser", "msgpack"}, want: config{addr: ":3000", mode: "standalone", parser: "msgpack"}},
		{name: "bad mode", args: []string{"-mode", "cgi"}, wantErr: true},
		{name: "bad parser", args: []string{"-parser", "xml"}, wantErr: true},
		{name: "negative ticker", args: []string{"-ticker", "-1s"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args, env(tc.env), io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

// TestRunServesAndStops starts the demo in both modes, checks the page and
// the client bundle path answer, and that cancelling the context stops it
// cleanly. The browser behaviour is checked in interop/browser.
func TestRunServesAndStops(t *testing.T) {
	for _, mode := range []string{"standalone", "nethttp"} {
		t.Run(mode, func(t *testing.T) {
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var logs bytes.Buffer
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"-addr", addr, "-mode", mode}, env(nil), &lockedWriter{w: &logs}) }()

			var resp *http.Response
			var err error
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if resp, err = http.Get("http://" + addr + "/"); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("GET /: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET /: status %d", resp.StatusCode)
			}
			resp, err = http.Post("http://"+addr+"/score?team=team-red", "text/plain", strings.NewReader("7"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("POST /score: status %d", resp.StatusCode)
			}
			// The metrics page parses and counts the sessions.
			resp, err = http.Get("http://" + addr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("GET /metrics: %v", err)
			}
			if fams["socketio_connections"] == nil || fams["socketio_sockets"] == nil {
				t.Fatalf("GET /metrics lacks socketio_connections or socketio_sockets: %v", fams)
			}
			// 200 with the bundle built, 503 with instructions without it:
			// either way sio, not the fallback mux, must answer.
			resp, err = http.Get("http://" + addr + "/socket.io/socket.io.js")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 && resp.StatusCode != 503 {
				t.Fatalf("GET /socket.io/socket.io.js: status %d", resp.StatusCode)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run: %v\nlogs:\n%s", err, logs.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("run did not return after cancel")
			}
		})
	}
}

// lockedWriter lets the test read the demo's log while its goroutines may
// still write to it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestRunPortInUse checks that a busy port is reported as an error at once,
// in both modes, rather than logged as listening.
func TestRunPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, mode := range []string{"standalone", "nethttp"} {
		t.Run(mode, func(t *testing.T) {
			var logs bytes.Buffer
			done := make(chan error, 1)
			go func() {
				done <- run(context.Background(), []string{"-addr", l.Addr().String(), "-mode", mode}, env(nil), &lockedWriter{w: &logs})
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("run returned nil on a busy port")
				}
				if strings.Contains(logs.String(), "listening") {
					t.Fatalf("logged listening before failing:\n%s", logs.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("run did not fail on a busy port")
			}
		})
	}
}
