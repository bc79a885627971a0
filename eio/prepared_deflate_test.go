package eio

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/sioloop/sioloop/wsframe"
)

// frameConn records what WriteFrames gets; with deflate set it reports a
// negotiated permessage-deflate.
type frameConn struct {
	mu      sync.Mutex
	got     [][]byte
	deflate bool
}

func (c *frameConn) WriteMessage(bool, []byte) {}
func (c *frameConn) WriteFrames(b []byte) {
	c.mu.Lock()
	c.got = append(c.got, b)
	c.mu.Unlock()
}
func (c *frameConn) Close(int)          {}
func (c *frameConn) Buffered() int      { return 0 }
func (c *frameConn) Group() int         { return 0 }
func (c *frameConn) RemoteAddr() string { return "" }

type deflateFrameConn struct{ frameConn }

func (c *deflateFrameConn) Deflate() (int, int, bool) { return 1024, 1, c.deflate }

// A broadcast is compressed once, by the first deflate recipient, and the
// same bytes go to every other; the uncompressed frames go to the rest.
func TestPreparedDeflatedOnce(t *testing.T) {
	text := []byte(`["news","` + strings.Repeat("all the news that fits, ", 100) + `"]`)
	att := bytes.Repeat([]byte{9}, 4000)
	p := Prepare(text, []byte("tiny"), att)
	// As setLiveLocked makes it for a session's WebSocket.
	live := func(c WSConn) *liveWS { return &liveWS{c: c, deflate: deflates(c)} }
	plain := &frameConn{}
	var conns []*deflateFrameConn
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		c := &deflateFrameConn{frameConn{deflate: true}}
		conns = append(conns, c)
		wg.Add(1)
		go func() { defer wg.Done(); p.writeTo(live(c)) }()
	}
	off := &deflateFrameConn{} // implements DeflateConn, not negotiated
	p.writeTo(live(plain))
	p.writeTo(live(off))
	wg.Wait()
	if !bytes.Equal(plain.got[0], p.Frames()) || !bytes.Equal(off.got[0], p.Frames()) {
		t.Fatal("connections without deflate did not get the plain frames")
	}
	first := conns[0].got[0]
	for i, c := range conns {
		if &c.got[0][0] != &first[0] {
			t.Fatalf("recipient %d got another compressed copy", i)
		}
	}
	if len(first) >= len(p.Frames())/2 {
		t.Fatalf("compressed frames %d bytes, plain %d", len(first), len(p.Frames()))
	}
	// The compressed frames decode to the same messages: text and the
	// big attachment compressed, the 4-byte attachment not.
	d := wsframe.Decoder{Client: true, Deflate: true}
	var z wsframe.Inflater
	z.NoContext = true
	rest := append([]byte(nil), first...)
	var msgs [][]byte
	var comp []bool
	for len(rest) > 0 {
		n, m, ok, err := d.Decode(rest)
		if err != nil || !ok {
			t.Fatalf("decode: %v %v", ok, err)
		}
		pl := m.Payload
		if m.Compressed {
			if pl, err = z.Inflate(nil, pl, 0); err != nil {
				t.Fatal(err)
			}
		}
		msgs, comp = append(msgs, append([]byte(nil), pl...)), append(comp, m.Compressed)
		rest = rest[n:]
	}
	want := [][]byte{append([]byte{'4'}, text...), []byte("tiny"), att}
	if len(msgs) != 3 || !comp[0] || comp[1] || !comp[2] {
		t.Fatalf("%d messages, compressed %v", len(msgs), comp)
	}
	for i := range want {
		if !bytes.Equal(msgs[i], want[i]) {
			t.Fatalf("message %d differs", i)
		}
	}
	// Other parameters are served too, not from the cache.
	if other := p.DeflatedFrames(0, 9); bytes.Equal(other, first) || &other[0] == &first[0] {
		t.Fatal("threshold 0 gave the cached variant")
	}
}
