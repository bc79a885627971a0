package wsframe

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gobwas/ws"
)

// benchMask has every byte below 0x80, so an ASCII payload stays ASCII
// whether masked or not: decoding the same buffer again and again (each
// Decode flips the mask in place) stays valid text without a copy per
// iteration, and the mask is still a real, non-zero one.
var benchMask = [4]byte{0x1F, 0x2E, 0x3D, 0x4C}

func benchFrame(op ws.OpCode, payload []byte) []byte {
	h := ws.Header{Fin: true, OpCode: op, Masked: true, Mask: benchMask, Length: int64(len(payload))}
	var buf bytes.Buffer
	if err := ws.WriteHeader(&buf, h); err != nil {
		panic(err)
	}
	buf.Write(payload)
	return buf.Bytes()
}

// benchPayload is ASCII JSON of n bytes, shaped like the bench scenario's
// 42["msg",{...}] frames.
func benchPayload(n int) []byte {
	p := []byte(`42["msg",{"t":1732550000000,"s":12345,"p":"`)
	for len(p) < n-3 {
		p = append(p, 'a'+byte(len(p)%26))
	}
	p = append(p, `"}]`...)
	return p[:n]
}

// BenchmarkDecode measures one message per iteration, steady state: the
// 133-byte payload of a delivered "msg" in the fanout benchmarks
// (cmd/sioperf with its default -pad 64; BENCHMARKS.md, Method) and
// 64 KiB, in one frame and (64 KiB) in 16 fragments of 4 KiB.
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct {
		name string
		op   ws.OpCode
		n    int
	}{
		{name: "text/133B", op: ws.OpText, n: 133},
		{name: "text/64KiB", op: ws.OpText, n: 64 << 10},
		{name: "binary/133B", op: ws.OpBinary, n: 133},
		{name: "binary/64KiB", op: ws.OpBinary, n: 64 << 10},
	} {
		b.Run(c.name, func(b *testing.B) {
			frame := benchFrame(c.op, benchPayload(c.n))
			var d Decoder
			b.ReportAllocs()
			b.SetBytes(int64(c.n))
			for b.Loop() {
				n, m, ok, err := d.Decode(frame)
				if err != nil || !ok || n != len(frame) || len(m.Payload) != c.n {
					b.Fatalf("n=%d ok=%v err=%v", n, ok, err)
				}
			}
		})
	}
	b.Run("text/64KiB-in-16-fragments", func(b *testing.B) {
		p := benchPayload(64 << 10)
		var frames [][]byte
		for i := 0; i < 16; i++ {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpText
			}
			h := ws.Header{Fin: i == 15, OpCode: op, Masked: true, Mask: benchMask, Length: 4 << 10}
			var buf bytes.Buffer
			_ = ws.WriteHeader(&buf, h)
			buf.Write(p[i*4<<10 : (i+1)*4<<10])
			frames = append(frames, buf.Bytes())
		}
		var d Decoder
		defer d.Release()
		b.ReportAllocs()
		b.SetBytes(64 << 10)
		for b.Loop() {
			for i, f := range frames {
				n, m, ok, err := d.Decode(f)
				if err != nil || n != len(f) || ok != (i == 15) || (ok && len(m.Payload) != 64<<10) {
					b.Fatalf("fragment %d: n=%d ok=%v err=%v", i, n, ok, err)
				}
			}
		}
	})
}

// BenchmarkUnmask is ws.Cipher on the sizes above, the floor under Decode.
func BenchmarkUnmask(b *testing.B) {
	for _, n := range []int{133, 64 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := benchPayload(n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				ws.Cipher(p, benchMask, 0)
			}
		})
	}
}

func BenchmarkPutHeader(b *testing.B) {
	for _, n := range []int{133, 64 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, MaxHeaderSize+n)
			b.ReportAllocs()
			for b.Loop() {
				if PutHeader(buf, MaxHeaderSize, ws.OpText, n) < 0 {
					b.Fatal("bad start")
				}
			}
		})
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, n := range []int{133, 64 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := benchPayload(n)
			dst := make([]byte, 0, MaxHeaderSize+n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				dst = AppendFrame(dst[:0], ws.OpText, p)
			}
		})
	}
}

func BenchmarkCheckHandshake(b *testing.B) {
	get := staticGet
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		key, err := CheckHandshake("GET", get)
		if err != nil {
			b.Fatal(err)
		}
		dst = AppendUpgradeResponse(dst[:0], key)
	}
}
