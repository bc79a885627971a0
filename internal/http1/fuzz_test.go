package http1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// fuzzLimits are small so that random inputs reach every limit.
var fuzzLimits = &Limits{MaxHeaderBytes: 1024, MaxHeaders: 16, MaxBodyBytes: 512}

func FuzzParse(f *testing.F) {
	for _, tc := range validCases() {
		f.Add([]byte(tc.in))
	}
	for _, tc := range errorCases() {
		if len(tc.in) <= 2048 {
			f.Add([]byte(tc.in))
		}
	}
	f.Add([]byte(pollingPOST + wsUpgrade))
	f.Add([]byte(pollingGET + "\r\n" + pollingPOST + "GET / HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStream(t, data, fuzzLimits)

		// Split consistency: any cut gives the results of one chunk.
		want, wantRest := drive([][]byte{data}, fuzzLimits)
		failed := len(want) > 0 && want[len(want)-1].Err != nil
		step := 1
		if len(data) > 256 {
			step = len(data)/64 + 1
		}
		for k := 0; k <= len(data); k += step {
			got, rest := drive(splitAt(data, k), fuzzLimits)
			if !equalResults(got, want) || (!failed && !bytes.Equal(rest, wantRest)) {
				t.Fatalf("split at %d:\n got %v\nwant %v", k, got, want)
			}
		}
		if len(data) <= 256 {
			if got, rest := drive(bytewise(data), fuzzLimits); !equalResults(got, want) || (!failed && !bytes.Equal(rest, wantRest)) {
				t.Fatalf("byte by byte:\n got %v\nwant %v", got, want)
			}
		}
	})
}

// checkStream parses every request in data in turn and checks the
// invariants of each result.
func checkStream(t *testing.T, data []byte, lim *Limits) {
	t.Helper()
	maxHead, maxHeaders, maxBody := lim.values()
	var req Request
	for b := data; ; {
		n, err := Parse(b, &req, lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || n != 0 {
				t.Fatalf("Parse = (%d, %v): not a bare *Error", n, err)
			}
			switch e.Status {
			case 400, 413, 431, 501, 505:
			default:
				t.Fatalf("unexpected status %d", e.Status)
			}
			return
		}
		if n == 0 {
			if req.Len() > 0 && req.Len() <= len(b) {
				t.Fatalf("need more with Len() %d <= %d buffered", req.Len(), len(b))
			}
			return
		}
		checkRequest(t, b[:n], &req, maxHead, maxHeaders, maxBody)
		b = b[n:]
	}
}

func checkRequest(t *testing.T, in []byte, req *Request, maxHead, maxHeaders int, maxBody int64) {
	t.Helper()
	n := len(in)
	if n != req.Len() || req.HeaderLen > maxHead || len(req.Headers) > maxHeaders || req.ContentLength > maxBody {
		t.Fatalf("n=%d Len=%d HeaderLen=%d headers=%d cl=%d", n, req.Len(), req.HeaderLen, len(req.Headers), req.ContentLength)
	}
	if req.Major != 1 || req.Minor < 0 || req.Minor > 9 || req.Chunked {
		t.Fatalf("version %d.%d chunked %v", req.Major, req.Minor, req.Chunked)
	}
	if !bytes.Equal(req.Body, in[req.HeaderLen:]) || (req.Body == nil) != (req.ContentLength <= 0) {
		t.Fatalf("body %q vs %q", req.Body, in[req.HeaderLen:])
	}
	if !bytes.HasSuffix(in[:req.HeaderLen], []byte("\r\n\r\n")) {
		t.Fatalf("head does not end in CRLFCRLF: %q", in[:req.HeaderLen])
	}
	whole := req.Path
	if req.RawQuery != nil {
		whole = append(append(bytes.Clone(whole), '?'), req.RawQuery...)
	}
	if !bytes.Equal(whole, req.Target) || len(req.Method) == 0 || len(req.Target) == 0 {
		t.Fatalf("method %q target %q path %q query %q", req.Method, req.Target, req.Path, req.RawQuery)
	}
	for _, h := range req.Headers {
		if len(h.Name) == 0 {
			t.Fatal("empty header name")
		}
		for _, c := range h.Name {
			if charClass[c]&classToken == 0 {
				t.Fatalf("header name %q", h.Name)
			}
		}
		for _, c := range h.Value {
			if charClass[c]&classValue == 0 {
				t.Fatalf("header value %q", h.Value)
			}
		}
		if len(h.Value) > 0 && (isOWS(h.Value[0]) || isOWS(h.Value[len(h.Value)-1])) {
			t.Fatalf("untrimmed value %q", h.Value)
		}
	}

	checkHead(t, in[:req.HeaderLen], req)

	// Round trip: writing the request out canonically and parsing it again
	// gives the same request.
	canon := serialize(req)
	var again Request
	m, err := Parse(canon, &again, &Limits{MaxHeaderBytes: len(canon) + 1, MaxHeaders: maxHeaders, MaxBodyBytes: maxBody})
	if err != nil || m != len(canon) {
		t.Fatalf("re-parse of %q = (%d, %v)", canon, m, err)
	}
	a, b := snap(n, nil, req), snap(m, nil, &again)
	a.N, a.HeaderLen, b.N, b.HeaderLen = 0, 0, 0, 0
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the request:\n got %v\nwant %v", b, a)
	}

	compareWithStd(t, canon, req)
}

// serialize writes req in the canonical form: no leading empty lines, one
// space after each colon.
func serialize(req *Request) []byte {
	var b []byte
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.Target...)
	b = fmt.Appendf(b, " HTTP/%d.%d\r\n", req.Major, req.Minor)
	for _, h := range req.Headers {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, req.Body...)
}

// compareWithStd requires net/http's own parser to accept every request
// Parse accepts and to read the same method, target, version, headers,
// connection semantics and body from it; and ToStd to agree with it.
func compareWithStd(t *testing.T, in []byte, req *Request) {
	t.Helper()
	std, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
	mine, myErr := req.ToStd("")
	if err != nil {
		// ReadRequest also parses the URL; ToStd must reject the same
		// targets and nothing else.
		if myErr == nil {
			t.Fatalf("net/http rejects %q (%v), ToStd accepts it", in, err)
		}
		return
	}
	if myErr != nil {
		t.Fatalf("ToStd rejects %q (%v), net/http accepts it", in, myErr)
	}
	stdBody, _ := io.ReadAll(std.Body)
	myBody, _ := io.ReadAll(mine.Body)
	delete(std.Header, "Host")
	if std.Method != mine.Method || std.RequestURI != mine.RequestURI || std.URL.String() != mine.URL.String() ||
		std.Proto != mine.Proto || std.Host != mine.Host || std.Close != mine.Close || !req.KeepAlive != std.Close ||
		!bytes.Equal(stdBody, myBody) || !reflect.DeepEqual(std.Header, mine.Header) {
		t.Fatalf("net/http disagrees on %q:\nstd  %s %s %s host=%q close=%v body=%q %v\nmine %s %s %s host=%q close=%v body=%q %v",
			in, std.Method, std.URL, std.Proto, std.Host, std.Close, stdBody, std.Header,
			mine.Method, mine.URL, mine.Proto, mine.Host, mine.Close, myBody, mine.Header)
	}
}
