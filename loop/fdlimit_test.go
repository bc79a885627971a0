//go:build unix

package loop

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

const fileLimitChildEnv = "SIOLOOP_FILE_LIMIT_CHILD"

// fileLimitWait bounds each wait of TestFileLimit; generous for a busy machine.
const fileLimitWait = 10 * time.Second

// TestFileLimit (hole 6): a server process whose RLIMIT_NOFILE is 256
// gets more connections than that. It must stay up, keep serving the
// connections it has, refuse (and count, and log once per interval) the
// ones it cannot hold, and accept again once descriptors are free. The
// server runs in a child process (this test binary, re-executed) so that
// only it has the low limit.
func TestFileLimit(t *testing.T) {
	if os.Getenv(fileLimitChildEnv) == "1" {
		fileLimitChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileLimit$")
	cmd.Env = append(os.Environ(), fileLimitChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when the child has exited, exitErr set
	var exitErr error
	defer func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	lines := bufio.NewScanner(stdout)
	var addr string
	for lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout); exitErr = cmd.Wait(); close(exited) }()
	if addr == "" {
		t.Fatalf("child did not start: %s", stderr.String())
	}

	// All connects first, as one burst: the server process is stopped
	// while the kernel completes them into the listeners' backlog, so it
	// meets them all at once when it continues.
	const attempts = 400
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	all := make([]*fileLimitClient, attempts)
	for i := range all {
		c, err := dialFileLimit(addr)
		if err != nil {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			t.Fatalf("dial %d: %v", i, err)
		}
		all[i] = c
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var kept []*fileLimitClient
	refused := 0
	for i, c := range all {
		if body, err := c.get(fmt.Sprintf("/%d", i)); err == nil && body == fmt.Sprintf("/%d", i) {
			kept = append(kept, c)
			continue
		}
		c.nc.Close()
		refused++
	}
	t.Logf("%d connections served, %d refused", len(kept), refused)
	if len(kept) < 100 || refused < 100 {
		t.Fatalf("%d served and %d refused of %d, want both >= 100 under a limit of 256", len(kept), refused, attempts)
	}
	select {
	case <-exited:
		t.Fatalf("server process exited (%v): %s", exitErr, stderr.String())
	default:
	}
	for i, c := range kept {
		if body, err := c.get("/again"); err != nil || body != "/again" {
			t.Fatalf("kept connection %d: %q, %v", i, body, err)
		}
	}
	if body, err := kept[0].get("/stats"); err != nil || body != fmt.Sprintf("refused=%d", refused) {
		t.Fatalf("stats: %q, %v; want refused=%d", body, err, refused)
	}

	// Descriptors freed: new connections are served again.
	for _, c := range kept[:50] {
		c.nc.Close()
	}
	kept = kept[50:]
	served := 0
	deadline := time.Now().Add(fileLimitWait)
	for served < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d new connections served after 50 were closed", served)
		}
		c, err := dialFileLimit(addr)
		if err != nil {
			t.Fatal(err)
		}
		if body, err := c.get("/new"); err == nil && body == "/new" {
			served++
			kept = append(kept, c)
		} else {
			c.nc.Close()
		}
	}
	for _, c := range kept {
		c.nc.Close()
	}
	// The child's log is complete once it has exited.
	stdin.Close()
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("server process: %v\n%s", exitErr, stderr.String())
		}
	case <-time.After(fileLimitWait):
		t.Fatal("server process did not exit")
	}
	logs := strings.Count(stderr.String(), "refusing connections at the file descriptor limit")
	if logs < 1 || logs > 3 {
		t.Fatalf("refusals logged %d times, want once per 5 s (1 to 3 in this test):\n%s", logs, stderr.String())
	}
}

// fileLimitChild is the server process of TestFileLimit; it serves until
// its stdin closes.
func fileLimitChild() {
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 256, Max: 256}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(2)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(2)
	}
	addr := l.Addr().String()
	l.Close()
	var srv *Server
	srv = NewServer(Config{Addr: addr, Loops: 2, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Handler: func(x eio.Exchange) {
			if x.Path() == "/stats" {
				x.Respond(http.StatusOK, nil, []byte(fmt.Sprintf("refused=%d", srv.RefusedConnections())))
				return
			}
			x.Respond(http.StatusOK, nil, []byte(x.Path()))
		}})
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	select {
	case <-srv.Ready():
	case err := <-done:
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(2)
	}
	fmt.Println("ADDR " + addr)
	go func() {
		err := <-done
		fmt.Fprintln(os.Stderr, "Serve returned:", err)
		os.Exit(3)
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// lockedBuffer is a bytes.Buffer written by exec's copying goroutine and
// read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fileLimitClient struct {
	nc net.Conn
	br *bufio.Reader
}

func dialFileLimit(addr string) (*fileLimitClient, error) {
	nc, err := net.DialTimeout("tcp", addr, fileLimitWait)
	if err != nil {
		return nil, err
	}
	return &fileLimitClient{nc: nc, br: bufio.NewReader(nc)}, nil
}

// get sends one request and returns the body; a refused connection
// fails with EOF or a reset.
func (c *fileLimitClient) get(path string) (string, error) {
	_ = c.nc.SetDeadline(time.Now().Add(fileLimitWait))
	if _, err := fmt.Fprintf(c.nc, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
