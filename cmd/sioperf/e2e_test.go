package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// TestMain lets the test binary act as a sioperf worker process, so -procs
// is tested through a real re-exec.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(workerMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// testServer implements the benchmark contract (Socket.IO mode or raw mode)
// with net/http and gobwas/ws, a goroutine per connection. It is written
// independently of the tool's own frame code.
type testServer struct {
	t   testing.TB
	raw bool
	// dropEvery, when > 0, silently drops every n-th broadcast delivery so
	// tests can check that loss is detected.
	dropEvery int64
	// pingEvery, when > 0, makes the server send Engine.IO pings.
	pingEvery time.Duration
	// noJoinAck makes the server never acknowledge a join.
	noJoinAck bool
	// stallStep and stallFor, when stallFor > 0, make the server stop (not
	// read, not deliver) for stallFor at the first broadcast tagged
	// "s":stallStep, as a server stuck behind a backlog would.
	stallStep int
	stallFor  time.Duration
	stalled   atomic.Bool

	ln      net.Listener
	srv     *http.Server
	mu      sync.Mutex // guards conns, rooms, remotes
	conns   map[*tsConn]bool
	rooms   map[string]map[*tsConn]bool
	remotes map[string]int // remote IP -> connections

	deliveries atomic.Int64
	pongs      atomic.Int64
}

type tsConn struct {
	nc  net.Conn
	wmu sync.Mutex
}

func (c *tsConn) send(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return wsutil.WriteServerText(c.nc, p)
}

func newTestServer(t testing.TB, raw bool) *testServer {
	s := &testServer{t: t, raw: raw, conns: map[*tsConn]bool{}, rooms: map[string]map[*tsConn]bool{}, remotes: map[string]int{}}
	return s
}

func (s *testServer) start() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle)}
	go s.srv.Serve(ln)
	s.t.Cleanup(s.stop)
	return ln.Addr().String()
}

func (s *testServer) stop() {
	s.srv.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
}

