package loop_test

import (
	"bytes"
	"compress/flate"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/sioloop/sioloop/loop"
)

// The client side of these tests compresses and inflates with gobwas's
// wsflate and compress/flate, not with package wsframe's code.

const deflateOffer = "permessage-deflate; client_max_window_bits"

// upgradeDeflate performs the handshake offering ext and returns the
// Sec-WebSocket-Extensions of the 101.
func upgradeDeflate(t testing.TB, addr, ext string) (*client, string) {
	t.Helper()
	c := dial(t, addr)
	c.write(t, strings.Replace(upgradeReq, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: "+ext+"\r\n\r\n", 1))
	resp, _ := c.response(t)
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	return c, resp.Header.Get("Sec-WebSocket-Extensions")
}

// clientDeflater compresses messages as a client with context takeover
// does: one flate stream, flushed and its tail removed per message.
type clientDeflater struct {
	buf bytes.Buffer
	fw  *flate.Writer
}

func newClientDeflater() *clientDeflater {
	d := &clientDeflater{}
	d.fw, _ = flate.NewWriter(&d.buf, flate.BestCompression)
	return d
}

func (d *clientDeflater) compress(p []byte) []byte {
	d.buf.Reset()
	_, _ = d.fw.Write(p)
	_ = d.fw.Flush()
	return append([]byte(nil), bytes.TrimSuffix(d.buf.Bytes(), []byte{0, 0, 0xff, 0xff})...)
}

func inflateServer(t testing.TB, p []byte) []byte {
	t.Helper()
	r := wsflate.NewReader(bytes.NewReader(p), func(r io.Reader) wsflate.Decompressor { return flate.NewReader(r) })
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate server frame: %v", err)
	}
	return out
}

var rsv1 = ws.Rsv(true, false, false)

func TestDeflateEcho(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{PerMessageDeflate: &loop.PerMessageDeflate{Threshold: 100}}, true)
	c, ext := upgradeDeflate(t, addr, deflateOffer)
	if ext != "permessage-deflate; server_no_context_takeover" {
		t.Fatalf("101 extensions %q", ext)
	}
	a := <-conns
	if th, _, ok := a.conn.(interface {
		Deflate() (int, int, bool)
	}).Deflate(); !ok || th != 100 {
		t.Fatalf("Deflate() = %d, %v", th, ok)
	}
	cd := newClientDeflater()
	msg := []byte(strings.Repeat("the same words again and again, ", 200))
	for i := 0; i < 3; i++ { // later messages refer to earlier ones
		c.write(t, string(frameBytes(true, rsv1, ws.OpText, cd.compress(msg), false)))
		h, p := c.readFrame(t)
		if h.OpCode != ws.OpText || h.Rsv != rsv1 || len(p) >= len(msg)/4 {
			t.Fatalf("echo %d: %+v, %d bytes", i, h, len(p))
		}
		if got := inflateServer(t, p); !bytes.Equal(got, msg) {
			t.Fatalf("echo %d differs", i)
		}
	}
	// Below the threshold: sent as it is.
	c.write(t, string(frameBytes(true, 0, ws.OpText, []byte("small"), false)))
	if h, p := c.readFrame(t); h.Rsv != 0 || string(p) != "small" {
		t.Fatalf("small echo: %+v %q", h, p)
	}
	// A compressed message in fragments, RSV1 on the first only, a ping
	// between them.
	bin := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 3000)
	comp := cd.compress(bin)
	half := len(comp) / 2
	c.write(t, string(frameBytes(false, rsv1, ws.OpBinary, comp[:half], false)))
	c.write(t, string(frameBytes(true, 0, ws.OpPing, []byte("p"), false)))
	c.write(t, string(frameBytes(true, 0, ws.OpContinuation, comp[half:], false)))
	if h, p := c.readFrame(t); h.OpCode != ws.OpPong || h.Rsv != 0 || string(p) != "p" {
		t.Fatalf("pong: %+v %q", h, p)
	}
	if h, p := c.readFrame(t); h.OpCode != ws.OpBinary || h.Rsv != rsv1 || !bytes.Equal(inflateServer(t, p), bin) {
		t.Fatalf("fragmented echo: %+v", h)
	}
	if got := a.rec.messages(); len(got) != 5 || got[0] != string(msg) || got[4] != "b:"+string(bin) {
		t.Fatalf("handler got %d messages", len(got))
	}
}

