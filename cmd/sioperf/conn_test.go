package main

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/wsframe"
)

// deliveryBatch returns n server frames of delivered broadcasts for step s,
// as one read from a coalescing server would hold them.
func deliveryBatch(n, s int, tUs int64) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		p := appendBcast(nil, true, "r1", s, int64(i), tUs, pad(64))
		b = wsframe.AppendFrame(b, ws.OpText, p)
	}
	return b
}

func TestConsumeCountsDeliveries(t *testing.T) {
	p := &pool{handshakes: newHist()}
	c := &conn{p: p, state: stReady}
	b := deliveryBatch(50, 3, 1000)
	// Split the batch at every byte: whole frames are consumed, the rest is
	// kept for the next read, and nothing is counted twice.
	for split := 0; split <= len(b); split++ {
		p.steps[3].Store(nil)
		p.total.Store(0)
		buf := append([]byte(nil), b[:split]...)
		n, err := c.consume(buf, 1500)
		if err != nil {
			t.Fatal(err)
		}
		rest := append(append([]byte(nil), b[n:split]...), b[split:]...)
		m, err := c.consume(rest, 1500)
		if err != nil || m != len(rest) {
			t.Fatalf("split %d: consumed %d of %d: %v", split, m, len(rest), err)
		}
		st := p.steps[3].Load()
		if st == nil || st.delivered.Load() != 50 || p.total.Load() != 50 || st.hist.Count() != 50 {
			t.Fatalf("split %d: delivered %v total %d", split, st, p.total.Load())
		}
		if st.lastUs.Load() != 1500 || st.hist.Max() != 500 {
			t.Fatalf("split %d: last %d max latency %d", split, st.lastUs.Load(), st.hist.Max())
		}
	}
}