func (s *testServer) handle(w http.ResponseWriter, r *http.Request) {
	if !s.raw && (r.URL.Path != "/socket.io/" || r.URL.Query().Get("EIO") != "4" || r.URL.Query().Get("transport") != "websocket") {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	nc, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	c := &tsConn{nc: nc}
	host, _, _ := net.SplitHostPort(nc.RemoteAddr().String())
	s.mu.Lock()
	s.conns[c] = true
	s.remotes[host]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		for _, m := range s.rooms {
			delete(m, c)
		}
		s.mu.Unlock()
		nc.Close()
	}()
	rd := struct {
		io.Reader
		io.Writer
	}{rw.Reader, nc}
	if !s.raw {
		if c.send([]byte(`0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)) != nil {
			return
		}
		if s.pingEvery > 0 {
			done := make(chan struct{})
			defer close(done)
			go func() {
				t := time.NewTicker(s.pingEvery)
				defer t.Stop()
				for {
					select {
					case <-done:
						return
					case <-t.C:
						if c.send([]byte("2")) != nil {
							return
						}
					}
				}
			}()
		}
	}
	for {
		msg, op, err := wsutil.ReadClientData(rd)
		if err != nil {
			return
		}
		if op != ws.OpText {
			continue
		}
		if s.raw {
			s.onRaw(c, msg)
		} else if !s.onSIO(c, msg) {
			return
		}
	}
}

func (s *testServer) onRaw(c *tsConn, msg []byte) {
	if len(msg) > 0 && msg[0] == 'e' {
		c.send(msg)
		return
	}
	s.mu.Lock()
	targets := make([]*tsConn, 0, len(s.conns))
	for o := range s.conns {
		if o != c {
			targets = append(targets, o)
		}
	}
	s.mu.Unlock()
	for _, o := range targets {
		s.deliver(o, msg)
	}
}

func (s *testServer) deliver(c *tsConn, msg []byte) {
	n := s.deliveries.Add(1)
	if s.dropEvery > 0 && n%s.dropEvery == 0 {
		return
	}
	c.send(msg)
}

// onSIO handles one Engine.IO packet; false closes the connection.
func (s *testServer) onSIO(c *tsConn, msg []byte) bool {
	switch {
	case string(msg) == "3":
		s.pongs.Add(1)
		return true
	case string(msg) == "40":
		return c.send([]byte(`40{"sid":"def"}`)) == nil
	case bytes.HasPrefix(msg, []byte("42")):
	default:
		s.t.Errorf("test server: unexpected packet %q", msg)
		return false
	}
	rest := msg[2:]
	i := bytes.IndexByte(rest, '[')
	if i < 0 {
		s.t.Errorf("test server: bad event %q", msg)
		return false
	}
	id := string(rest[:i])
	var args []json.RawMessage
	if err := json.Unmarshal(rest[i:], &args); err != nil || len(args) < 2 {
		s.t.Errorf("test server: bad event %q: %v", msg, err)
		return false
	}
	var name string
	json.Unmarshal(args[0], &name)
	switch name {
	case "join":
		var room string
		json.Unmarshal(args[1], &room)
		s.mu.Lock()
		if s.rooms[room] == nil {
			s.rooms[room] = map[*tsConn]bool{}
		}
		s.rooms[room][c] = true
		s.mu.Unlock()
		if s.noJoinAck {
			return true
		}
		return c.send([]byte("43"+id+`["ok"]`)) == nil
	case "bcast":
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(args[1], &obj); err != nil {
			s.t.Errorf("test server: bad bcast %q", msg)
			return false
		}
		var room string
		json.Unmarshal(obj["room"], &room)
		if s.stallFor > 0 && string(obj["s"]) == strconv.Itoa(s.stallStep) && s.stalled.CompareAndSwap(false, true) {
			time.Sleep(s.stallFor) // the stall is the behaviour under test, not a synchronisation
		}
		// Re-serialise the object, as socket.io does (key order changes).
		body, _ := json.Marshal(obj)
		out := append([]byte(`42["msg",`), body...)
		out = append(out, ']')
		s.mu.Lock()
		targets := make([]*tsConn, 0, len(s.rooms[room]))
		for o := range s.rooms[room] {
			targets = append(targets, o)
		}
		s.mu.Unlock()
		for _, o := range targets {
			s.deliver(o, out)
		}
		return true
	case "echo":
		out := append([]byte("43"+id+"["), args[1]...)
		out = append(out, ']')
		return c.send(out) == nil
	}
	s.t.Errorf("test server: unknown event %q", name)
	return false
}

// runTool runs sioperf with args and returns its parsed JSON result.
func runTool(t *testing.T, args ...string) *Result {
	t.Helper()
	var out, errb bytes.Buffer
	// Defaults go first so a test's own flags override them.
	full := append([]string{args[0], "-json", "-progress", "off", "-timeout", "60s"}, args[1:]...)
	code := realMain(full, &out, &errb)
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("exit %d, bad JSON %q: %v; stderr %s", code, out.String(), err, errb.String())
	}
	if code != 0 && res.Error == "" {
		t.Fatalf("exit %d without an error in the result; stderr %s", code, errb.String())
	}
	return &res
}

// ioModes are the receive paths; end-to-end tests run on both.
var ioModes = []string{ioLoop, ioGoroutine}

// quick holds fast ladder timings for tests.
var quick = []string{"-warmup", "150ms", "-step", "400ms", "-drain", "1s", "-settle-max", "1s"}

// lax is a p99 bound a shared CI machine always meets: these tests check the
// tool's mechanics, not the test server's speed.
var lax = []string{"-p99", "30s"}

func TestFanoutFixedRates(t *testing.T) {
	for _, mode := range ioModes {
		for _, raw := range []bool{false, true} {
			t.Run(mode+"/"+map[bool]string{false: "sio", true: "raw"}[raw], func(t *testing.T) {
				testFanoutFixedRates(t, mode, raw)
			})
		}
	}
}

func testFanoutFixedRates(t *testing.T, mode string, raw bool) {
	srv := newTestServer(t, raw)
	addr := srv.start()
	proto := "sio"
	if raw {
		proto = "raw"
	}
	args := append([]string{"fanout", "-addr", addr, "-io", mode, "-proto", proto, "-subs", "200", "-rates", "2000,6000", "-server-pid", strconv.Itoa(os.Getpid()), "-label", "test"}, append(lax, quick...)...)
	res := runTool(t, args...)
	if res.Error != "" {
		t.Fatalf("error: %s", res.Error)
	}
	if len(res.Steps) != 2 {
		t.Fatalf("%d steps", len(res.Steps))
	}
	for _, st := range res.Steps {
		if !st.Pass || st.Lost != 0 || st.Delivered == 0 || st.Delivered != st.Expected {
			t.Errorf("step %+v", st)
		}
		if st.Expected != uint64(st.Published)*200 {
			t.Errorf("expected %d for %d published", st.Expected, st.Published)
		}
		if st.Latency.Count != st.Delivered || st.Latency.P99Us == 0 {
			t.Errorf("latency %+v", st.Latency)
		}
		if st.ServerCPUPct <= 0 {
			t.Errorf("server CPU not measured: %+v", st)
		}
	}
	// 6000/s over 200 subscribers for 0.4 s is 12 messages.
	if got := res.Steps[1].Planned; got != 12 {
		t.Errorf("planned %d messages, want 12", got)
	}
	if res.MaxSustainable == nil || res.MaxSustainable.TargetPerS != 6000 || res.PeakThroughputPerS <= 0 {
		t.Fatalf("max sustainable %+v peak %v", res.MaxSustainable, res.PeakThroughputPerS)
	}
	if res.Headline.Value != res.MaxSustainable.DeliveredPerS {
		t.Errorf("headline %+v", res.Headline)
	}
}

func TestFanoutDetectsLoss(t *testing.T) {
	srv := newTestServer(t, false)
	srv.dropEvery = 97
	addr := srv.start()
	res := runTool(t, append([]string{"fanout", "-addr", addr, "-subs", "100", "-rates", "5000"}, quick...)...)
	if len(res.Steps) != 1 {
		t.Fatalf("steps %+v err %s", res.Steps, res.Error)
	}
	st := res.Steps[0]
	if st.Pass || st.Lost <= 0 || !strings.Contains(st.Reason, "lost") {
		t.Fatalf("loss not detected: %+v", st)
	}
	if res.MaxSustainable != nil {
		t.Fatalf("a lossy step cannot be sustainable")
	}
}

func TestFanoutLadder(t *testing.T) {
	srv := newTestServer(t, false)
	addr := srv.start()
	res := runTool(t, append([]string{"fanout", "-addr", addr, "-subs", "100", "-start", "1000", "-max-steps", "3", "-report", t.TempDir()}, append(lax, quick...)...)...)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	want := []float64{1000, 1500, 2250}
	if len(res.Steps) != len(want) {
		t.Fatalf("steps: %+v", res.Steps)
	}
	for i, st := range res.Steps {
		if st.TargetPerS != want[i] || st.Phase != "grow" || !st.Pass || st.Step != i+1 {
			t.Errorf("step %d: %+v", i, st)
		}
	}
	if !strings.Contains(res.Note, "lower bound") {
		t.Errorf("a ladder cut by -max-steps must say so, note %q", res.Note)
	}
}

func TestLadderRepeatsAndBisects(t *testing.T) {
	// A p99 bound no step can meet: every step fails, so the ladder repeats
	// the first rate once and then bisects twice below it.
	srv := newTestServer(t, false)
	addr := srv.start()
	res := runTool(t, append([]string{"fanout", "-addr", addr, "-subs", "50", "-start", "1000", "-p99", "1ns"}, quick...)...)
	var phases []string
	var rates []float64
	for _, st := range res.Steps {
		phases = append(phases, st.Phase)
		rates = append(rates, st.TargetPerS)
		if st.Pass {
			t.Errorf("step passed a 1ns bound: %+v", st)
		}
	}
	if strings.Join(phases, ",") != "grow,repeat,bisect,bisect" || fmt.Sprint(rates) != "[1000 1000 500 250]" {
		t.Fatalf("phases %v rates %v", phases, rates)
	}
	if res.Note != "" || res.MaxSustainable != nil {
		t.Fatalf("note %q max %+v", res.Note, res.MaxSustainable)
	}
}

func TestChat(t *testing.T) {
	for _, mode := range ioModes {
		t.Run(mode, func(t *testing.T) { testChat(t, mode) })
	}
}

func testChat(t *testing.T, mode string) {
	srv := newTestServer(t, false)
	addr := srv.start()
	res := runTool(t, "chat", "-addr", addr, "-io", mode, "-subs", "300", "-rooms", "7", "-publishers", "4", "-rate", "400",
		"-duration", "600ms", "-warmup", "100ms", "-drain", "1s", "-settle-max", "500ms", "-src", "127.0.0.2,127.0.0.3", "-p99", "30s")
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	st := res.Steps[0]
	// A step fails when the publishers could not keep their schedule: on
	// a loaded machine this tool, not the server, is late (0.70 s for the
	// 600 ms window was seen with a CPU hog beside the tests). What is
	// checked is that every message was published and delivered.
	lateTool := strings.HasPrefix(st.Reason, "publishing took")
	if (!st.Pass && !lateTool) || st.Lost != 0 || st.Published != 240 {
		t.Fatalf("chat step %+v", st)
	}
	// 240 messages round-robin over 7 rooms of 43 or 42 members.
	members := roomMembers(300, 7)
	var want uint64
	for k := int64(0); k < 4; k++ { // publishers
		for m := int64(0); m < 60; m++ {
			want += uint64(members[(k+m*4)%7])
		}
	}
	if st.Expected != want || st.Delivered != want {
		t.Fatalf("expected %d delivered %d, want %d", st.Expected, st.Delivered, want)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.remotes["127.0.0.2"] == 0 || srv.remotes["127.0.0.3"] == 0 || srv.remotes["127.0.0.1"] != 0 {
		t.Fatalf("-src not honoured: %v", srv.remotes)
	}
}

func TestEcho(t *testing.T) {
	for _, mode := range ioModes {
		for _, raw := range []bool{false, true} {
			t.Run(mode+"/"+map[bool]string{false: "sio", true: "raw"}[raw], func(t *testing.T) {
				srv := newTestServer(t, raw)
				addr := srv.start()
				proto := map[bool]string{false: "sio", true: "raw"}[raw]
				res := runTool(t, "echo", "-addr", addr, "-io", mode, "-proto", proto, "-clients", "100", "-duration", "700ms")
				if res.Error != "" {
					t.Fatal(res.Error)
				}
				e := res.Echo
				if e.Completed < 100 || e.Mismatched != 0 || e.Latency.Count != e.Completed || e.RoundTripsPerS <= 0 {
					t.Fatalf("echo %+v", e)
				}
			})
		}
	}
}

// TestEchoPaced: with -echo-interval each client sends on its own
// schedule, so the run completes about clients × duration / interval
// round trips (fewer only if answers come late), never more.
func TestEchoPaced(t *testing.T) {
	srv := newTestServer(t, false)
	addr := srv.start()
	res := runTool(t, "echo", "-addr", addr, "-clients", "50", "-duration", "1s", "-echo-interval", "100ms")
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	e := res.Echo
	// 50 clients, 10 ticks each in 1 s: at most 500, and at least half of
	// them on a loaded machine.
	if e.Completed > 500 || e.Completed < 250 || e.Mismatched != 0 || e.Latency.Count != e.Completed {
		t.Fatalf("paced echo %+v, want 250..500 round trips", e)
	}
}

func TestIdleAnswersHeartbeats(t *testing.T) {
	for _, mode := range ioModes {
		t.Run(mode, func(t *testing.T) { testIdleAnswersHeartbeats(t, mode) })
	}
}

func testIdleAnswersHeartbeats(t *testing.T, mode string) {
	srv := newTestServer(t, false)
	srv.pingEvery = 150 * time.Millisecond
	addr := srv.start()
	res := runTool(t, "idle", "-addr", addr, "-io", mode, "-conns", "300", "-settle", "700ms", "-server-pid", strconv.Itoa(os.Getpid()))
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	i := res.Idle
	if i.Conns != 300 || i.RSSBefore <= 0 || i.RSSAfter <= 0 || i.Disconnects != 0 {
		t.Fatalf("idle %+v", i)
	}
	if p := srv.pongs.Load(); p < 300 {
		t.Fatalf("only %d pongs from 300 clients over several ping intervals", p)
	}
}

func TestConnectWithWorkers(t *testing.T) {
	srv := newTestServer(t, false)
	addr := srv.start()
	res := runTool(t, "connect", "-addr", addr, "-conns", "300", "-concurrency", "32", "-procs", "2")
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	c := res.Connect
	if c.Conns != 300 || c.PerS <= 0 || c.Latency.Count != 300 || c.Latency.P99Us == 0 {
		t.Fatalf("connect %+v", c)
	}
	// Two worker processes each held half.
	if res.Open.Opened != 300 || res.Open.Failed != 0 {
		t.Fatalf("open %+v", res.Open)
	}
}

func TestFanoutWithWorkers(t *testing.T) {
	srv := newTestServer(t, false)
	addr := srv.start()
	res := runTool(t, append([]string{"fanout", "-addr", addr, "-subs", "200", "-rates", "4000", "-procs", "2"}, append(lax, quick...)...)...)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	st := res.Steps[0]
	if !st.Pass || st.Delivered != st.Expected || st.Latency.Count != st.Delivered {
		t.Fatalf("step %+v", st)
	}
}

func TestConnectFailureIsReported(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	res := runTool(t, "echo", "-addr", addr, "-clients", "5", "-duration", "100ms")
	if res.Error == "" || res.Open == nil || res.Open.Failed != 5 || len(res.Open.Errors) == 0 {
		t.Fatalf("want a connection error, got %+v", res)
	}
}

func TestReportAndSummarize(t *testing.T) {
	dir := t.TempDir()
	srv := newTestServer(t, false)
	addr := srv.start()
	res := runTool(t, append([]string{"fanout", "-addr", addr, "-subs", "50", "-rates", "1000,2000", "-label", "srvA", "-report", dir}, append(lax, quick...)...)...)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	md, err := os.ReadFile(filepath.Join(dir, "srvA-fanout.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "Max sustainable") || strings.Count(string(md), "\n| ") < 3 {
		t.Fatalf("markdown:\n%s", md)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "srvA-fanout.svg"))
	if err != nil {
		t.Fatal(err)
	}
	// Well-formed XML with one point per step.
	d := xml.NewDecoder(bytes.NewReader(svg))
	circles := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "circle" {
			circles++
		}
	}
	if circles != 2 {
		t.Fatalf("%d points, want 2", circles)
	}

	// Summaries: three runs of one server give the median and the range.
	var lines bytes.Buffer
	for _, v := range []float64{100, 300, 200} {
		r := *res
		r.Headline.Value = v
		b, _ := json.Marshal(&r)
		lines.Write(append(b, '\n'))
	}
	named := *res
	cfg := *res.Config
	cfg.Case = "mycase"
	named.Config = &cfg
	b, _ := json.Marshal(&named)
	lines.Write(append(b, '\n'))
	f := filepath.Join(dir, "runs.json")
	os.WriteFile(f, lines.Bytes(), 0o644)
	var out, errb bytes.Buffer
	if code := realMain([]string{"summarize", dir}, &out, &errb); code != 0 {
		t.Fatalf("summarize exit %d: %s", code, errb.String())
	}
	sc := bufio.NewScanner(&out)
	found, foundCase := false, false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "| fanout50 | srvA | 3 | 200 (100–300)") {
			found = true
		}
		if strings.HasPrefix(sc.Text(), "| mycase | srvA | 1 |") {
			foundCase = true
		}
	}
	if !found || !foundCase {
		t.Fatalf("summary:\n%s", out.String())
	}
}

func TestHandshakeTimeout(t *testing.T) {
	for _, mode := range ioModes {
		t.Run(mode, func(t *testing.T) {
			srv := newTestServer(t, false)
			srv.noJoinAck = true
			addr := srv.start()
			start := time.Now()
			res := runTool(t, "fanout", "-addr", addr, "-io", mode, "-subs", "20", "-handshake-timeout", "300ms", "-rates", "1000")
			if el := time.Since(start); el > 10*time.Second {
				t.Fatalf("run took %v with a 300ms handshake timeout", el)
			}
			if res.Open == nil || res.Open.Failed != 20 || res.Open.Opened != 0 || len(res.Open.Errors) == 0 {
				t.Fatalf("open %+v, error %q", res.Open, res.Error)
			}
			if e := res.Open.Errors[0]; !strings.Contains(e, "timed out") && !strings.Contains(e, "timeout") {
				t.Fatalf("error %q does not name the timeout", e)
			}
		})
	}
}

func TestTimeoutBoundsTheRun(t *testing.T) {
	srv := newTestServer(t, false)
	srv.noJoinAck = true
	addr := srv.start()
	start := time.Now()
	res := runTool(t, "fanout", "-addr", addr, "-subs", "20", "-handshake-timeout", "1m", "-timeout", "1500ms")
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("run took %v despite -timeout 1.5s", el)
	}
	if !strings.Contains(res.Error, "deadline") && !strings.Contains(res.Error, "timeout") {
		t.Fatalf("error %q does not mention the timeout", res.Error)
	}
}

func TestProgressLine(t *testing.T) {
	srv := newTestServer(t, false)
	addr := srv.start()
	var out, errb bytes.Buffer
	args := []string{"fanout", "-addr", addr, "-subs", "20", "-rates", "500", "-progress", "on", "-timeout", "30s",
		"-warmup", "600ms", "-step", "1200ms", "-drain", "500ms", "-settle-max", "300ms", "-p99", "30s"}
	if code := realMain(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	e := errb.String()
	if !strings.Contains(e, "\r\033[K") || !strings.Contains(e, "step 1") || !strings.Contains(e, "delivered") {
		t.Fatalf("progress output %q", e)
	}
	if !strings.Contains(out.String(), "Max sustainable") {
		t.Fatalf("text report %q", out.String())
	}
}
