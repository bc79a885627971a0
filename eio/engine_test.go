package eio_test

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
)

// slack is how late a heartbeat event may be: the session must be gone at
// pingInterval+pingTimeout, not swept later (Heartbeat in the Engine.IO v4
// protocol, socket.io docs/engine.io-protocol/v4-current.md; the v4 test
// suite expects a 400 right at that deadline).
const slack = 100 * time.Millisecond

var fastPing = eio.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}

// timed runs a timing measurement up to three times on fresh sessions.
// measure returns "" when the event came in its window, or a description
// of how late it was. An early event, a wrong reason or a protocol error
// fails at once inside measure: no load makes a correct server early, but
// a load spike on a shared machine can make one measurement late, while a
// server that is systematically late (a coarse sweeper) misses all three.
func timed(t *testing.T, measure func(t *testing.T) string) {
	t.Helper()
	var misses []string
	for range 3 {
		miss := measure(t)
		if miss == "" {
			return
		}
		misses = append(misses, miss)
	}
	t.Fatalf("late in all 3 attempts: %s", strings.Join(misses, "; "))
}

func TestHeartbeatPingsEveryInterval(t *testing.T) {
	e := startEngine(t, fastPing, nil)
	timed(t, func(t *testing.T) string {
		c, sid := e.openWS(t)
		defer c.conn.Close()
		// Each ping is scheduled pingInterval after the previous pong
		// arrives, so consecutive pings, answered at once, are at least
		// pingInterval apart, and late by no more than slack.
		var last time.Time
		miss := ""
		for i := 0; i < 4; i++ {
			if got := c.next(t); got != "2" {
				t.Fatalf("got %q, want ping", got)
			}
			now := time.Now()
			c.send(t, "3")
			if i > 0 {
				gap := now.Sub(last)
				if gap < fastPing.PingInterval {
					t.Fatalf("ping %d came %v after ping %d, before pingInterval %v", i, gap, i-1, fastPing.PingInterval)
				}
				if gap > fastPing.PingInterval+slack && miss == "" {
					miss = "ping " + strconv.Itoa(i) + " came " + gap.String() + " after the previous one"
				}
			}
			last = now
		}
		if e.isClosed(sid) {
			t.Fatal("session closed although every ping was answered")
		}
		return miss
	})
}

func TestHeartbeatFirstPingAfterHandshake(t *testing.T) {
	e := startEngine(t, fastPing, nil)
	timed(t, func(t *testing.T) string {
		start := time.Now()
		c, _ := e.openWS(t)
		defer c.conn.Close()
		opened := time.Since(start)
		if got := c.next(t); got != "2" {
			t.Fatalf("got %q, want ping", got)
		}
		// The timer starts with the session, between start and opened.
		el := time.Since(start)
		if el < fastPing.PingInterval {
			t.Fatalf("first ping %v after the handshake began, before pingInterval", el)
		}
		if el > fastPing.PingInterval+opened+slack {
			return "first ping after " + el.String() + " (handshake " + opened.String() + ")"
		}
		return ""
	})
}

func TestHeartbeatTimeoutWebSocket(t *testing.T) {
	e := startEngine(t, fastPing, nil)
	timed(t, func(t *testing.T) string {
		start := time.Now()
		c, sid := e.openWS(t)
		opened := time.Since(start)
		if got := c.next(t); got != "2" {
			t.Fatalf("got %q, want ping", got)
		}
		// No pong: the server closes the WebSocket (no code) at
		// pingInterval+pingTimeout after the session began.
		c.expectClose(t, -1)
		ev := e.closed(t, sid)
		if ev.reason != eio.ReasonPingTimeout {
			t.Fatalf("reason %q, want %q", ev.reason, eio.ReasonPingTimeout)
		}
		if e.Session(sid) != nil {
			t.Fatal("session still registered")
		}
		death := fastPing.PingInterval + fastPing.PingTimeout
		el := ev.at.Sub(start)
		if el < death {
			t.Fatalf("closed %v after the handshake began, before %v", el, death)
		}
		if el > death+opened+slack {
			return "closed after " + el.String() + " (handshake " + opened.String() + ")"
		}
		return ""
	})
}