func TestConsumeStrayAndErrors(t *testing.T) {
	p := &pool{handshakes: newHist()}
	c := &conn{p: p, state: stReady}
	// A delivery without "s" is stray; one with a step beyond the table too.
	b := wsframe.AppendFrame(nil, ws.OpText, []byte(`42["msg",{"t":5}]`))
	b = wsframe.AppendFrame(b, ws.OpText, []byte(`42["msg",{"s":999,"t":5}]`))
	if _, err := c.consume(b, 10); err != nil {
		t.Fatal(err)
	}
	if p.stray.Load() != 2 || p.total.Load() != 2 {
		t.Fatalf("stray %d total %d", p.stray.Load(), p.total.Load())
	}
	for _, bad := range [][]byte{
		wsframe.AppendFrame(nil, ws.OpText, []byte("1")),         // Engine.IO close
		wsframe.AppendFrame(nil, ws.OpText, []byte("41")),        // Socket.IO disconnect
		wsframe.AppendFrame(nil, ws.OpContinuation, []byte("x")), // continuation first
		{0xc1, 0x00}, // RSV1
		wsframe.AppendFrame(nil, ws.OpText, []byte(`44{"message":"denied"}`)), // connect error
	} {
		if _, err := c.consume(bad, 10); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestConsumeFragmentedMessage(t *testing.T) {
	p := &pool{handshakes: newHist()}
	c := &conn{p: p, state: stReady}
	msg := appendBcast(nil, true, "r1", 2, 1, 100, pad(8))
	var b []byte
	b = append(b, 0x01, byte(10)) // text, not final
	b = append(b, msg[:10]...)
	b = append(b, 0x80, byte(len(msg)-10)) // final continuation
	b = append(b, msg[10:]...)
	if n, err := c.consume(b, 150); err != nil || n != len(b) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if st := p.steps[2].Load(); st == nil || st.delivered.Load() != 1 {
		t.Fatal("fragmented delivery not counted")
	}
}

// BenchmarkConsumeDeliveries measures the load tool's per-delivery cost on
// its receive path for a 64-frame read, as from a coalescing server.
func BenchmarkConsumeDeliveries(b *testing.B) {
	p := &pool{handshakes: newHist()}
	c := &conn{p: p, state: stReady}
	batch := deliveryBatch(64, 1, 1000)
	buf := make([]byte, len(batch))
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		copy(buf, batch)
		if _, err := c.consume(buf, 2000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/delivery")
}

// fakeWS is an eio.WSConn that records what the load tool writes.
type fakeWS struct {
	mu     sync.Mutex
	sent   []string
	closed int
}

func (f *fakeWS) WriteMessage(_ bool, p []byte) {
	f.mu.Lock()
	f.sent = append(f.sent, string(p))
	f.mu.Unlock()
}
func (f *fakeWS) WriteFrames([]byte) { panic("sioperf writes messages, not frames") }
func (f *fakeWS) Close(int) {
	f.mu.Lock()
	f.closed++
	f.mu.Unlock()
}
func (f *fakeWS) Buffered() int      { return 0 }
func (f *fakeWS) Group() int         { return 0 }
func (f *fakeWS) RemoteAddr() string { return "fake" }
func (f *fakeWS) last() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		return "", 0
	}
	return f.sent[len(f.sent)-1], len(f.sent)
}

// loopConn returns a conn on the -io loop path whose handshake outcome is
// recorded in *got.
func loopConn(p *pool, room string, got *[]error) *conn {
	return &conn{p: p, viaLoop: true, room: room, start: time.Now(),
		done: func(_ *conn, _ time.Time, err error) { *got = append(*got, err) }}
}

func TestLoopHandshakeAndDeliveries(t *testing.T) {
	p := &pool{handshakes: newHist()}
	var got []error
	c := loopConn(p, "r1", &got)
	w := &fakeWS{}
	steps := []struct{ in, wantSent string }{
		{`0{"sid":"a","pingInterval":25000}`, "40"},
		{`40{"sid":"b"}`, `421["join","r1"]`},
		{"2", "3"}, // a heartbeat during the handshake is answered too
		{`431["ok"]`, "3"},
	}
	for _, s := range steps {
		c.OnMessage(w, false, []byte(s.in))
		if last, _ := w.last(); last != s.wantSent {
			t.Fatalf("after %q sent %q, want %q", s.in, last, s.wantSent)
		}
	}
	if len(got) != 1 || got[0] != nil || c.phase.Load() != phReady {
		t.Fatalf("handshake outcome %v phase %d", got, c.phase.Load())
	}
	if l := p.list(); len(l) != 1 || l[0] != c || c.wsc != w {
		t.Fatal("a ready connection is not in the pool with its WSConn")
	}
	// Deliveries are counted at once: the loop gives no end-of-read call.
	now := clockUs()
	for i := 0; i < 10; i++ {
		c.OnMessage(w, false, appendBcast(nil, true, "r1", 4, int64(i), now-1000, pad(8)))
	}
	st := p.steps[4].Load()
	if st == nil || st.delivered.Load() != 10 || p.total.Load() != 10 || st.hist.Count() != 10 {
		t.Fatalf("deliveries: step %v total %d", st, p.total.Load())
	}
	if lat := st.hist.Max(); lat < 1000 || lat > 10_000_000 {
		t.Fatalf("latency %dµs for a message stamped 1ms ago", lat)
	}
	if st.lastUs.Load() < now {
		t.Fatalf("last delivery %d before %d", st.lastUs.Load(), now)
	}
	// Echo: an ack for the request in flight sends the next request.
	eh := newHist()
	p.echoHist.Store(eh)
	p.echoEndUs.Store(clockUs() + 60e6)
	c.sendEcho(clockUs())
	_, n := w.last()
	stamp := strconv.FormatInt(clockUs(), 10)
	c.OnMessage(w, false, []byte(`437[{"t":`+stamp+`}]`)) // not the id in flight
	c.OnMessage(w, false, []byte(`431[{"t":`+stamp+`}]`))
	last, n2 := w.last()
	if eh.Summary().Count != 1 || p.echoBad.Load() != 1 || n2 != n+1 || !strings.HasPrefix(last, `422["echo",{"t":`) {
		t.Fatalf("echo done %d bad %d, sent %q", eh.Summary().Count, p.echoBad.Load(), last)
	}
	// A Socket.IO disconnect is a protocol error: counted, the connection
	// closed, and nothing after it handled.
	c.OnMessage(w, false, []byte("41"))
	c.OnMessage(w, false, appendBcast(nil, true, "r1", 4, 99, now, pad(8)))
	if p.protoErrors.Load() != 1 || w.closed != 1 || p.total.Load() != 10 {
		t.Fatalf("proto errors %d closes %d total %d", p.protoErrors.Load(), w.closed, p.total.Load())
	}
	p.live.Add(1)
	c.OnClose(w, nil)
	if p.disconnects.Load() != 1 {
		t.Fatalf("disconnects %d", p.disconnects.Load())
	}
}

func TestLoopHandshakeFailures(t *testing.T) {
	p := &pool{handshakes: newHist()}
	// A connect error ends the handshake with that error when the
	// connection closes.
	var got []error
	c := loopConn(p, "", &got)
	w := &fakeWS{}
	c.OnMessage(w, false, []byte(`0{}`))
	c.OnMessage(w, false, []byte(`44{"message":"denied"}`))
	p.live.Add(1)
	c.OnClose(w, nil)
	if len(got) != 1 || !errors.Is(got[0], errConnectErr) || w.closed != 1 || p.disconnects.Load() != 0 {
		t.Fatalf("outcome %v closes %d disconnects %d", got, w.closed, p.disconnects.Load())
	}
	// A connection that closes mid-handshake fails it, once.
	got = nil
	c = loopConn(p, "r2", &got)
	c.OnMessage(w, false, []byte(`0{}`))
	p.live.Add(1)
	c.OnClose(w, nil)
	if len(got) != 1 || !errors.Is(got[0], io.ErrUnexpectedEOF) {
		t.Fatalf("outcome %v", got)
	}
	// The handshake deadline wins over a late ack.
	got = nil
	c = loopConn(p, "r3", &got)
	c.OnMessage(w, false, []byte(`0{}`))
	c.OnMessage(w, false, []byte(`40{}`))
	if !c.finish(errHandshakeTimeout) {
		t.Fatal("finish did not end a running handshake")
	}
	c.OnMessage(w, false, []byte(`431["ok"]`))
	if len(got) != 1 || got[0] != errHandshakeTimeout || c.phase.Load() != phFailed {
		t.Fatalf("outcome %v phase %d", got, c.phase.Load())
	}
	for _, x := range p.list() {
		if x == c {
			t.Fatal("a timed-out connection joined the pool")
		}
	}
}

// BenchmarkLoopDeliveries is BenchmarkConsumeDeliveries for the -io loop
// path: the same 64-frame read decoded by a wsframe.Decoder, as the event
// loop does, and each message handed to OnMessage.
func BenchmarkLoopDeliveries(b *testing.B) {
	p := &pool{handshakes: newHist()}
	c := &conn{p: p, state: stReady, viaLoop: true}
	w := &fakeWS{}
	batch := deliveryBatch(64, 1, 1000)
	buf := make([]byte, len(batch))
	dec := wsframe.Decoder{Client: true, MaxMessageSize: maxFrame}
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		copy(buf, batch)
		for off := 0; off < len(buf); {
			n, msg, ok, err := dec.Decode(buf[off:])
			if err != nil || n == 0 {
				b.Fatal(n, err)
			}
			off += n
			if ok {
				c.OnMessage(w, false, msg.Payload)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/delivery")
}

// TestConsumeTimelineBinsByArrival checks that with a timeline started,
// deliveries count in the second they arrive in, whatever their step or
// send time, and that arrivals before the start or past the last tracked
// second are stray.
func TestConsumeTimelineBinsByArrival(t *testing.T) {
	p := &pool{handshakes: newHist()}
	c := &conn{p: p, state: stReady}
	const start = 10_000_000
	if err := p.StartTimeline(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	arrivals := []struct {
		name   string
		n      int
		nowUs  int64
		second int // -1: stray
	}{
		{name: "before the start", n: 3, nowUs: start - 1, second: -1},
		{name: "first second", n: 5, nowUs: start, second: 0},
		{name: "end of the first second", n: 2, nowUs: start + 999_999, second: 0},
		{name: "fourth second", n: 7, nowUs: start + 3_500_000, second: 3},
		{name: "past the last second", n: 1, nowUs: start + maxSeconds*1_000_000, second: -1},
	}
	want := map[int]uint64{}
	var stray uint64
	for _, a := range arrivals {
		// Sent at the start of the timeline, in step 9: neither decides
		// the bin.
		if _, err := c.consume(deliveryBatch(a.n, 9, start-5_000_000), a.nowUs); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		c.flushBatch(a.nowUs)
		if a.second < 0 {
			stray += uint64(a.n)
		} else {
			want[a.second] += uint64(a.n)
		}
	}
	for sec := 0; sec < 5; sec++ {
		st, _ := p.SecondStats(context.Background(), sec, true)
		if st.Delivered != want[sec] {
			t.Errorf("second %d: %d delivered, want %d", sec, st.Delivered, want[sec])
		}
		if want[sec] > 0 && (st.Hist == nil || st.Hist.Total != want[sec]) {
			t.Errorf("second %d: hist %+v", sec, st.Hist)
		}
	}
	if p.steps[9].Load() != nil {
		t.Errorf("step 9 counted deliveries while the timeline ran")
	}
	if got := p.stray.Load(); got != stray {
		t.Errorf("%d stray, want %d", got, stray)
	}
	if p.total.Load() != 18 {
		t.Errorf("total %d, want 18", p.total.Load())
	}
}
