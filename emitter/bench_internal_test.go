package emitter

import "testing"

// BenchmarkEncodeBroadcast is Emit's encoding (arguments to JSON, JSON to
// msgpack, the envelope) without Redis, with the pooled buffers Emit uses.
func BenchmarkEncodeBroadcast(b *testing.B) {
	small := []any{map[string]any{"user": "u42", "text": "hello, room", "n": 7}}
	blob := make([]byte, 4096)
	for _, bc := range []struct {
		name string
		args []any
	}{
		{"small", small},
		{"binary-4KiB", []any{"avatar", blob}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				buf := getBuffers()
				var err error
				buf.msg, buf.js, err = appendBroadcast(buf.msg[:0], buf.js[:0], "/", "news", bc.args, []string{"room1"}, nil, flags{})
				if err != nil {
					b.Fatal(err)
				}
				size = len(buf.msg)
				putBuffers(buf)
			}
			b.SetBytes(int64(size))
		})
	}
}
