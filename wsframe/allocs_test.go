//go:build !race

package wsframe

import (
	"testing"

	"github.com/gobwas/ws"
)

// TestAllocsSteadyState pins the zero-allocation claims of doc.go: decoding
// a single-frame message, a control frame or (once the pool is warm) a
// fragmented message, and encoding into a buffer with room, allocate
// nothing.
func TestAllocsSteadyState(t *testing.T) {
	text := benchFrame(ws.OpText, benchPayload(133))
	big := benchFrame(ws.OpBinary, benchPayload(64<<10))
	ping := benchFrame(ws.OpPing, benchPayload(20))
	var frags [][]byte
	for i := 0; i < 4; i++ {
		op := ws.OpContinuation
		if i == 0 {
			op = ws.OpText
		}
		h := ws.Header{Fin: i == 3, OpCode: op, Masked: true, Mask: benchMask, Length: 100}
		f := append(append([]byte{}, headerBytes(h)...), benchPayload(100)...)
		frags = append(frags, f)
	}
	payload := benchPayload(133)
	dst := make([]byte, 0, 512)
	get := staticGet

	tests := []struct {
		name string
		fn   func()
	}{
		{name: "decode text 133", fn: func() { mustDecode(t, new(Decoder), text) }},
		{name: "decode binary 64KiB", fn: func() { mustDecode(t, new(Decoder), big) }},
		{name: "decode ping", fn: func() { mustDecode(t, new(Decoder), ping) }},
		{name: "decode fragmented", fn: func() {
			var d Decoder
			for _, f := range frags {
				mustDecode(t, &d, f)
			}
			d.Release()
		}},
		{name: "AppendFrame", fn: func() { dst = AppendFrame(dst[:0], ws.OpText, payload) }},
		{name: "AppendClose", fn: func() { dst = AppendClose(dst[:0], 1000, "bye") }},
		{name: "CheckHandshake+AppendUpgradeResponse", fn: func() {
			key, err := CheckHandshake("GET", get)
			if err != nil {
				t.Fatal(err)
			}
			dst = AppendUpgradeResponse(dst[:0], key)
		}},
		{name: "decode error", fn: func() {
			d := new(Decoder)
			if _, _, _, err := d.Decode([]byte{0x81, 0x00}); err == nil {
				t.Fatal("no error")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn() // warm the pool
			if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
				t.Fatalf("%v allocations per run", n)
			}
		})
	}
}

func mustDecode(t *testing.T, d *Decoder, f []byte) {
	if n, _, _, err := d.Decode(f); err != nil || n != len(f) {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func headerBytes(h ws.Header) []byte {
	b := make([]byte, 0, ws.MaxHeaderSize)
	w := sliceWriter{&b}
	if err := ws.WriteHeader(w, h); err != nil {
		panic(err)
	}
	return b
}

type sliceWriter struct{ b *[]byte }

func (w sliceWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}
