package eio

import "testing"

// TestPickEncoding: Accept-Encoding is read by quality (RFC 9110 §12.5.3),
// gzip first on a tie, as engine.io's accepts().encodings(["gzip",
// "deflate"]) picks.
func TestPickEncoding(t *testing.T) {
	for accept, want := range map[string]string{
		"":                             "",
		"gzip":                         "gzip",
		"GZIP":                         "gzip",
		"x-gzip":                       "gzip",
		"deflate":                      "deflate",
		"gzip, deflate, br":            "gzip",
		"deflate, gzip":                "gzip",
		"gzip;q=0.5, deflate":          "deflate",
		"gzip;q=0, deflate;q=0":        "",
		"gzip; q=0":                    "",
		"*":                            "gzip",
		"*;q=0":                        "",
		"*, gzip;q=0":                  "deflate",
		"br, zstd":                     "",
		"identity":                     "",
		"gzip;q=2":                     "",
		"gzip;q=abc, deflate;q=.1":     "deflate",
		" gzip ; Q=0.9 ,deflate;q=0.9": "gzip",
	} {
		if got := pickEncoding(accept); got != want {
			t.Errorf("pickEncoding(%q) = %q, want %q", accept, got, want)
		}
	}
}

// FuzzPickEncoding: any header value gives one of the three answers
// without a panic.
func FuzzPickEncoding(f *testing.F) {
	for _, s := range []string{"gzip, deflate, br", "gzip;q=0.5, deflate", "*;q=0", ";;,,=q", "gzip;q=1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		switch got := pickEncoding(accept); got {
		case "", "gzip", "deflate":
		default:
			t.Fatalf("pickEncoding(%q) = %q", accept, got)
		}
	})
}
