package redistest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a redis-server may take to answer PING after
// it was started (generous: a loaded 2-core machine).
const startTimeout = 20 * time.Second

// Server is one redis-server process.
type Server struct {
	t       testing.TB
	port    int
	dir     string
	cluster bool

	mu  sync.Mutex
	cmd *exec.Cmd // nil while killed
}

// Start runs a redis-server on a free loopback port and stops it when t
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

func start(t testing.TB, cluster bool) *Server {
	t.Helper()
	lookup(t, "redis-server")
	dir := t.TempDir()
	for attempt := 0; ; attempt++ {
		s := &Server{t: t, port: freePort(t, cluster), dir: dir, cluster: cluster}
		err := s.launch()
		if err == nil {
			t.Cleanup(s.Kill)
			return s
		}
		if attempt == 4 {
			t.Fatalf("redistest: redis-server did not start: %v", err)
		}
	}
}

func lookup(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("redistest: %s is not installed (run bash .ci/setup, or apt-get install redis-server): %v", name, err)
	}
	return p
}

// freePort returns a loopback port that is free now (and, for a cluster
// node, whose bus port, port+10000, is free too).
func freePort(t testing.TB, cluster bool) int {
	t.Helper()
	for i := 0; i < 1000; i++ {
		port := 20000 + rand.IntN(30000)
		if !portFree(port) || (cluster && !portFree(port+10000)) {
			continue
		}
		return port
	}
	t.Fatal("redistest: no free port")
	return 0
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// launch starts the process and waits for it to answer PING.
func (s *Server) launch() error {
	args := []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--dbfilename", "dump-" + strconv.Itoa(s.port) + ".rdb",
		"--protected-mode", "no", "--loglevel", "warning",
	}
	if s.cluster {
		args = append(args, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.dir, "nodes-"+strconv.Itoa(s.port)+".conf"),
			"--cluster-node-timeout", "5000")
	}
	cmd := exec.Command("redis-server", args...)
	logf, err := os.Create(filepath.Join(s.dir, "redis-"+strconv.Itoa(s.port)+".log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(startTimeout)
	for {
		if reply, err := s.Do("PING"); err == nil && reply == "PONG" {
			s.mu.Lock()
			s.cmd = cmd
			s.mu.Unlock()
			return nil
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(filepath.Join(s.dir, "redis-"+strconv.Itoa(s.port)+".log"))
			return fmt.Errorf("exited (%v): %s", err, out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return fmt.Errorf("no PONG on port %d within %v", s.port, startTimeout)
		}
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Kill stops the process with SIGKILL, as a crash would, and waits until
// its port is closed. It is a no-op when the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) && !portFree(s.port) {
		time.Sleep(10 * time.Millisecond)
	}
}

// Restart starts a killed server again on the same port (empty: nothing
// was saved).
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // the port may linger briefly
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.port, err)
}

// Do sends one command on a new connection and returns its reply as text:
// a simple string, an integer, a bulk string, or an error. Arrays are
// joined with newlines. It is for set-up and checks, not for speed.
func (s *Server) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c))
}

func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("redistest: empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", err
		}
		parts := make([]string, 0, max(n, 0))
		for i := 0; i < n; i++ {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("redistest: unexpected reply %q", line)
}

// Cluster is a Redis Cluster of three masters, no replicas.
type Cluster struct {
	Nodes []*Server
}

// StartCluster runs three cluster-enabled redis-servers, joins them with
// redis-cli --cluster create, and waits for cluster_state:ok on each.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	lookup(t, "redis-cli")
	c := &Cluster{}
	for i := 0; i < 3; i++ {
		c.Nodes = append(c.Nodes, start(t, true))
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(startTimeout)
	for _, n := range c.Nodes {
		for {
			info, err := n.Do("CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster not ok on %s: %q %v", n.Addr(), info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// Addrs lists the masters' host:port.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// StartMain runs a redis-server for a TestMain, where there is no
// testing.TB (examples need one running before they start). stop kills it
// and removes its directory. The server's Restart must not be used: it
// would have no test to fail.
func StartMain() (s *Server, stop func(), err error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, nil, err
	}
	tb := &mainTB{dir: dir}
	stop = func() {
		for i := len(tb.cleanups) - 1; i >= 0; i-- {
			tb.cleanups[i]()
		}
		os.RemoveAll(dir)
	}
	defer func() {
		if r := recover(); r != nil {
			stop()
			s, stop, err = nil, nil, fmt.Errorf("%v", r)
		}
	}()
	return start(tb, false), stop, nil
}

// mainTB is the testing.TB of StartMain. It implements only what start
// calls; the embedded nil interface supplies the rest of the method set,
// which start never uses.
type mainTB struct {
	testing.TB
	dir      string
	cleanups []func()
}

func (m *mainTB) Helper()                   {}
func (m *mainTB) TempDir() string           { return m.dir }
func (m *mainTB) Cleanup(f func())          { m.cleanups = append(m.cleanups, f) }
func (m *mainTB) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (m *mainTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
