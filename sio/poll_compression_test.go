package sio_test

import (
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/sio"
)

// TestPollingCompression: a polling response of 1024 bytes or more is sent
// gzip- or deflate-encoded as the request accepts (engine.io's
// httpCompression), a smaller one and one to a client accepting neither as
// it is, and none with DisableHTTPCompression.
func TestPollingCompression(t *testing.T) {
	big := strings.Repeat("é", 600) // 1200 bytes of JSON string
	cases := []struct {
		name   string
		cfg    sio.Config
		accept string
		arg    string
		want   string // Content-Encoding
	}{
		{"gzip", sio.Config{}, "gzip, deflate, br", big, "gzip"},
		{"deflate only", sio.Config{}, "deflate", big, "deflate"},
		{"gzip refused", sio.Config{}, "gzip;q=0, deflate;q=0.5", big, "deflate"},
		{"deflate preferred", sio.Config{}, "gzip;q=0.4, deflate", big, "deflate"},
		{"any", sio.Config{}, "*", big, "gzip"},
		{"none accepted", sio.Config{}, "br", big, ""},
		{"no header", sio.Config{}, "", big, ""},
		{"small", sio.Config{}, "gzip", "small", ""},
		{"threshold", sio.Config{HTTPCompressionThreshold: 64}, "gzip", strings.Repeat("x", 80), "gzip"},
		{"disabled", sio.Config{DisableHTTPCompression: true}, "gzip", big, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg, func(srv *sio.Server) {
				srv.OnConnection(func(s *sio.Socket) {
					s.On("big", func(ev *sio.Event) { _ = s.Emit("big", tc.arg) })
				})
			})
			p := ts.openPolling(t)
			p.connect(t)
			p.mustPost(t, `42["big"]`)
			req, err := http.NewRequest(http.MethodGet, p.url(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			resp, err := ts.hc.Do(req) // its transport does not decompress
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("Content-Encoding"); got != tc.want {
				t.Fatalf("Content-Encoding %q, want %q", got, tc.want)
			}
			var r io.Reader = resp.Body
			switch tc.want {
			case "gzip":
				if r, err = gzip.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			case "deflate":
				if r, err = zlib.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			}
			body, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if want := `42["big","` + tc.arg + `"]`; string(body) != want {
				t.Fatalf("body %.60q (%d bytes), want %.60q (%d bytes)", body, len(body), want, len(want))
			}
		})
	}
}
