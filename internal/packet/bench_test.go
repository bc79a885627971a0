package packet

import (
	"strings"
	"testing"
)

// benchEvent is the "bcast" packet of the fanout benchmarks (BENCHMARKS.md,
// Method; sent by cmd/sioperf) with the default 64-byte pad, as it arrives
// after the Engine.IO '4'.
var benchEvent = []byte(`2["bcast",{"room":"r1","s":1,"seq":2,"t":1700000000000000,"pad":"` + strings.Repeat("x", 64) + `"}]`)

func BenchmarkDecodeEvent(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := Decode(benchEvent, 10); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinaryEvent(b *testing.B) {
	in := []byte(`51-/admin,12["upload",{"name":"f.bin","data":{"_placeholder":true,"num":0}}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(in, 10); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	p := Packet{Type: Event, Namespace: "/", ID: NoID, Data: benchEvent[1:]}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		buf = AppendEncode(buf[:0], &p)
	}
}

func BenchmarkAppendArgs(b *testing.B) {
	arg := map[string]any{"room": "r1", "s": 1, "seq": 2, "t": int64(1700000000000000), "pad": strings.Repeat("x", 64)}
	args := []any{arg}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = AppendArgs(buf[:0], "msg", args); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendArgsStruct(b *testing.B) {
	type msg struct {
		Room string `json:"room"`
		S    int    `json:"s"`
		Seq  int    `json:"seq"`
		T    int64  `json:"t"`
		Pad  string `json:"pad"`
	}
	args := []any{msg{Room: "r1", S: 1, Seq: 2, T: 1700000000000000, Pad: strings.Repeat("x", 64)}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = AppendArgs(buf[:0], "msg", args); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendSplitArgs(b *testing.B) {
	data := benchEvent[1:]
	dst := make([][]byte, 0, 4)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var err error
		if dst, err = AppendSplitArgs(dst[:0], data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubstituteBase64(b *testing.B) {
	raw := []byte(`["upload",{"name":"f.bin","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`)
	atts := [][]byte{make([]byte, 1024), make([]byte, 16)}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw) + 1040))
	for b.Loop() {
		buf = AppendSubstituteBase64(buf[:0], raw, atts)
	}
}

// BenchmarkAppendArgsStructBinary: BenchmarkAppendArgsStruct's message with
// a []byte field, walked with reflect so the field becomes an attachment.
func BenchmarkAppendArgsStructBinary(b *testing.B) {
	type msg struct {
		Room string `json:"room"`
		S    int    `json:"s"`
		Seq  int    `json:"seq"`
		T    int64  `json:"t"`
		Pad  []byte `json:"pad"`
	}
	args := []any{msg{Room: "r1", S: 1, Seq: 2, T: 1700000000000000, Pad: []byte(strings.Repeat("x", 64))}}
	buf := make([]byte, 0, 256)
	atts := make([][]byte, 0, 1)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, atts, err = AppendArgs(buf[:0], "msg", args); err != nil || len(atts) != 1 {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendQuote writes a chat line as a JSON string: plain ASCII,
// ASCII with escapes, and text that is mostly non-ASCII (each rune goes
// through the writer's rule for non-ASCII bytes).
func BenchmarkAppendQuote(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"ascii", strings.Repeat("hello, world ", 8)},
		{"escapes", strings.Repeat("say \"hi\"\n\t", 10)},
		{"cjk", strings.Repeat("你好，世界。", 8)},
	} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				buf = AppendQuote(buf[:0], c.s)
			}
		})
	}
}
