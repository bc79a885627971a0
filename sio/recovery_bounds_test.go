package sio

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// recordingWS is a WebSocket stand-in that keeps the text messages the
// server writes.
type recordingWS struct {
	fh   eio.FrameHandler
	mu   sync.Mutex
	msgs []string // guarded by mu
}

func (c *recordingWS) WriteMessage(binary bool, p []byte) {
	if !binary {
		c.mu.Lock()
		c.msgs = append(c.msgs, string(p))
		c.mu.Unlock()
	}
}

// WriteFrames splits b, complete unmasked server frames, into messages.
func (c *recordingWS) WriteFrames(b []byte) {
	for len(b) >= 2 {
		op, n, h := b[0]&0x0f, int(b[1]&0x7f), 2
		switch n {
		case 126:
			n, h = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, h = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		c.WriteMessage(op != 1, b[h:h+n])
		b = b[h+n:]
	}
}

func (c *recordingWS) Close(code int)     {}
func (c *recordingWS) Buffered() int      { return 0 }
func (c *recordingWS) Group() int         { return 0 }
func (c *recordingWS) RemoteAddr() string { return "127.0.0.1:1" }

// events returns the EVENT packets received so far, "42" stripped.
func (c *recordingWS) events() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if strings.HasPrefix(m, "42") {
			out = append(out, m[2:])
		}
	}
	return out
}

type recordingExchange struct {
	fakeExchange
	c *recordingWS
}

func (x *recordingExchange) Upgrade(h http.Header, fh eio.FrameHandler) (eio.WSConn, error) {
	x.c.fh = fh
	return x.c, nil
}

// connectRecording opens a WebSocket session and joins "/" with auth.
func connectRecording(srv *Server, auth string) *recordingWS {
	r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	c := &recordingWS{}
	srv.serveExchange(&recordingExchange{fakeExchange: fakeExchange{r: r}, c: c})
	c.fh.OnMessage(c, false, []byte("40"+auth))
	return c
}

// fakeClock is the recovery store's clock in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recoveryServer is a server with recovery whose sockets join room "r"
// and whose store runs on a fake clock.
func recoveryServer(t *testing.T, rc RecoveryConfig) (*Server, *fakeClock) {
	t.Helper()
	srv := NewServer(Config{Loops: 1, ConnectionStateRecovery: &rc})
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	srv.store.now = clock.now
	srv.OnConnection(func(s *Socket) {
		if !s.Recovered() {
			s.Join("r")
		}
	})
	return srv, clock
}

// offsetOf returns the offset an event carries as its last argument.
func offsetOf(t *testing.T, ev string) string {
	t.Helper()
	var args []json.RawMessage
	if err := json.Unmarshal([]byte(ev), &args); err != nil || len(args) == 0 {
		t.Fatalf("event %q: %v", ev, err)
	}
	var off string
	if err := json.Unmarshal(args[len(args)-1], &off); err != nil {
		t.Fatalf("event %q has no offset: %v", ev, err)
	}
	return off
}

// connected waits for c's CONNECT reply and returns its sid and pid.
func connected(t *testing.T, c *recordingWS) (sid, pid string) {
	t.Helper()
	var reply string
	waitUntil(t, "the CONNECT reply", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, m := range c.msgs {
			if strings.HasPrefix(m, "40{") {
				reply = m[2:]
				return true
			}
		}
		return false
	})
	var r struct{ SID, PID string }
	if err := json.Unmarshal([]byte(reply), &r); err != nil {
		t.Fatalf("CONNECT reply %q: %v", reply, err)
	}
	return r.SID, r.PID
}

// awaySocket connects a socket, lets it receive one event (so it has an
// offset), then drops its transport. It returns its id, pid and offset.
func awaySocket(t *testing.T, srv *Server) (id, pid, offset string) {
	t.Helper()
	c := connectRecording(srv, "")
	id, pid = connected(t, c)
	waitUntil(t, "the socket in its room", func() bool {
		s := srv.root.Socket(id)
		return s != nil && len(s.Rooms()) == 2
	})
	if err := srv.root.Socket(id).Emit("first"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the first event", func() bool { return len(c.events()) == 1 })
	offset = offsetOf(t, c.events()[0])
	c.fh.OnClose(c, nil) // transport close: recoverable
	waitUntil(t, "the socket to leave", func() bool { return srv.root.Socket(id) == nil })
	return id, pid, offset
}

// reconnect connects with {pid, offset} and reports whether the socket
// was recovered as id, with the events it was replayed.
func reconnect(t *testing.T, srv *Server, id, pid, offset string) (bool, []string) {
	t.Helper()
	c := connectRecording(srv, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, offset))
	sid, _ := connected(t, c)
	if sid != id {
		return false, nil
	}
	s := srv.root.Socket(id)
	if s == nil || !s.Recovered() {
		t.Fatalf("socket %s came back with its id but is not recovered", id)
	}
	// The replay is written before the CONNECT reply is answered.
	return true, c.events()
}

func (st *recoveryStore) sizes() (live, logLen, logBytes, sessions, saved int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return int(st.next - st.first), len(st.chunks) * logChunkLen, st.logBytes, len(st.sessions), len(st.saved) - st.savedHead
}

