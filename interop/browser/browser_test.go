// Package browser_test runs the chat demo the way the README starts it and
// drives its page in headless Chromium (chat.spec.mjs, playwright-core), once
// on sioloop's event loops and once mounted in net/http.
package browser_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/testutil"
)

// requireTools skips on a developer machine and fails under CI when node,
// Chromium or playwright-core are missing.
func requireTools(t *testing.T, root string) string {
	t.Helper()
	return testutil.RequireBrowser(t, "the browser test", root)
}

// syncBuffer collects a subprocess's output while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a loopback address that was free a moment ago; the demo
// binds it right after, so a collision is possible but unlikely.
func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

// buildDemo compiles examples/chat once; both modes run the same binary.
func buildDemo(t *testing.T, root string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go toolchain not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "chat")
	cmd := exec.Command(goBin, "build", "-o", bin, "./examples/chat")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/chat: %v\n%s", err, out)
	}
	return bin
}

// demo is one running chat server.
type demo struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// startDemo runs the binary as the README does, on a free port, and waits
// until its page answers.
func startDemo(t *testing.T, bin, mode string, extra ...string) (*demo, string) {
	t.Helper()
	addr := freeAddr(t)
	d := &demo{logs: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, append([]string{"-addr", addr, "-mode", mode}, extra...)...)
	d.cmd.Stdout = d.logs
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start demo: %v", err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		// Normally stop() has already reaped it; this covers early failures.
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})

	base := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	if slices.Contains(extra, "-cert") {
		base = "https://" + addr
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("demo (%s) exited before serving: %v\n%s", mode, err, d.logs.String())
		default:
		}
		resp, err := client.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, base
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo (%s) not serving / within 20s: %v\n%s", mode, err, d.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGINT, as Ctrl-C would, and reports how the demo exited.
func (d *demo) stop() error {
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	select {
	case err := <-d.done:
		return err
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
		return errors.New("did not exit within 10s of SIGINT")
	}
}

func TestChatInBrowser(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	node := requireTools(t, root)
	bin := buildDemo(t, root)

	cert, key := testutil.WriteSelfSigned(t, t.TempDir())
	for _, run := range []struct {
		name, mode, parser string
		tls                bool
	}{
		{"standalone", "standalone", "json", false},
		{"nethttp", "nethttp", "json", false},
		// The page loads socket.io.msgpack.min.js from the server.
		{"standalone-msgpack", "standalone", "msgpack", false},
		// https:// and wss://, with a self-signed certificate, on the
		// event loops and in net/http mode. (Both once stalled one page's
		// upgrade after its probe on a loaded machine: a poll the client
		// sent after the probe stayed parked; eio's
		// TestPollAgainDuringUpgrade covers it.)
		{"standalone-tls", "standalone", "json", true},
		{"nethttp-tls", "nethttp", "json", true},
	} {
		mode := run.mode
		t.Run(run.name, func(t *testing.T) {
			args := []string{"-parser", run.parser}
			if run.tls {
				args = append(args, "-cert", cert, "-key", key)
			}
			d, base := startDemo(t, bin, mode, args...)

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			spec := exec.CommandContext(ctx, node, "chat.spec.mjs", base)
			spec.Env = testutil.BrowserEnv()
			if run.parser == "msgpack" {
				spec.Env = append(spec.Env, "BUNDLE_PATH=/socket.io/socket.io.msgpack.min.js")
			}
			if run.tls {
				// The spec's own requests (POST /score) trust the
				// self-signed certificate too.
				spec.Env = append(spec.Env, "NODE_TLS_REJECT_UNAUTHORIZED=0")
			}
			out, err := spec.CombinedOutput()
			if err != nil {
				t.Errorf("chat.spec.mjs against %s mode: %v\n%s\n--- demo log:\n%s", mode, err, out, d.logs.String())
			} else {
				t.Logf("chat.spec.mjs:\n%s", out)
			}

			// The page says hello on connect; the demo logs it with the
			// sender's id, and each connection's id.
			logs := d.logs.String()
			for _, want := range []string{"socket connected", "client-message", "Hello from the browser page"} {
				if !strings.Contains(logs, want) {
					t.Errorf("demo log lacks %q:\n%s", want, logs)
				}
			}
			if err := d.stop(); err != nil {
				t.Errorf("demo (%s) did not stop cleanly on SIGINT: %v\n%s", mode, err, d.logs.String())
			}
		})
	}
}
