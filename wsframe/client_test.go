package wsframe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/gobwas/ws"
)

// flipMasks rewrites a stream of frames so that masked frames become
// unmasked (payload unmasked, key dropped) and unmasked frames become masked
// with testMask. A Client Decoder must decide on the result exactly what the
// server-side Decoder decides on the original: the checks are the same and
// the mask rule is mirrored. A trailing partial frame is converted as far as
// it goes.
func flipMasks(in []byte) []byte {
	var out []byte
	for len(in) > 0 {
		if len(in) < 2 {
			return append(out, in...)
		}
		b1 := in[1]
		hsize := 2
		var length uint64
		switch l7 := b1 & 0x7F; l7 {
		case 126:
			hsize = 4
			if len(in) < hsize {
				return append(append(out, in[0], b1^0x80), in[2:]...)
			}
			length = uint64(binary.BigEndian.Uint16(in[2:4]))
		case 127:
			hsize = 10
			if len(in) < hsize {
				return append(append(out, in[0], b1^0x80), in[2:]...)
			}
			length = binary.BigEndian.Uint64(in[2:10])
		default:
			length = uint64(l7)
		}
		masked := b1&0x80 != 0
		var key [4]byte
		keyLen := 0
		if masked {
			keyLen = 4
			if len(in) < hsize+4 {
				// Header without its whole key: drop the partial key.
				out = append(out, in[0], b1&^0x80)
				return append(out, in[2:hsize]...)
			}
			key = [4]byte(in[hsize : hsize+4])
		}
		out = append(out, in[0], b1^0x80)
		out = append(out, in[2:hsize]...)
		if !masked {
			key = testMask
			out = append(out, key[:]...)
		}
		rest := in[hsize+keyLen:]
		n := len(rest)
		if length < uint64(n) {
			n = int(length)
		}
		p := slices.Clone(rest[:n])
		ws.Cipher(p, key, 0) // unmasks a masked payload, masks an unmasked one
		out = append(out, p...)
		in = rest[n:]
	}
	return out
}

func clientCases() []decodeCase {
	in, want := mixedStream()
	cs := []decodeCase{{name: "mixed stream", in: in, want: want}}
	for _, c := range autobahnCases() {
		if c.small() {
			cs = append(cs, c)
		}
	}
	for i := range cs {
		cs[i].in = flipMasks(cs[i].in)
	}
	return cs
}

func (c decodeCase) clientDecoder() *Decoder {
	d := c.decoder()
	d.Client = true
	return d
}

