package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/sioloop/sioloop/internal/testutil"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/internal/redistest"
)

func inCI() bool { return testutil.InCI() }

// need skips the test outside CI, and fails it under CI, when tools are
// missing.
func need(t *testing.T, missing []string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	msg := "cluster test needs " + strings.Join(missing, ", ")
	if inCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// tools finds nginx and node and checks that the pinned client is
// installed.
func tools(t *testing.T) (nginx, node string) {
	t.Helper()
	var missing []string
	nginx, err := findNginx("auto")
	if err != nil || nginx == "" {
		missing = append(missing, "nginx (apt-get install nginx-light)")
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join("..", "..", "node_modules", "socket.io-client", "package.json")); err != nil {
		missing = append(missing, "node_modules/socket.io-client (run npm ci at the repository root)")
	}
	need(t, missing)
	return nginx, node
}

// freePorts returns n consecutive loopback ports that were free a moment
// ago (the nodes take -node-port and the ports after it).
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 1000 {
		base := 20000 + rand.IntN(30000)
		free := true
		for p := base; p < base+n && free; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

// lockedWriter collects the demo's log, written from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDemo runs the demo with args as `go run ./examples/cluster` would,
// and returns what it started once everything listens. It stops the demo
// when the test ends and fails the test if run returns an error.
func startDemo(t *testing.T, args ...string) cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedWriter{}
	readyc := make(chan cluster, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, logs, func(c cluster) { readyc <- c }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not return within 30s of cancel")
		}
		if t.Failed() {
			t.Logf("demo log:\n%s", logs.String())
		}
	})
	select {
	case c := <-readyc:
		return c
	case err := <-done:
		t.Fatalf("run returned before ready: %v\nlog:\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("demo not ready within 60s\nlog:\n%s", logs.String())
	}
	return cluster{}
}

// roundRobin is a balancer without sticky sessions: each request goes to
// the next node, as nginx's default balancing (no ip_hash) would send it.
// It records the status and body of every refused request.
type roundRobin struct {
	targets []*url.URL
	next    atomic.Uint64

	mu      sync.Mutex
	refused []string // guarded by mu: "status body"
}

func (rr *roundRobin) proxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(rr.targets[(rr.next.Add(1)-1)%uint64(len(rr.targets))])
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode < 300 || resp.StatusCode == http.StatusSwitchingProtocols {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			rr.mu.Lock()
			rr.refused = append(rr.refused, fmt.Sprintf("%d %s", resp.StatusCode, body))
			rr.mu.Unlock()
			return nil
		},
	}
}

// clientRecord mirrors one client in the JSON line of testdata/clients.mjs.
type clientRecord struct {
	Name           string   `json:"name"`
	Transports     []string `json:"transports"`
	LocalAddress   string   `json:"localAddress"`
	ID             string   `json:"id"`
	Node           string   `json:"node"`
	Connected      bool     `json:"connected"`
	FirstTransport string   `json:"firstTransport"`
	FinalTransport string   `json:"finalTransport"`
	Chat           []string `json:"chat"`
	Scores         []int    `json:"scores"`
	Disconnects    []string `json:"disconnects"`
	ConnectErrors  []string `json:"connectErrors"`
}

type clientsReport struct {
	Sticky      []clientRecord `json:"sticky"`
	RRPolling   clientRecord   `json:"rrPolling"`
	RRWebsocket []clientRecord `json:"rrWebsocket"`
}

