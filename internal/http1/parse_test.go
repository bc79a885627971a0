package http1

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type validCase struct {
	name string
	in   string
	lim  *Limits
	want result
}

// validCases lists requests Parse must accept, with every field spelled out,
// except that a zero N and HeaderLen stand for len(in): the request is a
// head that fills the whole input.
func validCases() []validCase {
	hl := func(s string) int { return len(s) }
	const minimal = "GET / HTTP/1.1\r\n\r\n"
	exactHead := "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 64-len("GET / HTTP/1.1\r\nX: ")-4) + "\r\n\r\n"
	threeHeaders := "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
	cases := []validCase{
		{
			name: "engine.io polling GET",
			in:   pollingGET,
			want: result{
				N: hl(pollingGET), Method: "GET",
				Target:   "/socket.io/?EIO=4&transport=polling&t=PZx1a2b&sid=h_8VLE9a5XlomRuHAACk",
				Path:     "/socket.io/",
				RawQuery: "EIO=4&transport=polling&t=PZx1a2b&sid=h_8VLE9a5XlomRuHAACk", HasQuery: true,
				Major: 1, Minor: 1,
				Headers: [][2]string{
					{"Host", "localhost:3000"},
					{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"},
					{"Accept", "*/*"},
					{"Accept-Encoding", "gzip, deflate, br"},
					{"Accept-Language", "en-US,en;q=0.9"},
					{"Connection", "keep-alive"},
					{"Cookie", "io=h_8VLE9a5XlomRuHAACk"},
					{"Origin", "http://localhost:3000"},
					{"Referer", "http://localhost:3000/"},
				},
				ContentLength: -1, KeepAlive: true, HeaderLen: hl(pollingGET),
			},
		},
		{
			name: "websocket upgrade",
			in:   wsUpgrade,
			want: result{
				N: hl(wsUpgrade), Method: "GET",
				Target:   "/socket.io/?EIO=4&transport=websocket&sid=h_8VLE9a5XlomRuHAACk",
				Path:     "/socket.io/",
				RawQuery: "EIO=4&transport=websocket&sid=h_8VLE9a5XlomRuHAACk", HasQuery: true,
				Major: 1, Minor: 1,
				Headers: [][2]string{
					{"Host", "localhost:3000"},
					{"Connection", "Upgrade"},
					{"Pragma", "no-cache"},
					{"Cache-Control", "no-cache"},
					{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"},
					{"Upgrade", "websocket"},
					{"Origin", "http://localhost:3000"},
					{"Sec-WebSocket-Version", "13"},
					{"Accept-Encoding", "gzip, deflate, br"},
					{"Accept-Language", "en-US,en;q=0.9"},
					{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
					{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"},
				},
				ContentLength: -1, KeepAlive: true, Upgrade: true, HeaderLen: hl(wsUpgrade),
			},
		},
		{
			name: "polling POST with body",
			in:   pollingPOST,
			want: result{
				N: hl(pollingPOST), Method: "POST",
				Target:   "/socket.io/?EIO=4&transport=polling&sid=h_8VLE9a5XlomRuHAACk",
				Path:     "/socket.io/",
				RawQuery: "EIO=4&transport=polling&sid=h_8VLE9a5XlomRuHAACk", HasQuery: true,
				Major: 1, Minor: 1,
				Headers: [][2]string{
					{"Host", "localhost:3000"},
					{"Content-Type", "text/plain;charset=UTF-8"},
					{"Content-Length", "18"},
				},
				ContentLength: 18, KeepAlive: true, HeaderLen: hl(pollingPOST) - 18,
				Body: `42["message","hi"]`, HasBody: true,
			},
		},
		{
			name: "no headers, no query",
			in:   minimal,
			want: result{N: hl(minimal), Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				ContentLength: -1, KeepAlive: true, HeaderLen: hl(minimal)},
		},
		{
			name: "trailing bytes are not consumed",
			in:   minimal + "GET /next",
			want: result{N: hl(minimal), Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				ContentLength: -1, KeepAlive: true, HeaderLen: hl(minimal)},
		},
		{
			name: "empty query keeps a non-nil RawQuery",
			in:   "GET /x? HTTP/1.1\r\n\r\n",
			want: result{Method: "GET", Target: "/x?", Path: "/x", HasQuery: true, Major: 1, Minor: 1,
				ContentLength: -1, KeepAlive: true},
		},
		{
			name: "asterisk form",
			in:   "OPTIONS * HTTP/1.1\r\n\r\n",
			want: result{Method: "OPTIONS", Target: "*", Path: "*", Major: 1, Minor: 1,
				ContentLength: -1, KeepAlive: true},
		},
		{
			name: "absolute form keeps scheme in Path",
			in:   "GET http://example.com/a?b=1 HTTP/1.1\r\n\r\n",
			want: result{Method: "GET", Target: "http://example.com/a?b=1", Path: "http://example.com/a",
				RawQuery: "b=1", HasQuery: true, Major: 1, Minor: 1, ContentLength: -1, KeepAlive: true},
		},
		{
			name: "leading empty lines are skipped and counted",
			in:   "\r\n\r\n" + minimal,
			want: result{N: 4 + hl(minimal), Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				ContentLength: -1, KeepAlive: true, HeaderLen: 4 + hl(minimal)},
		},
		{
			name: "HTTP/1.0 closes by default",
			in:   "GET / HTTP/1.0\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 0,
				ContentLength: -1},
		},
		{
			name: "HTTP/1.0 keep-alive",
			in:   "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 0,
				Headers: [][2]string{{"Connection", "Keep-Alive"}}, ContentLength: -1, KeepAlive: true},
		},
		{
			name: "HTTP/1.0 close wins over keep-alive",
			in:   "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 0,
				Headers: [][2]string{{"Connection", "keep-alive, close"}}, ContentLength: -1},
		},
		{
			name: "HTTP/1.0 upgrade is ignored",
			in:   "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 0,
				Headers:       [][2]string{{"Connection", "upgrade"}, {"Upgrade", "websocket"}},
				ContentLength: -1},
		},
		{
			name: "HTTP/1.1 Connection close",
			in:   "GET / HTTP/1.1\r\nconnection: CLOSE\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers: [][2]string{{"connection", "CLOSE"}}, ContentLength: -1},
		},
		{
			name: "upgrade token in a list",
			in:   "GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUPGRADE: websocket\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"Connection", "keep-alive, Upgrade"}, {"UPGRADE", "websocket"}},
				ContentLength: -1, KeepAlive: true, Upgrade: true},
		},
		{
			name: "upgrade token in a repeated Connection header",
			in:   "GET / HTTP/1.1\r\nConnection: keep-alive\r\nUpgrade: websocket\r\nConnection: ,upgrade,\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"Connection", "keep-alive"}, {"Upgrade", "websocket"}, {"Connection", ",upgrade,"}},
				ContentLength: -1, KeepAlive: true, Upgrade: true},
		},
		{
			name: "upgrade needs a whole token",
			in:   "GET / HTTP/1.1\r\nConnection: upgraded\r\nUpgrade: websocket\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"Connection", "upgraded"}, {"Upgrade", "websocket"}},
				ContentLength: -1, KeepAlive: true},
		},
		{
			name: "upgrade needs the Connection token",
			in:   "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers: [][2]string{{"Upgrade", "websocket"}}, ContentLength: -1, KeepAlive: true},
		},
		{
			name: "upgrade needs a non-empty Upgrade header",
			in:   "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade:  \r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"Connection", "Upgrade"}, {"Upgrade", ""}},
				ContentLength: -1, KeepAlive: true},
		},
		{
			name: "value whitespace is trimmed, inner whitespace and obs-text kept",
			in:   "GET / HTTP/1.1\r\nX: \t a\tb  caf\xc3\xa9 \t\r\nY:\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"X", "a\tb  caf\xc3\xa9"}, {"Y", ""}},
				ContentLength: -1, KeepAlive: true},
		},
		{
			name: "Content-Length zero has no body",
			in:   "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
			want: result{Method: "POST", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers: [][2]string{{"Content-Length", "0"}}, KeepAlive: true},
		},
		{
			name: "identical repeated Content-Length with whitespace",
			in:   "POST / HTTP/1.1\r\nContent-Length: 2 \r\ncontent-length:2\r\n\r\nokGET",
			want: result{N: 59, Method: "POST", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"Content-Length", "2"}, {"content-length", "2"}},
				ContentLength: 2, KeepAlive: true, HeaderLen: 57, Body: "ok", HasBody: true},
		},
		{
			name: "HTTP/1.9 is treated as 1.x",
			in:   "GET / HTTP/1.9\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 9,
				ContentLength: -1, KeepAlive: true},
		},
		{
			name: "unusual but valid token method",
			in:   "M-SEARCH~! / HTTP/1.1\r\n\r\n",
			want: result{Method: "M-SEARCH~!", Target: "/", Path: "/", Major: 1, Minor: 1,
				ContentLength: -1, KeepAlive: true},
		},
		{
			name: "head exactly at MaxHeaderBytes",
			in:   exactHead,
			lim:  &Limits{MaxHeaderBytes: 64},
			want: result{N: 64, Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"X", strings.Repeat("a", 64-len("GET / HTTP/1.1\r\nX: ")-4)}},
				ContentLength: -1, KeepAlive: true, HeaderLen: 64},
		},
		{
			name: "exactly MaxHeaders",
			in:   threeHeaders,
			lim:  &Limits{MaxHeaders: 3},
			want: result{N: hl(threeHeaders), Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"A", "1"}, {"B", "2"}, {"C", "3"}},
				ContentLength: -1, KeepAlive: true, HeaderLen: hl(threeHeaders)},
		},
		{
			name: "Content-Length exactly MaxBodyBytes",
			in:   "PUT / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd",
			lim:  &Limits{MaxBodyBytes: 4},
			want: result{N: 41, Method: "PUT", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers:       [][2]string{{"Content-Length", "4"}},
				ContentLength: 4, KeepAlive: true, HeaderLen: 37, Body: "abcd", HasBody: true},
		},
		{
			name: "missing Host on HTTP/1.1 is accepted",
			in:   "GET / HTTP/1.1\r\nAccept: */*\r\nAccept-Charset: utf-8\r\n\r\n",
			want: result{Method: "GET", Target: "/", Path: "/", Major: 1, Minor: 1,
				Headers: [][2]string{{"Accept", "*/*"}, {"Accept-Charset", "utf-8"}}, ContentLength: -1, KeepAlive: true},
		},
	}
	for i := range cases {
		if cases[i].want.N == 0 {
			cases[i].want.N, cases[i].want.HeaderLen = len(cases[i].in), len(cases[i].in)
		}
	}
	return cases
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases() {
		t.Run(tc.name, func(t *testing.T) {
			var req Request
			n, err := Parse([]byte(tc.in), &req, tc.lim)
			if got := snap(n, err, &req); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q)\n got %v\nwant %v", tc.in, got, tc.want)
			}
			if req.Len() != n {
				t.Errorf("Len() = %d, want %d", req.Len(), n)
			}
		})
	}
}

