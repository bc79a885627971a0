package http1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAppendResponse(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		headers []string
		body    string
		close   bool
		want    string
	}{
		{
			name: "polling POST reply", status: 200,
			headers: []string{"Content-Type", "text/html"}, body: "ok",
			want: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok",
		},
		{
			name: "close", status: 400,
			headers: []string{"Content-Type", "application/json"}, body: `{"code":3,"message":"Bad request"}`, close: true,
			want: "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 34\r\nConnection: close\r\n\r\n" + `{"code":3,"message":"Bad request"}`,
		},
		{
			name: "101 has no Content-Length and no body", status: 101,
			headers: []string{"Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
			body:    "ignored",
			want:    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		},
		{
			name: "204 preflight", status: 204,
			headers: []string{"Access-Control-Allow-Origin", "*"},
			want:    "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\n\r\n",
		},
		{
			name: "304", status: 304,
			want: "HTTP/1.1 304 Not Modified\r\n\r\n",
		},
		{
			name: "empty body still has Content-Length", status: 200,
			want: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		},
		{
			name: "unknown status has an empty reason", status: 599,
			want: "HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n",
		},
		{
			name: "CRLF in an echoed value cannot split the response", status: 200,
			headers: []string{"Access-Control-Allow-Origin", "http://a\r\nSet-Cookie: x=1\r\n\r\nevil", "X-Tab", "a\tb"},
			want:    "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://a  Set-Cookie: x=1    evil\r\nX-Tab: a\tb\r\nContent-Length: 0\r\n\r\n",
		},
		{
			name: "invalid header names are dropped", status: 200,
			headers: []string{"Bad Name", "v", "", "v", "Bad:Name", "v", "Good", "v"},
			want:    "HTTP/1.1 200 OK\r\nGood: v\r\nContent-Length: 0\r\n\r\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("kept")
			got := AppendResponse(prefix, tc.status, tc.headers, []byte(tc.body), tc.close)
			if string(got) != "kept"+tc.want {
				t.Fatalf("got  %q\nwant %q", got, "kept"+tc.want)
			}
		})
	}
}

// TestAppendResponseRoundTrip reads the output back with net/http's client
// parser and requires every header and the body to survive.
func TestAppendResponseRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		headers []string
		body    string
		close   bool
	}{
		{name: "handshake", status: 200, headers: []string{"Content-Type", "text/plain; charset=UTF-8", "Cache-Control", "no-store"},
			body: `0{"sid":"1_KXwBgsPfw3SqTVAACi","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{name: "binary body", status: 200, headers: []string{"Content-Type", "application/octet-stream"}, body: "\x00\x01\r\n\xff"},
		{name: "repeated header, close", status: 403, headers: []string{"Vary", "Origin", "Vary", "Accept"}, body: "no", close: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := AppendResponse(nil, tc.status, tc.headers, []byte(tc.body), tc.close)
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || string(body) != tc.body || resp.Close != tc.close || resp.ContentLength != int64(len(tc.body)) {
				t.Fatalf("status %d body %q close %v cl %d", resp.StatusCode, body, resp.Close, resp.ContentLength)
			}
			want := http.Header{}
			for i := 0; i < len(tc.headers); i += 2 {
				want.Add(tc.headers[i], tc.headers[i+1])
			}
			for k, v := range want {
				if got := resp.Header.Values(k); strings.Join(got, "|") != strings.Join(v, "|") {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestAppendResponsePanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
	}{
		{name: "odd header list", fn: func() { AppendResponse(nil, 200, []string{"X"}, nil, false) }},
		{name: "status below 100", fn: func() { AppendResponse(nil, 99, nil, nil, false) }},
		{name: "status above 999", fn: func() { AppendResponse(nil, 1000, nil, nil, false) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.fn()
		})
	}
}

func TestAppendError(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{name: "431", err: ErrHeaderTooLarge,
			want: "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n" +
				"Content-Length: 32\r\nConnection: close\r\n\r\nrequest header fields too large\n"},
		{name: "specific 400", err: errObsFold,
			want: "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n" +
				"Content-Length: 37\r\nConnection: close\r\n\r\nobsolete line folding is not allowed\n"},
		{name: "nil", err: nil,
			want: "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n" +
				"Content-Length: 22\r\nConnection: close\r\n\r\ninternal server error\n"},
		{name: "control characters in a caller's message", err: &Error{Status: 404, Msg: "no\r\nX: y"},
			want: "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n" +
				"Content-Length: 9\r\nConnection: close\r\n\r\nno  X: y\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendError(nil, tc.err)
			if string(got) != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	// Every status Parse can return must produce a response net/http reads.
	for _, e := range []*Error{ErrBadRequest, ErrHeaderTooLarge, ErrBodyTooLarge, ErrVersion, ErrChunked, errTooMany} {
		t.Run("readable "+e.Msg, func(t *testing.T) {
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(AppendError(nil, e))), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != e.Status || !resp.Close || string(body) != e.Msg+"\n" {
				t.Fatalf("status %d close %v body %q", resp.StatusCode, resp.Close, body)
			}
		})
	}
}
