package main

import (
	"testing"

	"github.com/gobwas/ws"
)

// deliveryBatch returns n server frames of delivered broadcasts for step s,
// as one read from a coalescing server would hold them.
func deliveryBatch(n, s int, tUs int64) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		p := appendBcast(nil, true, "r1", s, int64(i), tUs, pad(64))
		b = appendFrame(b, ws.OpText, false, p)
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
	b := appendFrame(nil, ws.OpText, false, []byte(`42["msg",{"t":5}]`))
	b = appendFrame(b, ws.OpText, false, []byte(`42["msg",{"s":999,"t":5}]`))
	if _, err := c.consume(b, 10); err != nil {
		t.Fatal(err)
	}
	if p.stray.Load() != 2 || p.total.Load() != 2 {
		t.Fatalf("stray %d total %d", p.stray.Load(), p.total.Load())
	}
	for _, bad := range [][]byte{
		appendFrame(nil, ws.OpText, false, []byte("1")),         // Engine.IO close
		appendFrame(nil, ws.OpText, false, []byte("41")),        // Socket.IO disconnect
		appendFrame(nil, ws.OpContinuation, false, []byte("x")), // continuation first
		{0xc1, 0x00}, // RSV1
		appendFrame(nil, ws.OpText, false, []byte(`44{"message":"denied"}`)), // connect error
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