// A flood of emits keeps the log under MaxLogBytes; a client whose offset
// was dropped connects fresh, one whose offset is kept gets exactly the
// events it missed for its rooms, once each and in order.
func TestRecoveryLogBoundedBySize(t *testing.T) {
	const capBytes = 32 << 10
	srv, _ := recoveryServer(t, RecoveryConfig{MaxLogBytes: capBytes})
	st := srv.store
	oldID, oldPID, oldOffset := awaySocket(t, srv)
	pad := strings.Repeat("p", 100)
	for i := 0; i < 5000; i++ {
		if err := srv.To("r").Emit("ev", i, pad); err != nil {
			t.Fatal(err)
		}
		live, logLen, logBytes, _, _ := st.sizes()
		if logBytes > capBytes || live*storedOverhead > capBytes || logLen > live+2*logChunkLen {
			t.Fatalf("after %d emits: %d events, %d bytes, %d slots kept; cap %d bytes", i+1, live, logBytes, logLen, capBytes)
		}
	}
	if ok, _ := reconnect(t, srv, oldID, oldPID, oldOffset); ok {
		t.Fatal("a socket whose offset was trimmed from the log was recovered")
	}

	id, pid, offset := awaySocket(t, srv)
	var want []string
	for i := 0; i < 10; i++ {
		if err := srv.To("r").Emit("ev", i); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf(`["ev",%d`, i))
		if err := srv.To("elsewhere").Emit("no", i); err != nil {
			t.Fatal(err)
		}
		if err := srv.Except("r").Emit("no", i); err != nil {
			t.Fatal(err)
		}
	}
	ok, got := reconnect(t, srv, id, pid, offset)
	if !ok {
		t.Fatal("a socket back within the limits was not recovered")
	}
	if len(got) != len(want) {
		t.Fatalf("replayed %d events, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]+`,"`) {
			t.Fatalf("replayed event %d is %s, want %s...", i, got[i], want[i])
		}
	}
}

// A flood of disconnections, and of sessions resumed and dropped again,
// keeps the saved sessions under MaxSavedSessions: the oldest are
// forgotten, the newest still recover.
func TestRecoverySessionsBoundedByCount(t *testing.T) {
	const capSessions = 50
	srv, _ := recoveryServer(t, RecoveryConfig{MaxSavedSessions: capSessions})
	st := srv.store
	type away struct{ id, pid, offset string }
	var all []away
	check := func(when string) {
		t.Helper()
		_, _, _, sessions, saved := st.sizes()
		if sessions > capSessions || saved > 2*capSessions+64 {
			t.Fatalf("%s: %d sessions saved, %d queued; cap %d", when, sessions, saved, capSessions)
		}
	}
	for i := 0; i < 300; i++ {
		id, pid, off := awaySocket(t, srv)
		all = append(all, away{id, pid, off})
		check(fmt.Sprintf("after %d disconnections", i+1))
	}
	if ok, _ := reconnect(t, srv, all[0].id, all[0].pid, all[0].offset); ok {
		t.Fatal("the oldest session, past the cap, was recovered")
	}
	last := all[len(all)-1]
	for i := 0; i < 200; i++ {
		if ok, _ := reconnect(t, srv, last.id, last.pid, last.offset); !ok {
			t.Fatalf("round %d: the newest session was not recovered", i)
		}
		srv.root.Socket(last.id).client.sess.Close() // forced close: recoverable, saved again
		waitUntil(t, "the socket to leave", func() bool { return srv.root.Socket(last.id) == nil })
		check(fmt.Sprintf("after %d resumptions", i+1))
	}
}

// Sessions and events older than MaxDisconnectionDuration, by the store's
// clock, are dropped and no longer recover; younger ones do.
func TestRecoveryExpiresByAge(t *testing.T) {
	srv, clock := recoveryServer(t, RecoveryConfig{MaxDisconnectionDuration: time.Minute})
	st := srv.store
	id, pid, offset := awaySocket(t, srv)
	if err := srv.To("r").Emit("ev", 1); err != nil {
		t.Fatal(err)
	}
	clock.advance(30 * time.Second)
	id2, pid2, offset2 := awaySocket(t, srv)
	clock.advance(31 * time.Second) // the first session and its events are 61 s old
	st.expire()
	if live, _, _, sessions, _ := st.sizes(); sessions != 1 || live != 1 {
		t.Fatalf("after expiry: %d sessions and %d events kept, want 1 and 1", sessions, live)
	}
	if ok, _ := reconnect(t, srv, id, pid, offset); ok {
		t.Fatal("a session older than MaxDisconnectionDuration was recovered")
	}
	if ok, _ := reconnect(t, srv, id2, pid2, offset2); !ok {
		t.Fatal("a session 31 s old was not recovered")
	}
}

// TestRecoveryWaitsForTheOldClose: a client's reconnection can reach the
// server before the close of its old connection has been handled (they
// travel on two connections, handled by two mailboxes; seen under load in
// interop TestSIORecovery). The CONNECT must wait for that close and
// recover the socket, not start a new one.
func TestRecoveryWaitsForTheOldClose(t *testing.T) {
	srv, _ := recoveryServer(t, RecoveryConfig{MaxDisconnectionDuration: time.Minute})
	old := connectRecording(srv, "")
	id, pid := connected(t, old)
	waitUntil(t, "the socket in its room", func() bool {
		s := srv.root.Socket(id)
		return s != nil && len(s.Rooms()) == 2
	})
	if err := srv.root.Socket(id).Emit("first"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the first event", func() bool { return len(old.events()) == 1 })
	offset := offsetOf(t, old.events()[0])

	// The new CONNECT arrives while the old socket is still connected;
	// the old transport's close is seen only afterwards.
	c := connectRecording(srv, fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, offset))
	go func() {
		time.Sleep(100 * time.Millisecond) // the close comes later, not a synchronisation
		old.fh.OnClose(old, nil)
	}()
	sid, _ := connected(t, c)
	if sid != id {
		t.Fatalf("the client came back as a new socket %s, want %s recovered", sid, id)
	}
	if s := srv.root.Socket(id); s == nil || !s.Recovered() {
		t.Fatal("the socket is not recovered")
	}
}
