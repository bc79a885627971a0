package wsframe

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

func TestHeaderSize(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want int
	}{
		{name: "empty", n: 0, want: 2},
		{name: "7-bit max", n: 125, want: 2},
		{name: "16-bit min", n: 126, want: 4},
		{name: "16-bit max", n: 65535, want: 4},
		{name: "64-bit min", n: 65536, want: 10},
		{name: "large", n: 1 << 30, want: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HeaderSize(tt.n); got != tt.want {
				t.Fatalf("HeaderSize(%d) = %d, want %d", tt.n, got, tt.want)
			}
			if tt.want > MaxHeaderSize {
				t.Fatalf("HeaderSize(%d) = %d > MaxHeaderSize", tt.n, tt.want)
			}
		})
	}
}

// TestEncoderRoundTrip is the round-trip property: a frame we encode reads
// back with gobwas's header reader as a final, unmasked frame with the same
// opcode and payload; masked again the way a client would send it, our
// decoder returns the original message.
func TestEncoderRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 2, 124, 125, 126, 127, 1000, 65535, 65536, 70000}
	ops := []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpPing, ws.OpPong}
	for _, op := range ops {
		for _, n := range sizes {
			if op.IsControl() && n > 125 {
				continue
			}
			t.Run(fmt.Sprintf("%v/%d", kindOfOp(op), n), func(t *testing.T) {
				payload := make([]byte, n)
				for i := range payload {
					payload[i] = byte(rng.IntN(256))
					if op == ws.OpText {
						payload[i] = byte('a' + rng.IntN(26))
					}
				}

				// AppendFrame onto a non-empty dst must leave the prefix alone.
				prefix := []byte("prefix")
				out := AppendFrame(bytes.Clone(prefix), op, payload)
				if !bytes.HasPrefix(out, prefix) {
					t.Fatal("AppendFrame changed dst's bytes")
				}
				frame := out[len(prefix):]

				// PutHeader into reserved room gives the same bytes.
				buf := make([]byte, MaxHeaderSize+n)
				copy(buf[MaxHeaderSize:], payload)
				start := PutHeader(buf, MaxHeaderSize, op, n)
				if !bytes.Equal(buf[start:], frame) {
					t.Fatalf("PutHeader frame % x\nAppendFrame frame % x", buf[start:min(len(buf), start+16)], frame[:min(len(frame), 16)])
				}

				r := bytes.NewReader(frame)
				h, err := ws.ReadHeader(r)
				if err != nil {
					t.Fatal(err)
				}
				if !h.Fin || h.Masked || h.Rsv != 0 || h.OpCode != op || h.Length != int64(n) {
					t.Fatalf("header %+v", h)
				}
				if ws.HeaderSize(h) != HeaderSize(n) || r.Len() != n {
					t.Fatalf("header size %d, ours %d, %d payload bytes left", ws.HeaderSize(h), HeaderSize(n), r.Len())
				}
				if !bytes.Equal(frame[HeaderSize(n):], payload) {
					t.Fatal("payload changed")
				}

				// Re-encode as a client would and decode.
				h.Masked = true
				h.Mask = [4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
				var client bytes.Buffer
				if err := ws.WriteHeader(&client, h); err != nil {
					t.Fatal(err)
				}
				masked := bytes.Clone(payload)
				ws.Cipher(masked, h.Mask, 0)
				client.Write(masked)
				d := &Decoder{}
				nn, m, ok, err := d.Decode(client.Bytes())
				if err != nil || !ok || nn != client.Len() {
					t.Fatalf("Decode: n=%d ok=%v err=%v", nn, ok, err)
				}
				if m.Kind != kindOfOp(op) || !bytes.Equal(m.Payload, payload) {
					t.Fatalf("decoded %v %d bytes", m.Kind, len(m.Payload))
				}
			})
		}
	}
}

func kindOfOp(op ws.OpCode) Kind {
	switch op {
	case ws.OpText:
		return KindText
	case ws.OpBinary:
		return KindBinary
	case ws.OpPing:
		return KindPing
	case ws.OpPong:
		return KindPong
	case ws.OpClose:
		return KindClose
	}
	return 0
}

func TestAppendClose(t *testing.T) {
	eAcute := strings.Repeat("\u00e9", 100) // 200 bytes, 2 per character
	tests := []struct {
		name       string
		code       ws.StatusCode
		reason     string
		wantFrame  []byte // nil: only check the round trip
		wantCode   ws.StatusCode
		wantReason string
	}{
		{name: "no code", code: 0, reason: "ignored", wantFrame: []byte{0x88, 0x00}, wantCode: ws.StatusNoStatusRcvd},
		{name: "1005 is no code", code: ws.StatusNoStatusRcvd, wantFrame: []byte{0x88, 0x00}, wantCode: ws.StatusNoStatusRcvd},
		{name: "1000", code: 1000, wantFrame: []byte{0x88, 0x02, 0x03, 0xE8}, wantCode: 1000},
		{name: "1002 with reason", code: 1002, reason: "bad", wantFrame: []byte{0x88, 0x05, 0x03, 0xEA, 'b', 'a', 'd'}, wantCode: 1002, wantReason: "bad"},
		{name: "123-byte reason kept", code: 4000, reason: strings.Repeat("r", 123), wantCode: 4000, wantReason: strings.Repeat("r", 123)},
		{name: "124-byte reason cut", code: 4000, reason: strings.Repeat("r", 124), wantCode: 4000, wantReason: strings.Repeat("r", 123)},
		{name: "cut on a character boundary", code: 1001, reason: eAcute, wantCode: 1001, wantReason: eAcute[:122]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := AppendClose(nil, tt.code, tt.reason)
			if tt.wantFrame != nil && !bytes.Equal(frame, tt.wantFrame) {
				t.Fatalf("frame % x, want % x", frame, tt.wantFrame)
			}
			h, err := ws.ReadHeader(bytes.NewReader(frame))
			if err != nil || h.OpCode != ws.OpClose || !h.Fin || h.Length > 125 || int(h.Length)+2 != len(frame) {
				t.Fatalf("header %+v err %v", h, err)
			}
			// What the peer sees, through our own decoder.
			client := frameSpec{op: ws.OpClose, data: frame[2:]}.bytes()
			got := run(&Decoder{}, client)
			want := outcome{events: []event{{kind: KindClose, payload: string(frame[2:]), code: tt.wantCode, reason: tt.wantReason}}}
			if !got.equal(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if !utf8.ValidString(tt.wantReason) {
				t.Fatal("test expects an invalid reason")
			}
		})
	}
}

func TestPutHeaderPanicsOnNegativeLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	PutHeader(make([]byte, MaxHeaderSize), MaxHeaderSize, ws.OpText, -1)
}