func TestHeartbeatTimeoutAfterPong(t *testing.T) {
	e := startEngine(t, fastPing, nil)
	timed(t, func(t *testing.T) string {
		c, sid := e.openWS(t)
		if got := c.next(t); got != "2" {
			t.Fatalf("got %q, want ping", got)
		}
		// Taken before sending: the server's deadline restarts after this.
		pong := time.Now()
		c.send(t, "3")
		if got := c.next(t); got != "2" {
			t.Fatalf("got %q, want second ping", got)
		}
		ev := e.closed(t, sid)
		if ev.reason != eio.ReasonPingTimeout {
			t.Fatalf("reason %q", ev.reason)
		}
		death := fastPing.PingInterval + fastPing.PingTimeout
		el := ev.at.Sub(pong)
		if el < death {
			t.Fatalf("closed %v after the pong, before %v", el, death)
		}
		if el > death+slack {
			return "closed " + el.String() + " after the pong"
		}
		return ""
	})
}

func TestHeartbeatTimeoutPolling(t *testing.T) {
	e := startEngine(t, fastPing, nil)
	timed(t, func(t *testing.T) string {
		start := time.Now()
		p := e.openPolling(t)
		opened := time.Since(start)
		// The client never polls again: the ping waits in the queue.
		ev := e.closed(t, p.sid)
		if ev.reason != eio.ReasonPingTimeout {
			t.Fatalf("reason %q", ev.reason)
		}
		if status, body := p.get(t); status != 400 || body != `{"code":1,"message":"Session ID unknown"}` {
			t.Fatalf("GET after the timeout: %d %q", status, body)
		}
		death := fastPing.PingInterval + fastPing.PingTimeout
		el := ev.at.Sub(start)
		if el < death {
			t.Fatalf("closed %v after the handshake began, before %v", el, death)
		}
		if el > death+opened+slack {
			return "closed after " + el.String() + " (handshake " + opened.String() + ")"
		}
		return ""
	})
}

func TestHeartbeatPollingPingAnswered(t *testing.T) {
	e := startEngine(t, fastPing, nil)
	p := e.openPolling(t)
	// A polling client that answers every ping stays; over a few cycles
	// each GET returns exactly one ping.
	for i := 0; i < 3; i++ {
		if status, body := p.get(t); status != 200 || body != "2" {
			t.Fatalf("GET %d: %d %q, want 200 \"2\"", i, status, body)
		}
		if status, body := p.post(t, "3"); status != 200 || body != "ok" {
			t.Fatalf("POST pong: %d %q", status, body)
		}
	}
	if e.isClosed(p.sid) {
		t.Fatal("session closed although every ping was answered")
	}
}

func TestPollingPayloadSplit(t *testing.T) {
	e := startEngine(t, eio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 100}, nil)
	p := e.openPolling(t)
	s := p.session()
	msg := func(i int) string { return strconv.Itoa(i) + strings.Repeat("x", 28) } // record "4"+29 bytes = 30
	for i := 0; i < 5; i++ {
		s.Send([]byte(msg(i)))
	}
	bin := []byte(strings.Repeat("\x01", 30)) // record "b"+40 base64 bytes = 41
	s.SendBinary(bin)
	big := strings.Repeat("B", 149) // record of 150 bytes, above maxPayload on its own
	s.Send([]byte(big))
	s.Send([]byte("tail"))

	rec := func(i int) string { return "4" + msg(i) }
	b64 := "b" + strings.Repeat("AQEB", 10)
	want := []string{
		// 30+1+30+1+30 = 92 bytes; a 4th record would make 123 > 100.
		rec(0) + "\x1e" + rec(1) + "\x1e" + rec(2),
		// 30+1+30+1+41 = 103 > 100: the binary record waits.
		rec(3) + "\x1e" + rec(4),
		// 41 bytes; the big record would make 193.
		b64,
		// A record larger than maxPayload still goes, alone.
		"4" + big,
		"4tail",
	}
	for i, w := range want {
		status, body := p.get(t)
		if status != 200 || body != w {
			t.Fatalf("GET %d: %d %q, want %q", i, status, body, w)
		}
		if len(body) > 100 && strings.Contains(body, "\x1e") {
			t.Fatalf("GET %d: %d bytes in several records, above maxPayload", i, len(body))
		}
	}
}

