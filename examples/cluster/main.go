package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
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
