package http1

import "testing"

var benchInputs = []struct {
	name string
	in   string
}{
	{name: "polling-GET", in: pollingGET},
	{name: "websocket-upgrade", in: wsUpgrade},
	{name: "polling-POST", in: pollingPOST},
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range benchInputs {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.in)
			var req Request
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if n, err := Parse(in, &req, nil); n != len(in) || err != nil {
					b.Fatalf("Parse = (%d, %v)", n, err)
				}
			}
		})
	}
}

// BenchmarkParseTrickle measures the worst case of the stateless design: a
// head arriving in 64-byte reads is re-parsed from the start on each read.
func BenchmarkParseTrickle(b *testing.B) {
	in := []byte(wsUpgrade)
	var req Request
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		for k := 64; ; k += 64 {
			k = min(k, len(in))
			n, err := Parse(in[:k], &req, nil)
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				break
			}
		}
	}
}

func BenchmarkQuery(b *testing.B) {
	var req Request
	if _, err := Parse([]byte(pollingGET), &req, nil); err != nil {
		b.Fatal(err)
	}
	scratch := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range []string{"EIO", "transport", "sid"} {
			if _, ok := req.AppendQuery(scratch[:0], k); !ok {
				b.Fatal(k)
			}
		}
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	body := []byte(`42["message","hello"]`)
	headers := []string{"Content-Type", "text/plain; charset=UTF-8", "Cache-Control", "no-store"}
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendResponse(dst[:0], 200, headers, body, false)
	}
	b.SetBytes(int64(len(dst)))
}
