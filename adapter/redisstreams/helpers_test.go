package redisstreams_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/sioloop/sioloop/adapter/redisstreams"
	"github.com/sioloop/sioloop/internal/redistest"
	"github.com/sioloop/sioloop/sio"
)

// waitTimeout bounds every wait: generous for a loaded 2-core machine;
// nothing waits for it to pass.
const waitTimeout = 20 * time.Second

// testNode is one sio server on the streams adapter, on its own port.
// Its clients pass {"rooms": [...], "data": {...}} in their CONNECT auth
// (joined and set unless the session was recovered); its reports (connect,
// disconnect) go to events.
type testNode struct {
	name string
	srv  *sio.Server
	ra   *redisstreams.Adapter
	addr string

	events *lineLog
}

type nodeOpts struct {
	tune     func(*redisstreams.Config)
	recovery bool
	setup    func(*testNode)
}

func startNode(t *testing.T, name string, rs *redistest.Server, o nodeOpts) *testNode {
	t.Helper()
	cfg := redisstreams.Config{Addr: rs.Addr(), Logger: slog.New(slog.NewTextHandler(testWriter{t, name}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if o.tune != nil {
		o.tune(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ra, err := redisstreams.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc := sio.Config{Adapter: ra.ForNamespace, Loops: 1}
	if o.recovery {
		sc.ConnectionStateRecovery = &sio.RecoveryConfig{MaxDisconnectionDuration: time.Minute, SkipMiddlewares: true}
	}
	n := &testNode{name: name, srv: sio.NewServer(sc), ra: ra, events: newLog()}
	n.srv.OnConnection(func(s *sio.Socket) {
		if !s.Recovered() {
			var auth struct {
				Rooms []string        `json:"rooms"`
				Data  json.RawMessage `json:"data"`
			}
			json.Unmarshal(s.Auth(), &auth)
			if len(auth.Data) > 0 {
				var d any
				json.Unmarshal(auth.Data, &d)
				s.SetData(d)
			}
			s.Join(auth.Rooms...)
		}
		s.OnDisconnect(func(reason string) { n.events.add("disconnect " + s.ID() + " " + reason) })
		s.On("broadcast", func(ev *sio.Event) {
			var tag string
			ev.Decode(&tag)
			s.Broadcast().Emit("bc", tag)
			ev.Ack(n.name)
		})
		n.events.add("connect " + s.ID() + " " + strconv.FormatBool(s.Recovered()))
	})
	if o.setup != nil {
		o.setup(n)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = l.Addr().String()
	l.Close()
	go n.srv.ListenAndServe(n.addr, nil)
	select {
	case <-n.srv.Ready():
	case <-time.After(waitTimeout):
		t.Fatal("not listening")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.srv.Shutdown(ctx)
		ra.Close()
	})
	return n
}

type testWriter struct {
	t    *testing.T
	name string
}

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("node %s: %s", w.name, strings.TrimSpace(string(b)))
	return len(b), nil
}

// lineLog is an append-only list of lines that tests wait on.
type lineLog struct {
	mu      sync.Mutex
	lines   []string      // guarded by mu
	changed chan struct{} // guarded by mu; closed and replaced on each add
	closed  bool          // guarded by mu
}

func newLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *lineLog) end() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.changed)
	}
	l.mu.Unlock()
}

// changedCh is closed at the next add.
func (l *lineLog) changedCh() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

func (l *lineLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// wait returns the lines once match found n of them (counting from the
// start, so nothing that came before the wait is missed).
func (l *lineLog) wait(t testing.TB, what string, n int, match func(string) bool) []string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		l.mu.Lock()
		var got []string
		for _, s := range l.lines {
			if match(s) {
				got = append(got, s)
			}
		}
		ch, closed := l.changed, l.closed
		all := len(l.lines)
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if closed {
			t.Fatalf("waiting for %s: connection closed after %d lines (%d matching)", what, all, len(got))
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("waiting for %s: %d of %d; last lines:\n%s", what, len(got), n, strings.Join(tail(l.snapshot(), 20), "\n"))
		}
	}
}

func tail(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// wsClient is a raw socket.io client of the root namespace over
// WebSocket: it records every packet it gets, in order (binary frames as
// "bin:<bytes>"), answers pings, and acknowledges every event that asks
// with [{"arg": <its first argument>, "client": <its name>}].
type wsClient struct {
	name string
	conn net.Conn
	r    io.Reader
	wmu  sync.Mutex
	pkts *lineLog
	sid  string
	pid  string
	// before are the events received before the CONNECT reply (a replay).
	before []event
}

// event is a received EVENT: its arguments and, with recovery, its offset.
type event struct {
	name   string
	args   []json.RawMessage
	offset string
}

var offsetRE = regexp.MustCompile(`^\d+-\d+$`)

func parseEvent(pkt string) (event, bool) {
	var body string
	switch {
	case strings.HasPrefix(pkt, "2"):
		body = strings.TrimLeft(pkt[1:], "0123456789")
	case strings.HasPrefix(pkt, "5"):
		i := strings.Index(pkt, "-")
		if i < 0 {
			return event{}, false
		}
		body = strings.TrimLeft(pkt[i+1:], "0123456789")
	default:
		return event{}, false
	}
	var args []json.RawMessage
	if json.Unmarshal([]byte(body), &args) != nil || len(args) == 0 {
		return event{}, false
	}
	var e event
	json.Unmarshal(args[0], &e.name)
	e.args = args[1:]
	if n := len(e.args); n > 0 {
		var off string
		if json.Unmarshal(e.args[n-1], &off) == nil && offsetRE.MatchString(off) {
			e.offset, e.args = off, e.args[:n-1]
		}
	}
	return e, true
}

func (e event) arg(i int) string {
	if i >= len(e.args) {
		return ""
	}
	var s string
	if json.Unmarshal(e.args[i], &s) != nil {
		return string(e.args[i])
	}
	return s
}

// dial connects a client to n with auth and waits for the CONNECT reply.
func dial(t *testing.T, n *testNode, name string, auth any) *wsClient {
	t.Helper()
	c, err := tryDial(n.addr, name, auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	c.waitConnect(t)
	return c
}

func tryDial(addr, name string, auth any) (*wsClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		return nil, err
	}
	c := &wsClient{name: name, conn: conn, r: conn, pkts: newLog()}
	if br != nil {
		c.r = br
	}
	first, err := wsutil.ReadServerText(c)
	if err != nil || len(first) == 0 || first[0] != '0' {
		conn.Close()
		return nil, fmt.Errorf("no Engine.IO open: %q %v", first, err)
	}
	a, _ := json.Marshal(auth)
	if auth == nil {
		a = []byte("{}")
	}
	c.write("0" + string(a))
	go c.read()
	return c, nil
}

func (c *wsClient) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *wsClient) Write(b []byte) (int, error) { return c.conn.Write(b) }

