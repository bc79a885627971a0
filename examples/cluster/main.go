package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sioloop/sioloop/adapter/redis"
	"github.com/sioloop/sioloop/examples/chat/chatdemo"
	"github.com/sioloop/sioloop/sio"
)

// nginxConf is the shipped nginx.conf, rendered for this machine by
// renderNginxConf.
//
//go:embed nginx.conf
var nginxConf string

// startTimeout bounds how long redis-server, a node or nginx may take to
// start listening (generous: a loaded machine).
const startTimeout = 20 * time.Second

// stopTimeout bounds how long a part may take to stop: a node its event
// loops, a child process its exit after SIGTERM (then it is killed).
const stopTimeout = 5 * time.Second

// shutdownGrace is how long a stopping node waits for its polling clients
// to collect their close packet with their next poll. A client that went
// away between two polls (a closed tab; in the test, the client refused for
// want of stickiness, whose session stays on the node that made it) never
// does, and would keep the node waiting until its session times out
// (PingInterval + PingTimeout, 45 s), so the wait is cut short: clients
// that are still there poll again within a round trip.
const shutdownGrace = 2 * time.Second

func main() {
	// SIGHUP too: closing the terminal must stop the child processes,
	// which are in process groups of their own (ownGroup).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	addr     string
	nodes    int
	nodePort int
	redis    string
	sharded  bool
	nginx    string
	ticker   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", ":3000", "nginx's listen address, the URL to open")
	fs.IntVar(&c.nodes, "nodes", 3, "number of sio nodes")
	fs.IntVar(&c.nodePort, "node-port", 3001, "port of the first node, on 127.0.0.1; the others take the ports after it")
	fs.StringVar(&c.redis, "redis", "", "host:port of a running Redis (default: start redis-server on a free port)")
	fs.BoolVar(&c.sharded, "sharded", false, "use the sharded adapter (redis.NewSharded, Redis 7+) instead of the classic one")
	fs.StringVar(&c.nginx, "nginx", "auto", "nginx binary: auto (look it up, run without it if missing), off, or a path")
	fs.DurationVar(&c.ticker, "ticker", 0, "send a random score to a random team this often, from the first node (0 = never)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() != 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.nodes < 1 || c.nodes > 64 {
		return c, fmt.Errorf("-nodes %d: want 1 to 64", c.nodes)
	}
	if c.nodePort < 1 || c.nodePort+c.nodes-1 > 65535 {
		return c, fmt.Errorf("-node-port %d: the nodes' ports must lie in 1-65535", c.nodePort)
	}
	if c.ticker < 0 {
		return c, fmt.Errorf("-ticker %v: want a positive duration or 0", c.ticker)
	}
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		return c, fmt.Errorf("-addr %q: %v", c.addr, err)
	}
	return c, nil
}

// cluster describes a running demo, for run's ready callback.
type cluster struct {
	// URL is the page to open: nginx's, or the first node's without nginx.
	URL string
	// Nodes are the nodes' host:port, in the order of nginx's upstream.
	Nodes []string
	// Redis is the Redis server's host:port.
	Redis string
	// Nginx reports whether nginx runs in front of the nodes.
	Nginx bool
}

