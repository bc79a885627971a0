package wsframe

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// The peer side of these tests is gobwas's wsflate (its Writer strips the
// tail, its Reader appends it), not our code, so that a mistake in our
// compressor or inflater cannot cancel out against the other.

func TestNegotiateDeflate(t *testing.T) {
	const base = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"
	for _, tc := range []struct {
		name, offer string
		ok          bool
		response    string
		noContext   bool
		huffman     bool
	}{
		{"none", "", false, "", false, false},
		{"other extension", "x-webkit-deflate-frame", false, "", false, false},
		{"plain", "permessage-deflate", true, base, false, false},
		{"browser default", "permessage-deflate; client_max_window_bits", true, base, false, false},
		{"client window value", "permessage-deflate; client_max_window_bits=10", true, base, false, false},
		{"client no context", "permessage-deflate; client_no_context_takeover", true, base + "; client_no_context_takeover", true, false},
		{"server no context asked", "permessage-deflate; server_no_context_takeover", true, base, false, false},
		{"server window 15", "permessage-deflate; server_max_window_bits=15", true, base + "; server_max_window_bits=15", false, false},
		{"server window 9", "permessage-deflate; server_max_window_bits=9", true, base + "; server_max_window_bits=9", false, true},
		{"quoted value", `permessage-deflate; server_max_window_bits="12"`, true, base + "; server_max_window_bits=12", false, true},
		{"server window without value", "permessage-deflate; server_max_window_bits", false, "", false, false},
		{"window out of range", "permessage-deflate; client_max_window_bits=16", false, "", false, false},
		{"window 7", "permessage-deflate; server_max_window_bits=7", false, "", false, false},
		{"unknown parameter", "permessage-deflate; foo=1", false, "", false, false},
		{"duplicate parameter", "permessage-deflate; client_no_context_takeover; client_no_context_takeover", false, "", false, false},
		{"duplicate valueless window", "permessage-deflate; client_max_window_bits; client_max_window_bits", false, "", false, false},
		{"value on flag", "permessage-deflate; client_no_context_takeover=1", false, "", false, false},
		{"first acceptable of several", "permessage-deflate; foo, permessage-deflate; client_no_context_takeover, permessage-deflate", true, base + "; client_no_context_takeover", true, false},
		{"first of two good ones", "permessage-deflate; server_max_window_bits=10, permessage-deflate", true, base + "; server_max_window_bits=10", false, true},
		{"after another extension", "x-foo, permessage-deflate; client_max_window_bits", true, base, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := NegotiateDeflate(tc.offer)
			if ok != tc.ok || d.Response != tc.response || d.ClientNoContextTakeover != tc.noContext || d.HuffmanOnly != tc.huffman {
				t.Fatalf("NegotiateDeflate(%q) = %+v, %v; want ok=%v %q noContext=%v huffman=%v",
					tc.offer, d, ok, tc.ok, tc.response, tc.noContext, tc.huffman)
			}
		})
	}
}

// gobwasInflate decompresses one message payload as a client would.
func gobwasInflate(t *testing.T, p []byte) []byte {
	t.Helper()
	r := wsflate.NewReader(bytes.NewReader(p), func(r io.Reader) wsflate.Decompressor { return flate.NewReader(r) })
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("gobwas inflate: %v", err)
	}
	return out
}

// gobwasDeflate compresses one message as a client without context
// takeover would.
func gobwasDeflate(t testing.TB, p []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := wsflate.NewWriter(&buf, func(w io.Writer) wsflate.Compressor {
		fw, _ := flate.NewWriter(w, flate.BestSpeed)
		return fw
	})
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testPayload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"socket", "io ", "event ", "loop ", "{\"a\":1}", "\u00e9t\u00e9 ", "\u4e16\u754c "}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return []byte(b.String()[:n])
}

func TestAppendDeflatedFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 100, 1024, 70000, 300000} {
		for _, level := range []int{0, flate.BestSpeed, flate.BestCompression, flate.HuffmanOnly} {
			msg := testPayload(n, uint64(n))
			prefix := []byte("before")
			out := AppendDeflatedFrame(append([]byte(nil), prefix...), ws.OpText, msg, level)
			if !bytes.HasPrefix(out, prefix) {
				t.Fatal("dst prefix lost")
			}
			rd := bytes.NewReader(out[len(prefix):])
			h, err := ws.ReadHeader(rd)
			if err != nil {
				t.Fatal(err)
			}
			if !h.Fin || h.Rsv != ws.Rsv(true, false, false) || h.OpCode != ws.OpText || h.Masked || int(h.Length) != rd.Len() {
				t.Fatalf("n=%d level=%d: header %+v, %d bytes follow", n, level, h, rd.Len())
			}
			p, _ := io.ReadAll(rd)
			if bytes.HasSuffix(p, deflateTail[:]) && n > 0 {
				t.Fatalf("n=%d: tail not removed", n)
			}
			if got := gobwasInflate(t, p); !bytes.Equal(got, msg) {
				t.Fatalf("n=%d level=%d: round trip differs (%d bytes back)", n, level, len(got))
			}
			if n >= 1024 && level != flate.HuffmanOnly && len(p) > n/2 {
				t.Errorf("n=%d level=%d: %d compressed bytes, text should compress better", n, level, len(p))
			}
		}
	}
}

