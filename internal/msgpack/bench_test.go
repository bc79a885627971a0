package msgpack

import (
	"bytes"
	"testing"
)

// The typical event of the brief (~60 bytes of JSON) and one carrying a
// 1 KiB attachment.
var (
	benchEventJSON  = []byte(`["chat",{"user":"ann","text":"hello","ts":1796153710291}]`)
	benchBinaryJSON = []byte(`["file",{"name":"a.bin","data":{"_placeholder":true,"num":0},"ts":1796153710291}]`)
	benchAtt        = [][]byte{bytes.Repeat([]byte{0xab}, 1024)}
	benchEventMP    = mustAppendJSON(benchEventJSON, nil)
	benchBinaryMP   = mustAppendJSON(benchBinaryJSON, benchAtt)
)

func mustAppendJSON(js []byte, atts [][]byte) []byte {
	b, err := AppendJSON(nil, js, atts)
	if err != nil {
		panic(err)
	}
	return b
}

func BenchmarkAppendJSON(b *testing.B) {
	for _, bc := range []struct {
		name string
		js   []byte
		atts [][]byte
	}{
		{name: "event", js: benchEventJSON},
		{name: "binary1KiB", js: benchBinaryJSON, atts: benchAtt},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.js)))
			for b.Loop() {
				var err error
				if dst, err = AppendJSON(dst[:0], bc.js, bc.atts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendToJSON(b *testing.B) {
	for _, bc := range []struct {
		name string
		mp   []byte
	}{
		{name: "event", mp: benchEventMP},
		{name: "binary1KiB", mp: benchBinaryMP},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			atts := make([][]byte, 0, 4)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.mp)))
			for b.Loop() {
				var err error
				if dst, atts, _, err = AppendToJSON(dst[:0], bc.mp, atts[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReaderEnvelope takes the captured [uid, packet, opts] broadcast
// of the classic adapter apart: the work a receiving adapter does before
// AppendToJSON of the data.
func BenchmarkReaderEnvelope(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(captureBinary)))
	for b.Loop() {
		r := NewReader(captureBinary)
		if _, err := r.ReadArrayHeader(); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadStringBytes(); err != nil {
			b.Fatal(err)
		}
		for range 2 {
			n, err := r.ReadMapHeader()
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				if _, err := r.ReadStringBytes(); err != nil {
					b.Fatal(err)
				}
				if _, err := r.Raw(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