// run starts Redis (unless -redis), the nodes and nginx (when found), calls
// ready (when not nil) once all of them accept connections, and blocks until
// ctx is cancelled or one of them fails. It stops everything it started
// before it returns.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(cluster)) (err error) {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	dir, err := os.MkdirTemp("", "sioloop-cluster-")
	if err != nil {
		return err
	}
	// The stops run in reverse order of the starts: nginx, the nodes, Redis.
	var stops []func() error
	defer func() {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i]())
		}
		errs = append(errs, os.RemoveAll(dir))
		err = errors.Join(append([]error{err}, errs...)...)
	}()
	// failed receives the first unexpected end of a part, as an error.
	failed := make(chan error, 2+cfg.nodes)

	c := cluster{Redis: cfg.redis}
	if c.Redis == "" {
		p, addr, err := startRedis(ctx, filepath.Join(dir, "redis"))
		if err != nil {
			return err
		}
		stops = append(stops, p.stop)
		go p.watch(failed)
		c.Redis = addr
		logger.Info("redis-server started", "addr", addr, "persistence", "off")
	}

	newAdapter, mode := redis.New, "classic"
	if cfg.sharded {
		newAdapter, mode = redis.NewSharded, "sharded"
	}
	var nodes []*node
	stops = append(stops, func() error { return stopNodes(nodes) })
	for i := range cfg.nodes {
		name := "node-" + strconv.Itoa(i+1)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.nodePort+i))
		n, err := startNode(ctx, nodeConfig{
			name:       name,
			addr:       addr,
			redis:      c.Redis,
			newAdapter: newAdapter,
			logger:     logger.With("server", name),
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		nodes = append(nodes, n)
		go n.watch(failed)
		if i == 0 && cfg.ticker > 0 {
			tctx, cancel := context.WithCancel(ctx)
			stops = append(stops, func() error { cancel(); return nil })
			go chatdemo.Tick(tctx, n.srv, cfg.ticker)
		}
		c.Nodes = append(c.Nodes, addr)
		logger.Info("node listening", "server", name, "url", "http://"+addr+"/", "adapter", mode)
	}

	c.URL = "http://" + c.Nodes[0] + "/"
	bin, err := findNginx(cfg.nginx)
	switch {
	case err != nil:
		return err
	case bin != "":
		p, err := startNginx(ctx, bin, filepath.Join(dir, "nginx"), cfg.addr, c.Nodes, stderr)
		if err != nil {
			return err
		}
		stops = append(stops, p.stop)
		go p.watch(failed)
		c.URL, c.Nginx = pageURL(cfg.addr), true
		logger.Info("nginx listening", "addr", cfg.addr, "upstream", "ip_hash over "+strconv.Itoa(len(c.Nodes))+" nodes")
	case cfg.nginx == "auto":
		logger.Warn("nginx not found (apt-get install nginx-light): running without it; open any node directly")
	}
	logger.Info("cluster demo listening", "url", c.URL, "nodes", strings.Join(c.Nodes, ","), "redis", c.Redis)
	if ready != nil {
		ready(c)
	}

	select {
	case err := <-failed:
		if ctx.Err() == nil {
			return err
		}
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	return nil
}

// pageURL turns a listen address into something clickable in the log.
func pageURL(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "http://localhost" + addr + "/"
	}
	return "http://" + addr + "/"
}

// nodeConfig says how to start one node.
type nodeConfig struct {
	name, addr, redis string
	newAdapter        func(context.Context, redis.Config) (*redis.Adapter, error)
	logger            *slog.Logger
}

// node is one running sio server with its Redis connection.
type node struct {
	name string
	srv  *sio.Server
	ra   *redis.Adapter
	// served is closed once ListenAndServe has returned, with its error
	// in serveErr (written before the close).
	served   chan struct{}
	serveErr error
	mu       sync.Mutex
	stopping bool // guarded by mu: stop was called
}

// startNode connects to Redis and serves the chat demo on cfg.addr.
func startNode(ctx context.Context, cfg nodeConfig) (*node, error) {
	rctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	ra, err := cfg.newAdapter(rctx, redis.Config{Addr: cfg.redis, Logger: cfg.logger})
	if err != nil {
		return nil, fmt.Errorf("redis adapter: %w", err)
	}
	srv := sio.NewServer(sio.Config{Adapter: ra.ForNamespace, Logger: cfg.logger})
	chatdemo.Register(srv, chatdemo.Options{Logger: cfg.logger, Node: cfg.name})
	n := &node{name: cfg.name, srv: srv, ra: ra, served: make(chan struct{})}
	go func() { n.serveErr = srv.ListenAndServe(cfg.addr, chatdemo.NewMux(srv)); close(n.served) }()
	select {
	case <-srv.Ready():
		return n, nil
	case <-n.served:
		return nil, errors.Join(n.serveErr, srv.Close(), ra.Close())
	case <-rctx.Done():
		return nil, errors.Join(fmt.Errorf("not listening on %s within %v", cfg.addr, startTimeout), srv.Close(), ra.Close())
	}
}

// watch reports the end of ListenAndServe to failed, unless stop caused it.
func (n *node) watch(failed chan<- error) {
	<-n.served
	n.mu.Lock()
	stopping := n.stopping
	n.mu.Unlock()
	if !stopping {
		failed <- fmt.Errorf("%s stopped serving: %v", n.name, n.serveErr)
	}
}