func TestAppendDeflatedFrames(t *testing.T) {
	small, big := []byte("4hello"), testPayload(5000, 7)
	var frames []byte
	frames = AppendFrame(frames, ws.OpText, small)
	frames = AppendFrame(frames, ws.OpBinary, big)
	frames = AppendFrame(frames, ws.OpPing, []byte("p"))
	out := AppendDeflatedFrames(nil, frames, 1024, 0)
	rd := bytes.NewReader(out)
	for i, want := range []struct {
		op   ws.OpCode
		comp bool
		msg  []byte
	}{{ws.OpText, false, small}, {ws.OpBinary, true, big}, {ws.OpPing, false, []byte("p")}} {
		h, err := ws.ReadHeader(rd)
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, h.Length)
		_, _ = io.ReadFull(rd, p)
		if h.OpCode != want.op || (h.Rsv != 0) != want.comp {
			t.Fatalf("frame %d: %+v", i, h)
		}
		if want.comp {
			p = gobwasInflate(t, p)
		}
		if !bytes.Equal(p, want.msg) {
			t.Fatalf("frame %d: payload differs", i)
		}
	}
	if rd.Len() != 0 {
		t.Fatalf("%d bytes left", rd.Len())
	}
	// Threshold 0 compresses every data frame, not the control frame.
	all := AppendDeflatedFrames(nil, frames, 0, 0)
	if all[0]&rsv1Bit == 0 {
		t.Fatal("small frame not compressed at threshold 0")
	}
}

// decodeAll feeds stream to d and inflates what is compressed.
func decodeAll(t *testing.T, d *Decoder, z *Inflater, stream []byte, limit int64) ([]string, error) {
	t.Helper()
	var msgs []string
	for len(stream) > 0 {
		n, m, ok, err := d.Decode(stream)
		if err != nil {
			return msgs, err
		}
		if n == 0 {
			t.Fatal("stream ends inside a frame")
		}
		stream = stream[n:]
		if !ok {
			continue
		}
		p := m.Payload
		if m.Compressed {
			p, err = z.Inflate(nil, p, limit)
			if err != nil {
				return msgs, err
			}
		}
		msgs = append(msgs, m.Kind.String()+":"+string(p))
	}
	return msgs, nil
}

func TestDecodeCompressed(t *testing.T) {
	msg := testPayload(3000, 3)
	comp := gobwasDeflate(t, msg)
	rsv1 := ws.Rsv(true, false, false)

	t.Run("single frame", func(t *testing.T) {
		d := &Decoder{Deflate: true}
		got, err := decodeAll(t, d, &Inflater{NoContext: true}, streamOf(frameSpec{op: ws.OpText, data: comp, rsv: rsv1}, textF("plain")), 0)
		if err != nil || len(got) != 2 || got[0] != "text:"+string(msg) || got[1] != "text:plain" {
			t.Fatalf("%v %v", len(got), err)
		}
	})
	t.Run("fragmented, RSV1 on the first fragment only", func(t *testing.T) {
		var fs []frameSpec
		for off := 0; off < len(comp); off += 100 {
			f := frameSpec{op: ws.OpContinuation, data: comp[off:min(off+100, len(comp))], more: off+100 < len(comp)}
			if off == 0 {
				f.op, f.rsv = ws.OpBinary, rsv1
			}
			fs = append(fs, f, pingF("between"))
		}
		fs = fs[:len(fs)-1]
		got, err := decodeAll(t, &Decoder{Deflate: true}, &Inflater{NoContext: true}, streamOf(fs...), 0)
		if err != nil || got[len(got)-1] != "binary:"+string(msg) {
			t.Fatalf("%d messages, %v", len(got), err)
		}
	})
	for _, tc := range []struct {
		name   string
		dec    Decoder
		frames []frameSpec
		code   ws.StatusCode
	}{
		{"RSV1 without negotiation", Decoder{}, []frameSpec{{op: ws.OpText, data: comp, rsv: rsv1}}, ws.StatusProtocolError},
		{"RSV1 on a continuation", Decoder{Deflate: true}, []frameSpec{{op: ws.OpBinary, data: comp[:10], more: true}, {op: ws.OpContinuation, data: comp[10:], rsv: rsv1}}, ws.StatusProtocolError},
		{"RSV1 on a ping", Decoder{Deflate: true}, []frameSpec{{op: ws.OpPing, data: []byte("x"), rsv: rsv1}}, ws.StatusProtocolError},
		{"RSV2", Decoder{Deflate: true}, []frameSpec{{op: ws.OpText, data: comp, rsv: ws.Rsv(false, true, false)}}, ws.StatusProtocolError},
		{"garbage", Decoder{Deflate: true}, []frameSpec{{op: ws.OpText, data: []byte{0xff, 0xff, 0xff, 0x00}, rsv: rsv1}}, ws.StatusInvalidFramePayloadData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.dec
			_, err := decodeAll(t, &d, &Inflater{}, streamOf(tc.frames...), 0)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("got %v, want close %d", err, tc.code)
			}
		})
	}
	t.Run("compressed text skips UTF-8 check until inflated", func(t *testing.T) {
		// Compressed bytes are not UTF-8; the message still decodes.
		d := &Decoder{Deflate: true}
		got, err := decodeAll(t, d, &Inflater{}, streamOf(frameSpec{op: ws.OpText, data: gobwasDeflate(t, []byte("\u00e9\u00e9")), rsv: rsv1}), 0)
		if err != nil || got[0] != "text:\u00e9\u00e9" {
			t.Fatalf("%q %v", got, err)
		}
	})
}

