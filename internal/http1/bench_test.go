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

// BenchmarkHandshakeRead compares the two ways a provider can let the
// engine read a WebSocket handshake it must keep past the parse buffer:
// a *http.Request from ToStd, or a Head copy read in place.
func BenchmarkHandshakeRead(b *testing.B) {
	in := []byte(wsUpgrade)
	var req Request
	if _, err := Parse(in, &req, nil); err != nil {
		b.Fatal(err)
	}
	b.Run("ToStd", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := req.ToStd("127.0.0.1:1")
			if err != nil {
				b.Fatal(err)
			}
			q := r.URL.Query()
			if q.Get("transport") != "websocket" || q.Get("EIO") != "4" || r.Header.Get("Origin") == "" ||
				r.Header.Get("Upgrade") == "" || len(r.Header.Values("Connection")) != 1 {
				b.Fatal("wrong values")
			}
		}
	})
	b.Run("Head", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := Head(in[:req.HeaderLen])
			transport, _ := h.Query("transport")
			eio, _ := h.Query("EIO")
			origin, _ := h.Get("Origin")
			if transport != "websocket" || eio != "4" || origin == "" || h.Combined("Upgrade") == "" || h.Combined("Connection") == "" {
				b.Fatal("wrong values")
			}
		}
	})
}