func (c *wsClient) write(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	wsutil.WriteClientText(c.conn, []byte("4"+s))
}

func (c *wsClient) read() {
	defer c.pkts.end()
	for {
		b, op, err := wsutil.ReadServerData(c)
		if err != nil {
			return
		}
		if op == ws.OpBinary {
			c.pkts.add("bin:" + string(b))
			continue
		}
		s := string(b)
		switch {
		case s == "2":
			c.wmu.Lock()
			wsutil.WriteClientText(c.conn, []byte("3"))
			c.wmu.Unlock()
		case strings.HasPrefix(s, "4"):
			pkt := s[1:]
			if len(pkt) > 1 && pkt[0] == '2' && pkt[1] >= '0' && pkt[1] <= '9' {
				if i := strings.IndexByte(pkt, '['); i > 0 {
					e, _ := parseEvent(pkt)
					first := "null"
					if len(e.args) > 0 {
						first = string(e.args[0])
					}
					c.write("3" + pkt[1:i] + `[{"arg":` + first + `,"client":"` + c.name + `"}]`)
				}
			}
			c.pkts.add(pkt)
		}
	}
}

// waitConnect waits for the CONNECT reply and keeps the events before it.
func (c *wsClient) waitConnect(t *testing.T) {
	t.Helper()
	c.pkts.wait(t, c.name+" CONNECT reply", 1, func(s string) bool { return strings.HasPrefix(s, "0") || strings.HasPrefix(s, "4") })
	for _, p := range c.pkts.snapshot() {
		if strings.HasPrefix(p, "4") {
			t.Fatalf("%s: connect error %s", c.name, p)
		}
		if strings.HasPrefix(p, "0") {
			var r struct{ Sid, Pid string }
			json.Unmarshal([]byte(p[1:]), &r)
			c.sid, c.pid = r.Sid, r.Pid
			return
		}
		if e, ok := parseEvent(p); ok {
			c.before = append(c.before, e)
		}
	}
}

// events returns the events received so far named name.
func (c *wsClient) events(name string) []event {
	var out []event
	for _, p := range c.pkts.snapshot() {
		if e, ok := parseEvent(p); ok && (name == "" || e.name == name) {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent waits until n events named name with first argument tag came.
func (c *wsClient) waitEvent(t *testing.T, name, tag string, n int) []event {
	t.Helper()
	lines := c.pkts.wait(t, fmt.Sprintf("client %s to get %s %s", c.name, name, tag), n, func(s string) bool {
		e, ok := parseEvent(s)
		return ok && e.name == name && (tag == "" || e.arg(0) == tag)
	})
	out := make([]event, len(lines))
	for i, l := range lines {
		out[i], _ = parseEvent(l)
	}
	return out
}

// count is how many events named name with first argument tag came.
func (c *wsClient) count(name, tag string) int {
	n := 0
	for _, e := range c.events(name) {
		if e.arg(0) == tag {
			n++
		}
	}
	return n
}

// emitWithAck sends an event with an ack id and waits for the answer.
func (c *wsClient) emitWithAck(t *testing.T, id int, name string, args ...any) []json.RawMessage {
	t.Helper()
	b, _ := json.Marshal(append([]any{name}, args...))
	c.write("2" + strconv.Itoa(id) + string(b))
	prefix := "3" + strconv.Itoa(id) + "["
	lines := c.pkts.wait(t, "ack "+strconv.Itoa(id), 1, func(s string) bool { return strings.HasPrefix(s, prefix) })
	var out []json.RawMessage
	json.Unmarshal([]byte(lines[0][len(prefix)-1:]), &out)
	return out
}

// drop closes the connection as a network failure would (transport
// close: the session is kept for recovery).
func (c *wsClient) drop() { c.conn.Close() }

func (c *wsClient) close() { c.conn.Close() }

// waitDisconnect waits until n reported that socket sid disconnected.
func (n *testNode) waitDisconnect(t *testing.T, sid string) string {
	t.Helper()
	l := n.events.wait(t, "disconnect of "+sid, 1, func(s string) bool { return strings.HasPrefix(s, "disconnect "+sid+" ") })
	return strings.TrimPrefix(l[0], "disconnect "+sid+" ")
}

// fence broadcasts event "fence" with tag from n to everyone and waits
// until each client got it: whatever was sent before from n to them is
// there by then.
func fence(t *testing.T, n *testNode, tag string, clients ...*wsClient) {
	t.Helper()
	if err := n.srv.Emit("fence", tag); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.waitEvent(t, "fence", tag, 1)
	}
}

func stepCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}