func TestDeflateClientNoContextTakeover(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{PerMessageDeflate: &loop.PerMessageDeflate{}}, true)
	c, ext := upgradeDeflate(t, addr, "permessage-deflate; client_no_context_takeover; server_max_window_bits=10")
	if ext != "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10" {
		t.Fatalf("101 extensions %q", ext)
	}
	<-conns
	msg := []byte(strings.Repeat("abcdefghij", 500))
	for i := 0; i < 2; i++ {
		cd := newClientDeflater() // a fresh context per message
		c.write(t, string(frameBytes(true, rsv1, ws.OpText, cd.compress(msg), false)))
		h, p := c.readFrame(t)
		if h.Rsv != rsv1 || !bytes.Equal(inflateServer(t, p), msg) {
			t.Fatalf("echo %d: %+v", i, h)
		}
		// server_max_window_bits=10 gets Huffman-only output: no
		// back-reference at all, so 5000 repetitive bytes stay large.
		if len(p) < len(msg)/3 {
			t.Fatalf("echo %d: %d bytes, want Huffman-only coding", i, len(p))
		}
	}
}

func TestDeflateOff(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{}, true)
	c, ext := upgradeDeflate(t, addr, deflateOffer)
	if ext != "" {
		t.Fatalf("deflate off, yet the 101 names %q", ext)
	}
	a := <-conns
	c.write(t, string(frameBytes(true, rsv1, ws.OpText, newClientDeflater().compress([]byte("hello")), false)))
	c.expectCloseFrame(t, int(ws.StatusProtocolError))
	if err := a.rec.closed(t); err == nil {
		t.Fatal("OnClose without a cause")
	}
}

func TestDeflateProtocolErrors(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{PerMessageDeflate: &loop.PerMessageDeflate{}, MaxMessageBytes: 1 << 20}, false)
	for _, tc := range []struct {
		name   string
		frames [][]byte
		code   ws.StatusCode
	}{
		{"RSV1 on a continuation", [][]byte{frameBytes(false, 0, ws.OpBinary, []byte("ab"), false), frameBytes(true, rsv1, ws.OpContinuation, []byte("cd"), false)}, ws.StatusProtocolError},
		{"RSV1 on a ping", [][]byte{frameBytes(true, rsv1, ws.OpPing, nil, false)}, ws.StatusProtocolError},
		{"invalid deflate data", [][]byte{frameBytes(true, rsv1, ws.OpBinary, []byte{0xff, 0xfe, 0xfd, 0xfc, 0xfb}, false)}, ws.StatusInvalidFramePayloadData},
		{"invalid UTF-8 once inflated", [][]byte{frameBytes(true, rsv1, ws.OpText, newClientDeflater().compress([]byte{0xc3, 0x28}), false)}, ws.StatusInvalidFramePayloadData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := upgradeDeflate(t, addr, deflateOffer)
			<-conns
			for _, f := range tc.frames {
				c.write(t, string(f))
			}
			c.expectCloseFrame(t, int(tc.code))
		})
	}
}

// A zip bomb: a 64 KiB frame that would inflate to 64 MiB closes the
// connection with 1009 once 1 MiB (MaxMessageBytes) came out, and the
// server allocates about that much, not the 64 MiB.
func TestDeflateBomb(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{PerMessageDeflate: &loop.PerMessageDeflate{}, MaxMessageBytes: 1 << 20}, false)
	c, _ := upgradeDeflate(t, addr, deflateOffer)
	a := <-conns
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		_, _ = fw.Write(zeros)
	}
	_ = fw.Flush()
	bomb := frameBytes(true, rsv1, ws.OpBinary, bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff}), false)
	if len(bomb) > 1<<17 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c.write(t, string(bomb))
	c.expectCloseFrame(t, int(ws.StatusMessageTooBig))
	_ = a.rec.closed(t)
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Fatalf("the bomb made the process allocate %d MiB", d>>20)
	}
	if n := len(a.rec.messages()); n != 0 {
		t.Fatalf("handler got %d messages", n)
	}
}
