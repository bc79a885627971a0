package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The processes the cluster runs beside its nodes (redis-server, nginx):
// started, watched, stopped, their output kept.

// process is a child process (redis-server, nginx) and its output.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	// exited is closed once the process has exited, with its error in
	// waitErr (written before the close).
	exited   chan struct{}
	waitErr  error
	mu       sync.Mutex
	stopping bool // guarded by mu: stop was called
}

// startProcess starts cmd; its stdout and stderr go to p.out, and also to w when
// w is not nil.
func startProcess(name string, cmd *exec.Cmd, w io.Writer) (*process, error) {
	p := &process{name: name, cmd: cmd, out: &tail{max: 8 << 10}, exited: make(chan struct{})}
	var sink io.Writer = p.out
	if w != nil {
		sink = io.MultiWriter(p.out, w)
	}
	cmd.Stdout, cmd.Stderr = sink, sink
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// watch reports the process's exit to failed, unless stop caused it.
func (p *process) watch(failed chan<- error) {
	<-p.exited
	p.mu.Lock()
	stopping := p.stopping
	p.mu.Unlock()
	if !stopping {
		failed <- fmt.Errorf("%s exited (%v): %s", p.name, p.waitErr, p.out.String())
	}
}

// stop sends SIGTERM (redis-server and nginx both exit at once on it,
// nginx without waiting for open WebSockets), then SIGKILL after
// stopTimeout.
func (p *process) stop() error {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // it may have exited since: Wait tells
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not exit within %v of SIGTERM; killed", p.name, stopTimeout)
	}
}

// tail keeps the last max bytes written to it, for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte // guarded by mu
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}

// lineWaiter is a writer that closes found when a line containing want has
// been written: a process's "ready" message.
type lineWaiter struct {
	want  string
	found chan struct{}
	mu    sync.Mutex
	line  []byte // guarded by mu: the incomplete last line
	done  bool   // guarded by mu
}

func (l *lineWaiter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return len(p), nil
	}
	l.line = append(l.line, p...)
	for {
		i := bytes.IndexByte(l.line, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(l.line[:i], []byte(l.want)) {
			l.done, l.line = true, nil
			close(l.found)
			break
		}
		l.line = l.line[i+1:]
	}
	return len(p), nil
}

// startRedis runs redis-server on a free loopback port, without
// persistence, its files in dir, and waits until it accepts connections
// (its "Ready to accept connections" line).
func startRedis(ctx context.Context, dir string) (*process, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", errors.New("redis-server is not installed (apt-get install redis-server), or pass -redis host:port")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	// The port is free when chosen; another program may take it before
	// redis-server binds it, so a failed start is retried on another.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ready := &lineWaiter{want: "Ready to accept connections", found: make(chan struct{})}
		cmd := exec.Command(bin,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--loglevel", "notice")
		p, err := startProcess("redis-server", cmd, ready)
		if err != nil {
			return nil, "", err
		}
		select {
		case <-ready.found:
			return p, addr, nil
		case <-p.exited:
			if attempt < 3 && strings.Contains(p.out.String(), "in use") {
				continue
			}
			return nil, "", fmt.Errorf("redis-server exited (%v): %s", p.waitErr, p.out.String())
		case <-ctx.Done():
			return nil, "", errors.Join(ctx.Err(), p.stop())
		case <-time.After(startTimeout):
			return nil, "", errors.Join(fmt.Errorf("redis-server not ready within %v: %s", startTimeout, p.out.String()), p.stop())
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}