// TestCluster starts the demo as a user would (Redis, three nodes, nginx
// with the shipped nginx.conf) and runs real socket.io-clients through it:
//
//   - through nginx (ip_hash), polling-only, WebSocket-only and upgrading
//     clients, from addresses that nginx pins to different nodes, chat and
//     get their room's scores: every message and score reaches every
//     recipient exactly once, whatever node sent it;
//   - without stickiness (each request to the next node), a polling-only
//     client is refused with 400 {"code":1,"message":"Session ID unknown"}
//     and never connects, while WebSocket-only clients on three nodes chat.
func TestCluster(t *testing.T) {
	_, node := tools(t)
	rs := redistest.Start(t)
	nodePort := freePorts(t, 3)
	nginxAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePorts(t, 1)))
	c := startDemo(t, "-redis", rs.Addr(), "-nodes", "3", "-node-port", strconv.Itoa(nodePort), "-addr", nginxAddr)
	if !c.Nginx || c.URL != "http://"+nginxAddr+"/" || len(c.Nodes) != 3 {
		t.Fatalf("started %+v, want nginx on %s and three nodes", c, nginxAddr)
	}

	rr := &roundRobin{}
	for _, n := range c.Nodes {
		rr.targets = append(rr.targets, &url.URL{Scheme: "http", Host: n})
	}
	rrServer := httptest.NewServer(rr.proxy())
	t.Cleanup(func() {
		rrServer.CloseClientConnections()
		rrServer.Close()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	js := exec.CommandContext(ctx, node, filepath.Join("testdata", "clients.mjs"), c.URL, rrServer.URL)
	js.Stdout, js.Stderr = &stdout, &stderr
	js.WaitDelay = time.Second
	if err := js.Run(); err != nil {
		t.Fatalf("clients.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var rep clientsReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("clients.mjs report: %v\n%s", err, stdout.String())
	}

	t.Run("sticky", func(t *testing.T) {
		checkSticky(t, rep.Sticky)
	})
	t.Run("round robin, polling", func(t *testing.T) {
		p := rep.RRPolling
		if p.Connected || len(p.ConnectErrors) == 0 {
			t.Errorf("polling client without stickiness: connected %v, connect errors %q; want a connect_error and no connection", p.Connected, p.ConnectErrors)
		}
		rr.mu.Lock()
		refused := slices.Clone(rr.refused)
		rr.mu.Unlock()
		t.Logf("polling client: connect errors %q; requests refused: %q", p.ConnectErrors, refused)
		const want = `400 {"code":1,"message":"Session ID unknown"}`
		if len(refused) == 0 {
			t.Fatal("no request was refused")
		}
		for _, r := range refused {
			if r != want {
				t.Errorf("refused with %q, want %q", r, want)
			}
		}
	})
	t.Run("round robin, websocket", func(t *testing.T) {
		ws := rep.RRWebsocket
		nodes := map[string]bool{}
		for _, r := range ws {
			t.Logf("%s: %s", r.Name, r.Node)
			nodes[r.Node] = true
			if !r.Connected || r.FirstTransport != "websocket" || r.FinalTransport != "websocket" || len(r.Disconnects) > 0 {
				t.Errorf("%s: connected %v, transport %s → %s, disconnects %q", r.Name, r.Connected, r.FirstTransport, r.FinalTransport, r.Disconnects)
			}
		}
		if len(nodes) < 2 {
			t.Errorf("WebSocket clients sent round robin all reached %v, want at least two nodes", nodes)
		}
		checkChat(t, ws)
	})
}

// checkSticky checks the clients that went through nginx.
func checkSticky(t *testing.T, recs []clientRecord) {
	t.Helper()
	byName := map[string]clientRecord{}
	for _, r := range recs {
		byName[r.Name] = r
		t.Logf("%s from %s (%s): %s", r.Name, r.LocalAddress, strings.Join(r.Transports, ","), r.Node)
		if !r.Connected || len(r.ConnectErrors) > 0 || len(r.Disconnects) > 0 {
			t.Errorf("%s: connected %v, connect errors %q, disconnects %q", r.Name, r.Connected, r.ConnectErrors, r.Disconnects)
		}
		want := r.Transports[len(r.Transports)-1] // polling stays polling; the others end on websocket
		if r.FirstTransport != r.Transports[0] || r.FinalTransport != want {
			t.Errorf("%s: transport %s → %s, want %s → %s", r.Name, r.FirstTransport, r.FinalTransport, r.Transports[0], want)
		}
	}
	if len(byName) != 5 {
		t.Fatalf("report has clients %v, want p1 w2 p3 w3 u2", recs)
	}
	// ip_hash pins an address: the two clients of 127.0.3.1 share a node,
	// as do those of 127.0.2.1, whatever their transports.
	if byName["p3"].Node != byName["w3"].Node || byName["w2"].Node != byName["u2"].Node {
		t.Errorf("clients from one address on different nodes: %v", recs)
	}
	// The three /24s reach three nodes (nginx's hash of 127.0.1, 127.0.2
	// and 127.0.3 over three servers), so polling and WebSocket clients
	// sit on different nodes.
	nodes := map[string]bool{byName["p1"].Node: true, byName["w2"].Node: true, byName["p3"].Node: true}
	if len(nodes) != 3 {
		t.Errorf("p1, w2 and p3 are on nodes %v, want three different ones", nodes)
	}
	checkChat(t, recs)
	// Rooms: scores posted through nginx reach each team's members on
	// every node, exactly once and in order, and no one else.
	for _, r := range recs {
		want := []int{7, 8}
		if r.Name == "w3" || r.Name == "u2" {
			want = []int{9, 10}
		}
		if !slices.Equal(r.Scores, want) {
			t.Errorf("%s (%s) got scores %v, want %v", r.Name, r.Node, r.Scores, want)
		}
	}
}

// checkChat checks that every client got each other client's two chat
// messages exactly once, and none of its own, and that some of them came
// from another node.
func checkChat(t *testing.T, recs []clientRecord) {
	t.Helper()
	for _, r := range recs {
		var want []string
		fromOtherNode := false
		for _, o := range recs {
			if o.Name == r.Name {
				continue
			}
			want = append(want, o.Name+": hello", o.Name+": last")
			fromOtherNode = fromOtherNode || o.Node != r.Node
		}
		got := slices.Clone(r.Chat)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s (%s) got chat %q, want each of %q once", r.Name, r.Node, r.Chat, want)
		}
		if !fromOtherNode {
			t.Errorf("%s: every sender was on its node %s; the test means to cross nodes", r.Name, r.Node)
		}
	}
}

// TestRunStartsRedis runs the demo without -redis and without nginx: it
// starts its own redis-server, two nodes chat through it, and after the
// demo stops nothing listens on the Redis port any more.
func TestRunStartsRedis(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		need(t, []string{"redis-server (apt-get install redis-server)"})
	}
	nodePort := freePorts(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &lockedWriter{}
	readyc := make(chan cluster, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-nginx", "off", "-nodes", "2", "-node-port", strconv.Itoa(nodePort)}, logs, func(c cluster) { readyc <- c })
	}()
	var c cluster
	select {
	case c = <-readyc:
	case err := <-done:
		t.Fatalf("run: %v\nlog:\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("not ready within 60s\nlog:\n%s", logs.String())
	}
	if c.Nginx || c.URL != "http://"+c.Nodes[0]+"/" || c.Redis == "" {
		t.Fatalf("started %+v, want two nodes, no nginx, a Redis", c)
	}

	cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
	defer ccancel()
	got := make(chan string, 10)
	b := client.New("http://"+c.Nodes[1]+"/", client.Options{Transports: []string{client.WebSocket}})
	b.On("new-chat-message", func(ev *client.Event) {
		var s string
		_ = ev.Decode(&s)
		got <- s
	})
	if err := b.ConnectContext(cctx); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, err := client.Connect(cctx, "http://"+c.Nodes[0]+"/", client.Options{Transports: []string{client.Polling}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Emit("chat-message", "from node-1"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "from node-1" {
			t.Fatalf("node-2's client got %q", s)
		}
	case <-cctx.Done():
		t.Fatalf("node-2's client got nothing\nlog:\n%s", logs.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v\nlog:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30s of cancel")
	}
	if conn, err := net.Dial("tcp", c.Redis); err == nil {
		conn.Close()
		t.Fatalf("redis-server still listens on %s after run returned", c.Redis)
	}
}

// TestParseFlags covers the flags' defaults and their checks.
func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr bool
	}{
		{name: "defaults", want: config{addr: ":3000", nodes: 3, nodePort: 3001, nginx: "auto"}},
		{name: "all", args: []string{"-addr", "127.0.0.1:8080", "-nodes", "5", "-node-port", "4001", "-redis", "10.0.0.2:6379", "-sharded", "-nginx", "off", "-ticker", "2s"},
			want: config{addr: "127.0.0.1:8080", nodes: 5, nodePort: 4001, redis: "10.0.0.2:6379", sharded: true, nginx: "off", ticker: 2 * time.Second}},
		{name: "no nodes", args: []string{"-nodes", "0"}, wantErr: true},
		{name: "ports past 65535", args: []string{"-node-port", "65535", "-nodes", "2"}, wantErr: true},
		{name: "negative ticker", args: []string{"-ticker", "-1s"}, wantErr: true},
		{name: "bad addr", args: []string{"-addr", "3000"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRenderNginxConf checks the rendering of the shipped file: one server
// line per node in the upstream, after ip_hash, and the listen address.
func TestRenderNginxConf(t *testing.T) {
	conf, err := renderNginxConf(nginxConf, siteLines("/tmp/x", ":3000", []string{"127.0.0.1:4001", "127.0.0.1:4002"}, "client_body_temp_path /tmp/x/body;\n"))
	if err != nil {
		t.Fatal(err)
	}
	var directives []string
	in := false
	for _, line := range strings.Split(conf, "\n") {
		line, _, _ = strings.Cut(line, "#")
		switch line = strings.TrimSpace(line); {
		case line == "upstream sioloop_cluster {":
			in = true
		case line == "}":
			in = false
		case in && line != "":
			directives = append(directives, line)
		}
	}
	want := []string{"ip_hash;", "server 127.0.0.1:4001;", "server 127.0.0.1:4002;", "keepalive 32;"}
	if !slices.Equal(directives, want) {
		t.Errorf("upstream %q, want %q", directives, want)
	}
	for _, want := range []string{"\n        listen 3000;\n", "\n    client_body_temp_path /tmp/x/body;\n", "\npid /tmp/x/nginx.pid;\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, conf)
		}
	}
	if _, err := renderNginxConf(nginxConf, map[string]string{"pid": ""}); err == nil {
		t.Error("a marker without replacement was accepted")
	}
}