// TestClientSplitEveryByte runs the Autobahn cases, turned into server
// frames, through a Client Decoder whole, split at every byte and a byte at
// a time: the outcome must be the one the server side reaches on the
// original client frames.
func TestClientSplitEveryByte(t *testing.T) {
	for _, c := range clientCases() {
		t.Run(c.name, func(t *testing.T) {
			want := c.wantOutcome()
			if got := run(c.clientDecoder(), c.in); !got.equal(want) {
				t.Fatalf("whole:\n got %v\nwant %v", got, want)
			}
			for i := 0; i <= len(c.in); i++ {
				if got := run(c.clientDecoder(), c.in[:i], c.in[i:]); !got.equal(want) {
					t.Fatalf("split at %d:\n got %v\nwant %v", i, got, want)
				}
			}
			if got := run(c.clientDecoder(), chop(c.in, 1)...); !got.equal(want) {
				t.Fatalf("byte at a time:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestClientRejectsMasked: a server must not mask, and a client decoder
// must not accept client frames (and vice versa).
func TestClientRejectsMasked(t *testing.T) {
	masked := textF("4hello").bytes()
	got := run(&Decoder{Client: true}, masked)
	if got.errCode != ws.StatusProtocolError || len(got.events) != 0 {
		t.Fatalf("masked frame to a client: %v", got)
	}
	unmasked := AppendFrame(nil, ws.OpText, []byte("4hello"))
	if got := run(&Decoder{}, unmasked); got.errCode != ws.StatusProtocolError {
		t.Fatalf("unmasked frame to a server: %v", got)
	}
	if got := run(&Decoder{Client: true}, unmasked); !got.equal(outcome{events: []event{textE("4hello")}}) {
		t.Fatalf("unmasked frame to a client: %v", got)
	}
}

// TestClientFrameRoundTrip: what AppendClientFrame and AppendClientClose
// write, the server-side Decoder reads back, for every length form, and
// gobwas's reader agrees on the header.
func TestClientFrameRoundTrip(t *testing.T) {
	keys := [][4]byte{{0, 0, 0, 0}, testMask, {0xFF, 0x01, 0x80, 0x7F}}
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
			for _, key := range keys {
				t.Run(fmt.Sprintf("%v/%d/%x", op, n, key), func(t *testing.T) {
					payload := bytes.Repeat([]byte("a"), n)
					orig := slices.Clone(payload)
					prefix := []byte("xyz")
					frame := AppendClientFrame(slices.Clone(prefix), op, payload, key)
					if !bytes.Equal(payload, orig) {
						t.Fatal("payload modified")
					}
					if !bytes.HasPrefix(frame, prefix) {
						t.Fatal("dst prefix lost")
					}
					frame = frame[len(prefix):]
					if len(frame) != ClientHeaderSize(n)+n {
						t.Fatalf("frame is %d bytes, want %d", len(frame), ClientHeaderSize(n)+n)
					}
					h, err := ws.ReadHeader(bytes.NewReader(frame))
					if err != nil || !h.Fin || !h.Masked || h.Mask != key || h.OpCode != op || h.Length != int64(n) {
						t.Fatalf("gobwas reads %+v, %v", h, err)
					}
					d := &Decoder{MaxMessageSize: 1 << 20}
					got := run(d, frame)
					kind := KindText
					if op == ws.OpBinary {
						kind = KindBinary
					}
					want := outcome{events: []event{{kind: kind, payload: string(orig)}}}
					if !got.equal(want) {
						t.Fatalf("decoded %v", got)
					}
				})
			}
		}
	}
	for _, c := range []struct {
		name   string
		code   ws.StatusCode
		reason string
		want   event
	}{
		{name: "no code", code: 0, want: closeE(ws.StatusNoStatusRcvd, "")},
		{name: "1005 is not sent", code: ws.StatusNoStatusRcvd, want: closeE(ws.StatusNoStatusRcvd, "")},
		{name: "normal", code: 1000, reason: "bye", want: closeE(1000, "bye")},
		{name: "cut reason", code: 4000, reason: repeat("é", 100), want: closeE(4000, repeat("é", 61))},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := AppendClientClose(nil, c.code, c.reason, testMask)
			if got := run(&Decoder{}, f); !got.equal(outcome{events: []event{c.want}}) {
				t.Fatalf("got %v want %v", got, c.want)
			}
		})
	}
}

// FuzzClientDecoder feeds arbitrary bytes to a Client Decoder whole and
// split at a fuzzed position: no panic, no over-consumption, the same
// outcome both ways, and exactly the outcome of the server-side Decoder
// on the same bytes with every mask flipped.
func FuzzClientDecoder(f *testing.F) {
	for _, c := range clientCases() {
		f.Add(c.in, uint16(len(c.in)/2), uint16(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, limit uint16) {
		mk := func() *Decoder { return &Decoder{MaxMessageSize: int64(limit), Client: true} }
		whole := run(mk(), data)
		at := int(split)
		if at > len(data) {
			at = len(data)
		}
		if got := run(mk(), data[:at], data[at:]); !got.equal(whole) {
			t.Fatalf("split at %d: %v, whole: %v", at, got, whole)
		}
		mirror := run(&Decoder{MaxMessageSize: int64(limit)}, flipMasks(data))
		if !mirror.equal(whole) {
			t.Fatalf("client %v, server on flipped input %v", whole, mirror)
		}
	})
}