// A client that keeps its context (the browser default) sends messages
// that refer to earlier ones; the Inflater keeps the window they need.
func TestInflateContextTakeover(t *testing.T) {
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	var z Inflater
	var prev []byte
	for i := 0; i < 40; i++ {
		// Every message repeats much of the one before, so the
		// compressed form refers back across messages.
		msg := append(append([]byte(nil), prev...), testPayload(2000+i*500, uint64(i))...)
		if len(msg) > 50000 {
			msg = msg[len(msg)-50000:]
		}
		comp.Reset()
		_, _ = fw.Write(msg)
		_ = fw.Flush()
		p := bytes.TrimSuffix(comp.Bytes(), deflateTail[:])
		if i > 0 && len(p) > len(msg)/3 {
			t.Fatalf("message %d: %d compressed bytes for %d: no back-references", i, len(p), len(msg))
		}
		got, err := z.Inflate(nil, p, 1<<20)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message %d: %v, equal=%v", i, err, bytes.Equal(got, msg))
		}
		// Without the context the same bytes do not inflate right.
		if i > 0 {
			if fresh, err := (&Inflater{NoContext: true}).Inflate(nil, p, 1<<20); err == nil && bytes.Equal(fresh, msg) {
				t.Fatalf("message %d inflated without its context", i)
			}
		}
		prev = msg
	}
	if cap(z.window) != windowSize {
		t.Fatalf("window capacity %d, want %d", cap(z.window), windowSize)
	}
}

// A zip bomb: 64 MiB of zeros compress to about 64 KiB; inflating stops
// at the limit with 1009, having written at most limit+1 bytes.
func TestInflateBomb(t *testing.T) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		_, _ = fw.Write(zeros)
	}
	_ = fw.Flush()
	p := bytes.TrimSuffix(buf.Bytes(), deflateTail[:])
	const limit = 1 << 20
	var z Inflater
	out, err := z.Inflate(nil, p, limit)
	if !errors.Is(err, ErrInflateTooBig) {
		t.Fatalf("got %v, want ErrInflateTooBig", err)
	}
	if len(out) != limit+1 || cap(out) > 2*limit+4096 {
		t.Fatalf("inflated %d bytes into %d of capacity, want limit+1 and bounded", len(out), cap(out))
	}
	// Exactly the limit passes.
	exact := gobwasDeflate(t, make([]byte, limit))
	if out, err := z.Inflate(nil, exact, limit); err != nil || len(out) != limit {
		t.Fatalf("message of exactly the limit: %d, %v", len(out), err)
	}
}

func BenchmarkDeflate(b *testing.B) {
	for _, n := range []int{1 << 10, 16 << 10} {
		msg := testPayload(n, 2)
		dst := make([]byte, 0, 2*n+64)
		b.Run("frame/"+sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				AppendFrame(dst, ws.OpText, msg)
			}
		})
		for _, level := range []int{flate.BestSpeed, flate.DefaultCompression} {
			b.Run("deflate"+levelName(level)+"/"+sizeName(n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(n))
				var out []byte
				for b.Loop() {
					out = AppendDeflatedFrame(dst, ws.OpText, msg, level)
				}
				b.ReportMetric(float64(len(out)), "wire-bytes")
			})
		}
		comp := gobwasDeflate(b, msg)
		frame := frameSpec{op: ws.OpText, data: comp, rsv: ws.Rsv(true, false, false)}.bytes()
		out := make([]byte, 0, 2*n)
		work := make([]byte, len(frame))
		b.Run("decode+inflate/"+sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			d := Decoder{Deflate: true}
			z := Inflater{NoContext: true}
			for b.Loop() {
				copy(work, frame) // Decode unmasks in place
				_, m, _, err := d.Decode(work)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := z.Inflate(out, m.Payload, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

func levelName(l int) string {
	if l == flate.BestSpeed {
		return "-speed"
	}
	return "-default"
}
