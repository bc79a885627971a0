package browser_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/testutil"
	"github.com/sioloop/sioloop/sio"
)

// TestV2BinaryPollingInBrowser: socket.io-client 2.5.0's browser bundle in
// Chromium, on HTTP long-polling only, sends an ArrayBuffer holding every
// byte value (0xFF first: the separator of Engine.IO v3's binary payload
// records, eio/payload_v3.go) with an ack, and receives binary in the ack
// and in an emit. Chromium has XHR2, so both directions travel as binary
// payloads (application/octet-stream), not base64; the bytes must arrive
// intact both ways, on the event loops and in net/http mode.
func TestV2BinaryPollingInBrowser(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	node := requireTools(t, root)
	bundle := filepath.Join(root, "node_modules", "socket.io-client-v2", "dist", "socket.io.js")
	if _, err := os.Stat(bundle); err != nil {
		if testutil.InCI() {
			t.Fatal("node_modules/socket.io-client-v2 missing (npm ci)")
		}
		t.Skip("node_modules/socket.io-client-v2 missing (npm ci)")
	}
	page := http.NewServeMux()
	page.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>v2</title><script src="/v2/socket.io.js"></script>`))
	})
	page.HandleFunc("GET /v2/socket.io.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, bundle) })

	// Each server records the bytes its "bin" handler received.
	received := make(chan []byte, 2)
	newServer := func() *sio.Server {
		srv := sio.NewServer(sio.Config{AllowEIO3: true, Loops: 1, DisableClientBundle: true})
		srv.OnConnection(func(s *sio.Socket) {
			s.On("bin", func(ev *sio.Event) {
				b, _ := ev.Binary(0)
				received <- append([]byte(nil), b...)
				rev := make([]byte, len(b))
				for i := range b {
					rev[len(b)-1-i] = b[i]
				}
				_ = ev.Ack(rev, len(b))
				_ = s.Emit("bin-back", b)
			})
		})
		return srv
	}

	loops := newServer()
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() { done <- loops.ListenAndServe(addr, page) }()
	select {
	case <-loops.Ready():
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	}
	t.Cleanup(func() {
		_ = loops.Close()
		<-done
	})
	nethttp := newServer()
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", nethttp)
	mux.Handle("/", page)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		_ = nethttp.Close()
		hs.Close()
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := exec.CommandContext(ctx, node, "v2-polling.spec.mjs", "http://"+addr, hs.URL)
	spec.Env = testutil.BrowserEnv()
	var stderr bytes.Buffer
	spec.Stderr = &stderr
	out, err := spec.Output()
	if err != nil {
		t.Fatalf("v2-polling.spec.mjs: %v\n%s%s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("spec printed %d lines, want 2:\n%s%s", len(lines), out, stderr.String())
	}
	for _, line := range lines {
		var got struct {
			Base, Sent, Ack, Back, Transport string
			AckLen                           int
			SupportsBinary                   bool
			Polls, Errors                    []string
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("spec output %q: %v", line, err)
		}
		sent, err := hex.DecodeString(got.Sent)
		if err != nil || len(sent) != 300 {
			t.Fatalf("%s: page sent %q", got.Base, got.Sent)
		}
		if b := <-received; !bytes.Equal(b, sent) {
			t.Errorf("%s: server received %x, page sent %x", got.Base, b, sent)
		}
		rev := make([]byte, len(sent))
		for i := range sent {
			rev[len(sent)-1-i] = sent[i]
		}
		if got.Ack != hex.EncodeToString(rev) || got.AckLen != len(sent) {
			t.Errorf("%s: ack %s, %d; want the bytes reversed, %d", got.Base, got.Ack, got.AckLen, len(sent))
		}
		if got.Back != got.Sent {
			t.Errorf("%s: bin-back %s, want %s", got.Base, got.Back, got.Sent)
		}
		if got.Transport != "polling" || !got.SupportsBinary {
			t.Errorf("%s: transport %q, supportsBinary %v; want polling with XHR2 binary", got.Base, got.Transport, got.SupportsBinary)
		}
		// The binary event went up in a binary POST, and binary came
		// down in a binary GET response.
		var binPost, binGet bool
		for _, p := range got.Polls {
			binPost = binPost || strings.HasPrefix(p, "POST application/octet-stream -> 200")
			binGet = binGet || strings.HasPrefix(p, "GET ") && strings.HasSuffix(p, "200 application/octet-stream")
		}
		if !binPost || !binGet {
			t.Errorf("%s: no binary POST (%v) or binary GET response (%v) among %q", got.Base, binPost, binGet, got.Polls)
		}
		if len(got.Errors) > 0 {
			t.Errorf("%s: page errors %q", got.Base, got.Errors)
		}
	}
}