func TestPollingPayloadDecode(t *testing.T) {
	e := startEngine(t, eio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)
	p := e.openPolling(t)
	// Records: text, binary (b + base64), empty message, ignored noop and pong.
	if status, body := p.post(t, "4hello\x1ebAQID\x1e4\x1e6\x1e3\x1e4é"); status != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", status, body)
	}
	want := []string{"hello", "b:\x01\x02\x03", "", "é"}
	eventually(t, "4 messages", func() bool { return len(e.messages(p.sid)) == 4 })
	if got := e.messages(p.sid); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("messages %q, want %q", got, want)
	}
}

// Close semantics as engine.io does them (lib/socket.ts, close and
// onClose; lib/transports/polling.ts, onClose and doClose): who closes,
// over which transport, and what is sent.
func TestCloseSemantics(t *testing.T) {
	cfg := eio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}
	unknown := `{"code":1,"message":"Session ID unknown"}`

	t.Run("client POST 1 releases the parked GET with a noop", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		p := e.openPolling(t)
		got := parkGet(t, p)
		if status, body := p.post(t, "1"); status != 200 || body != "ok" {
			t.Fatalf("POST 1: %d %q", status, body)
		}
		if r := <-got; r != "200 6" {
			t.Fatalf("parked GET: %s, want 200 6", r)
		}
		if ev := e.closed(t, p.sid); ev.reason != eio.ReasonTransportClose {
			t.Fatalf("reason %q", ev.reason)
		}
		if status, body := p.get(t); status != 400 || body != unknown {
			t.Fatalf("GET after close: %d %q", status, body)
		}
	})

	t.Run("client close packet over WebSocket closes at once", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		c, sid := e.openWS(t)
		c.send(t, "1")
		// With a 20 s ping interval only an immediate close fits in wait.
		c.expectClose(t, -1)
		if ev := e.closed(t, sid); ev.reason != eio.ReasonTransportClose {
			t.Fatalf("reason %q", ev.reason)
		}
	})

	t.Run("server close over polling answers the parked GET with 1", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		p := e.openPolling(t)
		got := parkGet(t, p)
		p.session().Close()
		if r := <-got; r != "200 1" {
			t.Fatalf("parked GET: %s, want 200 1", r)
		}
		if ev := e.closed(t, p.sid); ev.reason != eio.ReasonForcedClose {
			t.Fatalf("reason %q", ev.reason)
		}
		if status, body := p.get(t); status != 400 || body != unknown {
			t.Fatalf("GET after close: %d %q", status, body)
		}
	})

	t.Run("server close over polling delivers queued packets first", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		p := e.openPolling(t)
		s := p.session()
		s.Send([]byte("last words"))
		s.Close()
		// As engine.io: the queued packets drain in one poll, the close
		// packet comes in the next.
		if status, body := p.get(t); status != 200 || body != "4last words" {
			t.Fatalf("GET: %d %q, want 200 \"4last words\"", status, body)
		}
		if status, body := p.get(t); status != 200 || body != "1" {
			t.Fatalf("second GET: %d %q, want 200 \"1\"", status, body)
		}
		if ev := e.closed(t, p.sid); ev.reason != eio.ReasonForcedClose {
			t.Fatalf("reason %q", ev.reason)
		}
		if e.Count() != 0 {
			t.Fatalf("count %d after close", e.Count())
		}
		// Nothing is sent after Close.
		s.Send([]byte("too late"))
		if status, body := p.get(t); status != 400 || body != unknown {
			t.Fatalf("GET after close: %d %q", status, body)
		}
	})

	t.Run("server close over WebSocket sends no close packet", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		c, sid := e.openWS(t)
		e.Session(sid).Send([]byte("bye"))
		e.Session(sid).Close()
		if got := c.next(t); got != "4bye" {
			t.Fatalf("got %q, want 4bye", got)
		}
		c.expectClose(t, -1)
		if ev := e.closed(t, sid); ev.reason != eio.ReasonForcedClose {
			t.Fatalf("reason %q", ev.reason)
		}
	})

	t.Run("parked GET whose client vanishes closes the session", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		p := e.openPolling(t)
		conn := rawConn(t, e.addr)
		target := strings.TrimPrefix(p.url(), "http://"+e.addr)
		if _, err := conn.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the GET to be parked", func() bool { s := p.session(); return s != nil && s.Writable() })
		conn.Close()
		if ev := e.closed(t, p.sid); ev.reason != eio.ReasonTransportError {
			t.Fatalf("reason %q, want %q", ev.reason, eio.ReasonTransportError)
		}
	})

	t.Run("Close is idempotent and OnClose runs once", func(t *testing.T) {
		var calls atomic.Int32
		e := startEngine(t, cfg, func(s *eio.Session) {
			s.OnClose(func(string) { calls.Add(1) })
		})
		c, sid := e.openWS(t)
		s := e.Session(sid)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); s.Close() }()
		}
		wg.Wait()
		c.expectClose(t, -1)
		eventually(t, "session removal", func() bool { return e.Count() == 0 })
		eventually(t, "OnClose", func() bool { return calls.Load() >= 1 })
		// A bounded negative check, not a synchronisation: no second
		// OnClose within 50ms.
		time.Sleep(50 * time.Millisecond)
		if n := calls.Load(); n != 1 {
			t.Fatalf("OnClose ran %d times", n)
		}
	})
}