type errorCase struct {
	name string
	in   string
	lim  *Limits
	want *Error
}

func manyHeaders(n int) string {
	var b strings.Builder
	b.WriteString("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "X-%d: v\r\n", i)
	}
	b.WriteString("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	return b.String()
}

// errorCases lists inputs Parse must reject, with the exact rejection.
func errorCases() []errorCase {
	return []errorCase{
		// Bad handshake requests the reference refuses (cases A7, A11-A13
		// and C6).
		{name: "A13 garbage request line", in: "GARBAGE\r\n\r\n", want: errRequestLine},
		{name: "A13 TLS ClientHello", in: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", want: errRequestLine},
		{name: "A11 20 KiB header block", in: "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", want: ErrHeaderTooLarge},
		{name: "A12 2100 headers with Upgrade after header 2000", in: manyHeaders(2100), want: errTooMany},
		{name: "C6 Sec-WebSocket-Protocol with 30000 spaces", in: "GET / HTTP/1.1\r\nSec-WebSocket-Protocol: b" + strings.Repeat(" ", 30000) + "x\r\n\r\n", want: ErrHeaderTooLarge},
		{name: "A7 control character in Origin", in: "GET / HTTP/1.1\r\nOrigin: http://a\x01b\r\n\r\n", want: errHeaderValue},

		// Request line.
		{name: "HTTP/0.9 request line", in: "GET /\r\n\r\n", want: errRequestLine},
		{name: "empty target", in: "GET  HTTP/1.1\r\n\r\n", want: errRequestLine},
		{name: "empty method", in: " / HTTP/1.1\r\n\r\n", want: errRequestLine},
		{name: "non-token method", in: "GE(T / HTTP/1.1\r\n\r\n", want: errRequestLine},
		{name: "tab separator", in: "GET\t/ HTTP/1.1\r\n\r\n", want: errRequestLine},
		{name: "control character in target", in: "GET /a\x01b HTTP/1.1\r\n\r\n", want: errTarget},
		{name: "raw UTF-8 in target", in: "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", want: errTarget},
		{name: "lower-case version", in: "GET / http/1.1\r\n\r\n", want: errVersionSyntax},
		{name: "two-digit minor", in: "GET / HTTP/1.10\r\n\r\n", want: errVersionSyntax},
		{name: "space after version", in: "GET / HTTP/1.1 \r\n\r\n", want: errVersionSyntax},
		{name: "missing version digits", in: "GET / HTTP/1\r\n\r\n", want: errVersionSyntax},
		{name: "letter for major version", in: "GET / HTTP/x.1\r\n\r\n", want: errVersionSyntax},
		{name: "HTTP/2.0", in: "GET / HTTP/2.0\r\n\r\n", want: ErrVersion},
		{name: "HTTP/2 preface", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want: ErrVersion},
		{name: "HTTP/0.9 version", in: "GET / HTTP/0.9\r\n\r\n", want: ErrVersion},
		{name: "bare LF after request line", in: "GET / HTTP/1.1\n\n", want: errLineEnd},
		{name: "bare CR before request line", in: "\rGET / HTTP/1.1\r\n\r\n", want: errLineEnd},
		{name: "bare LF before request line", in: "\nGET / HTTP/1.1\r\n\r\n", want: errRequestLine},
		{name: "request line never ends", in: "GET /" + strings.Repeat("a", 9000), want: ErrHeaderTooLarge},

		// Header lines.
		{name: "whitespace before first header", in: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", want: errObsFold},
		{name: "obs-fold", in: "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", want: errObsFold},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", want: errHeaderName},
		{name: "empty header name", in: "GET / HTTP/1.1\r\n: a\r\n\r\n", want: errHeaderName},
		{name: "no colon", in: "GET / HTTP/1.1\r\nHost a\r\n\r\n", want: errHeaderName},
		{name: "non-token name", in: "GET / HTTP/1.1\r\nHo@st: a\r\n\r\n", want: errHeaderName},
		{name: "NUL in value", in: "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", want: errHeaderValue},
		{name: "DEL in value", in: "GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n", want: errHeaderValue},
		{name: "bare LF ends a header", in: "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", want: errHeaderValue},
		{name: "bare CR in value", in: "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", want: errLineEnd},
		{name: "CR without LF at end of head", in: "GET / HTTP/1.1\r\nX: a\r\n\rx", want: errLineEnd},
		{name: "head never ends", in: "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 9000), want: ErrHeaderTooLarge},
		{name: "one byte over MaxHeaderBytes", in: "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 64-len("GET / HTTP/1.1\r\nX: ")-3) + "\r\n\r\n", lim: &Limits{MaxHeaderBytes: 64}, want: ErrHeaderTooLarge},
		{name: "one header over MaxHeaders", in: "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", lim: &Limits{MaxHeaders: 3}, want: errTooMany},

		// Framing and semantics.
		{name: "non-numeric Content-Length", in: "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", want: errContentLength},
		{name: "negative Content-Length", in: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", want: errContentLength},
		{name: "signed Content-Length", in: "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", want: errContentLength},
		{name: "empty Content-Length", in: "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", want: errContentLength},
		{name: "Content-Length list", in: "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\nx", want: errContentLength},
		{name: "conflicting Content-Length", in: "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", want: errDupLength},
		{name: "Content-Length and Transfer-Encoding", in: "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: errLengthAndTE},
		{name: "chunked", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrChunked},
		{name: "chunked, upper case, after gzip", in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n", want: ErrChunked},
		{name: "chunked not final", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", want: errTE},
		{name: "unknown transfer coding", in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", want: errTE},
		{name: "empty Transfer-Encoding", in: "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", want: errTE},
		{name: "Transfer-Encoding in HTTP/1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", want: errTE10},
		{name: "two Host headers", in: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", want: errDupHost},
		{name: "B3 Content-Length above default limit, before the body", in: "POST / HTTP/1.1\r\nContent-Length: 1000001\r\n\r\n", want: ErrBodyTooLarge},
		{name: "Content-Length that overflows int64", in: "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", want: ErrBodyTooLarge},
		{name: "Content-Length one over MaxBodyBytes", in: "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", lim: &Limits{MaxBodyBytes: 10}, want: ErrBodyTooLarge},
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			var req Request
			n, err := Parse([]byte(tc.in), &req, tc.lim)
			if n != 0 || err != tc.want {
				t.Fatalf("Parse = (%d, %v), want (0, %v)", n, err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.want.Status {
				t.Fatalf("error %v is not an *Error with status %d", err, tc.want.Status)
			}
		})
	}
}

// TestParseHugeInputsStayBounded checks that the CVE-style inputs are
// rejected without the parser reading past MaxHeaderBytes: a buffer of a
// megabyte of header costs the same as one of 8 KiB.
func TestParseHugeInputsStayBounded(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want *Error
	}{
		{name: "endless header value", in: append([]byte("GET / HTTP/1.1\r\nX: "), bytes.Repeat([]byte("a"), 1<<20)...), want: ErrHeaderTooLarge},
		{name: "endless spaces", in: append([]byte("GET / HTTP/1.1\r\nSec-WebSocket-Protocol: b"), bytes.Repeat([]byte(" "), 1<<20)...), want: ErrHeaderTooLarge},
		{name: "endless tiny headers", in: append([]byte("GET / HTTP/1.1\r\n"), bytes.Repeat([]byte("a:b\r\n"), 1<<18)...), want: errTooMany},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req Request
			// Poison everything past the limit: if the parser looked
			// there it would report a syntax error instead.
			in := bytes.Clone(tc.in)
			for i := DefaultMaxHeaderBytes; i < len(in); i++ {
				in[i] = 0
			}
			if _, err := Parse(in, &req, nil); err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseNeedMore(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantLen int
	}{
		{name: "empty", in: "", wantLen: 0},
		{name: "lone CR", in: "\r", wantLen: 0},
		{name: "method only", in: "GET", wantLen: 0},
		{name: "version prefix of HTTP/2", in: "GET / HTTP/2", wantLen: 0},
		{name: "head without final CRLF", in: "GET / HTTP/1.1\r\nHost: a\r\n", wantLen: 0},
		{name: "head without final LF", in: "GET / HTTP/1.1\r\nHost: a\r\n\r", wantLen: 0},
		{name: "body missing", in: "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", wantLen: 38 + 5},
		{name: "body partial", in: "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhell", wantLen: 38 + 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req Request
			n, err := Parse([]byte(tc.in), &req, nil)
			if n != 0 || err != nil {
				t.Fatalf("Parse = (%d, %v), want (0, nil)", n, err)
			}
			if req.Len() != tc.wantLen {
				t.Fatalf("Len() = %d, want %d", req.Len(), tc.wantLen)
			}
		})
	}
}

// TestParseViewsCannotClobber checks that appending to a returned view
// allocates instead of overwriting the bytes that follow it in the buffer.
func TestParseViewsCannotClobber(t *testing.T) {
	in := []byte("POST /p?q=1 HTTP/1.1\r\nX: v\r\nContent-Length: 2\r\n\r\nokNEXT")
	orig := bytes.Clone(in)
	var req Request
	if _, err := Parse(in, &req, nil); err != nil {
		t.Fatal(err)
	}
	views := [][]byte{req.Method, req.Target, req.Path, req.RawQuery, req.Body}
	for _, h := range req.Headers {
		views = append(views, h.Name, h.Value)
	}
	for _, v := range views {
		_ = append(v, '!')
	}
	if !bytes.Equal(in, orig) {
		t.Fatalf("buffer changed: %q", in)
	}
}

// TestParseReuse checks that a reused Request carries nothing over from the
// previous request.
func TestParseReuse(t *testing.T) {
	var req Request
	if _, err := Parse([]byte(wsUpgrade), &req, nil); err != nil {
		t.Fatal(err)
	}
	in := "GET / HTTP/1.0\r\n\r\n"
	n, err := Parse([]byte(in), &req, nil)
	want := result{N: len(in), Method: "GET", Target: "/", Path: "/", Major: 1, ContentLength: -1, HeaderLen: len(in)}
	if got := snap(n, err, &req); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if cap(req.Headers) == 0 {
		t.Fatal("Headers capacity was not kept")
	}
}