// stopNodes stops the nodes all at once, so that their grace periods
// overlap.
func stopNodes(nodes []*node) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { errs[i] = n.stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stop disconnects the node's sockets, stops its event loops and closes its
// Redis connection (in that order: the adapter after the server).
func (n *node) stop() error {
	n.mu.Lock()
	n.stopping = true
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	// Past the grace period Shutdown reports ctx's error and still stops
	// the event loops; the sessions it waited for are dropped with them.
	if err := n.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		errs = append(errs, err)
	}
	select {
	case <-n.served:
		if n.serveErr != nil && !errors.Is(n.serveErr, sio.ErrServerClosed) {
			errs = append(errs, n.serveErr)
		}
	case <-time.After(stopTimeout):
		errs = append(errs, fmt.Errorf("event loops still running %v after Shutdown", stopTimeout))
	}
	errs = append(errs, n.ra.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	return nil
}

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

// findNginx resolves -nginx: "" when nginx is off or, with auto, missing.
func findNginx(flagValue string) (string, error) {
	switch flagValue {
	case "off":
		return "", nil
	case "auto":
		if p, err := exec.LookPath("nginx"); err == nil {
			return p, nil
		}
		// Debian installs nginx in /usr/sbin, which is not on every
		// user's PATH.
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", nil
	default:
		p, err := exec.LookPath(flagValue)
		if err != nil {
			return "", fmt.Errorf("-nginx %s: %w", flagValue, err)
		}
		return p, nil
	}
}

// startNginx renders nginx.conf into dir for these nodes and listen
// address, runs nginx in the foreground with it (its error log, warnings
// and worse, to w), and waits until it accepts connections.
func startNginx(ctx context.Context, bin, dir, listen string, nodes []string, w io.Writer) (*process, error) {
	// 0755: when run as root, nginx's workers run as an unprivileged user
	// and must reach the temp paths nginx creates for them here.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	// nginx would report a busy port only after waitListening took the
	// other program's answer for its own.
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("-addr %s: %w", listen, err)
	}
	if err := l.Close(); err != nil {
		return nil, err
	}
	temps, err := tempPaths(bin, dir)
	if err != nil {
		return nil, err
	}
	conf, err := renderNginxConf(nginxConf, siteLines(dir, listen, nodes, temps))
	if err != nil {
		return nil, fmt.Errorf("nginx.conf: %w", err)
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// -e: the error log used before the configuration is read (a build's
	// default may be a file only root can open).
	p, err := startProcess("nginx", exec.Command(bin, "-e", "stderr", "-c", confFile, "-g", "daemon off;"), w)
	if err != nil {
		return nil, err
	}
	dialAddr := listen
	if host, port, _ := net.SplitHostPort(listen); host == "" || host == "0.0.0.0" || host == "::" {
		dialAddr = net.JoinHostPort("127.0.0.1", port)
	}
	if err := waitListening(ctx, dialAddr, p); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// waitListening waits until addr accepts connections. nginx says nothing
// when it is ready; it binds its ports before it starts its workers.
func waitListening(ctx context.Context, addr string, p *process) error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited (%v): %s", p.name, p.waitErr, p.out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s within %v: %v", p.name, addr, startTimeout, err)
		}
	}
}

// siteLines are the replacements of nginx.conf's "[site]" lines: paths in
// dir, the listen address, one upstream server per node.
func siteLines(dir, listen string, nodes []string, tempPaths string) map[string]string {
	if strings.HasPrefix(listen, ":") {
		listen = listen[1:] // nginx: "listen 3000;" is every address
	}
	var upstream strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&upstream, "server %s;\n", n)
	}
	return map[string]string{
		"pid":        "pid " + filepath.Join(dir, "nginx.pid") + ";",
		"error_log":  "error_log stderr warn;",
		"access_log": "access_log off;",
		"temp_paths": tempPaths,
		"upstream":   upstream.String(),
		"listen":     "listen " + listen + ";",
	}
}

// tempPaths returns the *_temp_path directives that put nginx's temp files
// under dir, for the modules this nginx build has: a directive of a module
// built without is a configuration error.
func tempPaths(bin, dir string) (string, error) {
	out, err := exec.Command(bin, "-V").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("nginx -V: %v: %s", err, out)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "client_body_temp_path %s;\n", filepath.Join(dir, "body"))
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		if !bytes.Contains(out, []byte("--without-http_"+m+"_module")) {
			fmt.Fprintf(&b, "%s_temp_path %s;\n", m, filepath.Join(dir, m))
		}
	}
	return b.String(), nil
}

// siteMarker finds the "# [site] NAME" comment that marks a line of
// nginx.conf that depends on the machine.
var siteMarker = regexp.MustCompile(`#\s*\[site\]\s+(\S+)`)

// renderNginxConf replaces the marked lines of conf with lines[NAME],
// indented like the original: the first line marked NAME by all of it, the
// later ones (the upstream's servers) by nothing; an empty value drops the
// line. Every marker must have a replacement and every replacement a
// marker, so that the shipped file and this program cannot drift apart
// silently. Everything else is kept byte for byte.
func renderNginxConf(conf string, lines map[string]string) (string, error) {
	used := map[string]bool{}
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(conf))
	for sc.Scan() {
		line := sc.Text()
		m := siteMarker.FindStringSubmatch(line)
		if m == nil {
			out.WriteString(line + "\n")
			continue
		}
		name := m[1]
		repl, ok := lines[name]
		if !ok {
			return "", fmt.Errorf("marked line %q has no replacement", name)
		}
		if used[name] {
			continue
		}
		used[name] = true
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		for _, r := range strings.Split(repl, "\n") {
			if r != "" {
				out.WriteString(indent + r + "\n")
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	for name := range lines {
		if !used[name] {
			return "", fmt.Errorf("no line marked %q", name)
		}
	}
	return out.String(), nil
}