// parkGet starts a GET and returns once the server holds it; the channel
// yields "status body".
func parkGet(t *testing.T, p *poll) <-chan string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		status, body := p.get(t)
		got <- strconv.Itoa(status) + " " + body
	}()
	eventually(t, "the GET to be parked", func() bool {
		s := p.session()
		return s != nil && s.Writable()
	})
	return got
}

// Messages the server sends while a polling session upgrades arrive once
// each and in order, partly over polling and the rest over WebSocket.
func TestUpgradeKeepsOrder(t *testing.T) {
	var (
		upgraded atomic.Bool
		sent     atomic.Int64
		sender   sync.WaitGroup
		begin    = make(chan struct{})
	)
	const after = 200 // messages sent after the switch
	e := startEngine(t, eio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, func(s *eio.Session) {
		s.OnUpgrade(func(string) { upgraded.Store(true) })
		sender.Add(1)
		go func() {
			defer sender.Done()
			<-begin
			// Send until well after the switch, then a terminator.
			extra := -1
			for i := 0; ; i++ {
				s.Send([]byte(strconv.Itoa(i)))
				sent.Store(int64(i + 1))
				if upgraded.Load() {
					extra++
					if extra == after {
						s.Send([]byte("end"))
						return
					}
				}
				if i%16 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		}()
	})
	t.Cleanup(sender.Wait)

	p := e.openPolling(t)
	close(begin)
	var got []string
	var viaPolling int
	addPayload := func(body string) {
		for _, rec := range strings.Split(body, "\x1e") {
			switch {
			case rec == "6", rec == "2":
			case strings.HasPrefix(rec, "4"):
				got = append(got, rec[1:])
				viaPolling++
			default:
				t.Fatalf("unexpected polling record %q", rec)
			}
		}
	}
	// Poll a few times so that messages flow over polling first.
	for i := 0; i < 3; i++ {
		status, body := p.get(t)
		if status != 200 {
			t.Fatalf("GET: %d %q", status, body)
		}
		addPayload(body)
	}
	c := dialWS(t, e.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
	c.send(t, "2probe")
	if got := c.next(t); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	// Pause polling as engine.io-client does: finish the GET in flight
	// (queued messages or, after at most 100 ms, a noop), then send "5".
	// Messages sent meanwhile are queued for polling and must move to the
	// WebSocket in order.
	status, body := p.get(t)
	if status != 200 {
		t.Fatalf("GET during the probe: %d %q", status, body)
	}
	addPayload(body)
	c.send(t, "5")
	for {
		m, err := c.read(wait)
		if err != nil {
			t.Fatalf("read after %d messages: %v", len(got), err)
		}
		if m.op != ws.OpText || !strings.HasPrefix(m.data, "4") {
			t.Fatalf("got %v %q", m.op, m.data)
		}
		if m.data == "4end" {
			break
		}
		got = append(got, m.data[1:])
	}
	for i, g := range got {
		if g != strconv.Itoa(i) {
			t.Fatalf("message %d is %q (polling carried %d, %d in all)", i, g, viaPolling, len(got))
		}
	}
	if n := int64(len(got)); n != sent.Load() {
		t.Fatalf("received %d messages, server sent %d", n, sent.Load())
	}
	if viaPolling == 0 || viaPolling == len(got) {
		t.Fatalf("%d of %d messages over polling: the upgrade did not happen mid-stream", viaPolling, len(got))
	}
	if s := p.session(); s == nil || s.Transport() != eio.WebSocket {
		t.Fatal("session not on websocket")
	}
}
