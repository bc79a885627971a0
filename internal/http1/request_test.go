package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t testing.TB, in string) *Request {
	t.Helper()
	var req Request
	n, err := Parse([]byte(in), &req, nil)
	if err != nil || n == 0 {
		t.Fatalf("Parse(%q) = (%d, %v)", in, n, err)
	}
	return &req
}

func TestHeaderLookups(t *testing.T) {
	req := mustParse(t, "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nX-Empty:\r\nconnection: Upgrade , foo\r\nUpgrade: WebSocket\r\n\r\n")
	tests := []struct {
		name     string
		header   string
		wantGet  string
		wantNil  bool
		wantHas  bool
		wantVals []string
	}{
		{name: "single", header: "host", wantGet: "h", wantHas: true, wantVals: []string{"h"}},
		{name: "repeated, first wins for Get", header: "CONNECTION", wantGet: "keep-alive", wantHas: true, wantVals: []string{"keep-alive", "Upgrade , foo"}},
		{name: "empty value is present", header: "x-empty", wantGet: "", wantHas: true, wantVals: []string{""}},
		{name: "absent", header: "Cookie", wantNil: true},
		{name: "prefix is not a match", header: "Hos", wantNil: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := req.Get(tc.header)
			if (got == nil) != tc.wantNil || string(got) != tc.wantGet {
				t.Errorf("Get = %q (nil %v), want %q (nil %v)", got, got == nil, tc.wantGet, tc.wantNil)
			}
			if req.Has(tc.header) != tc.wantHas {
				t.Errorf("Has = %v, want %v", !tc.wantHas, tc.wantHas)
			}
			var vals []string
			for _, v := range req.Values(tc.header) {
				vals = append(vals, string(v))
			}
			if !reflect.DeepEqual(vals, tc.wantVals) {
				t.Errorf("Values = %q, want %q", vals, tc.wantVals)
			}
		})
	}

	tokens := []struct {
		name   string
		header string
		token  string
		want   bool
	}{
		{name: "token in second field, padded", header: "Connection", token: "upgrade", want: true},
		{name: "token after padded one", header: "connection", token: "FOO", want: true},
		{name: "token in first field", header: "Connection", token: "keep-alive", want: true},
		{name: "case-insensitive value", header: "Upgrade", token: "websocket", want: true},
		{name: "partial token", header: "Upgrade", token: "web", want: false},
		{name: "absent header", header: "Cookie", token: "a", want: false},
	}
	for _, tc := range tokens {
		t.Run(tc.name, func(t *testing.T) {
			if got := req.HasToken(tc.header, tc.token); got != tc.want {
				t.Fatalf("HasToken(%q, %q) = %v", tc.header, tc.token, got)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		key    string
		want   string
		wantOK bool
	}{
		{name: "engine.io handshake", query: "EIO=4&transport=polling&t=N8hyd6w", key: "transport", want: "polling", wantOK: true},
		{name: "percent-encoded value", query: "sid=a%2Fb%3D", key: "sid", want: "a/b=", wantOK: true},
		{name: "plus is a space", query: "q=a+b%20c", key: "q", want: "a b c", wantOK: true},
		{name: "encoded key", query: "%45IO=4", key: "EIO", want: "4", wantOK: true},
		{name: "first of repeated keys", query: "a=1&a=2", key: "a", want: "1", wantOK: true},
		{name: "key without =", query: "flag&b=2", key: "flag", want: "", wantOK: true},
		{name: "empty value", query: "a=&b=2", key: "a", want: "", wantOK: true},
		{name: "empty pairs skipped", query: "&&b=2&", key: "b", want: "2", wantOK: true},
		{name: "missing", query: "a=1", key: "b", wantOK: false},
		{name: "empty query", query: "", key: "a", wantOK: false},
		{name: "A14 bad escape", query: "x=%zz", key: "x", wantOK: false},
		{name: "truncated escape", query: "x=%4", key: "x", wantOK: false},
		{name: "bad second hex digit", query: "x=%4z", key: "x", wantOK: false},
		{name: "lower-case hex", query: "p=%2f%2F", key: "p", want: "//", wantOK: true},
		{name: "lone percent", query: "x=%", key: "x", wantOK: false},
		{name: "bad pair skipped, later one used", query: "sid=%zz&sid=ok", key: "sid", want: "ok", wantOK: true},
		{name: "bad escape in key", query: "%zz=1", key: "%zz", wantOK: false},
		{name: "semicolon pair skipped", query: "a=1;b=2&b=3", key: "b", want: "3", wantOK: true},
		{name: "key is case-sensitive", query: "eio=4", key: "EIO", wantOK: false},
		{name: "key longer than pair key", query: "ab=1", key: "abc", wantOK: false},
		{name: "value with '='", query: "a=b=c", key: "a", want: "b=c", wantOK: true},
		{name: "long escaped value", query: "v=" + strings.Repeat("%41", 100), key: "v", want: strings.Repeat("A", 100), wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mustParse(t, "GET /?"+tc.query+" HTTP/1.1\r\n\r\n")
			got, ok := req.Query(tc.key)
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("Query(%q) = (%q, %v), want (%q, %v)", tc.key, got, ok, tc.want, tc.wantOK)
			}
			scratch := []byte("prefix:")
			app, ok := req.AppendQuery(scratch, tc.key)
			if string(app) != "prefix:"+tc.want || ok != tc.wantOK {
				t.Fatalf("AppendQuery = (%q, %v)", app, ok)
			}
			checkQueryAgainstStd(t, tc.query, tc.key)
		})
	}
}

// checkQueryAgainstStd requires Query to agree with url.ParseQuery on the
// pairs url.ParseQuery keeps.
func checkQueryAgainstStd(t *testing.T, rawQuery, key string) {
	t.Helper()
	req := Request{RawQuery: []byte(rawQuery)}
	got, ok := req.Query(key)
	vals, _ := url.ParseQuery(rawQuery) // the error only reports skipped pairs
	if want, wantOK := vals.Get(key), vals.Has(key); got != want || ok != wantOK {
		t.Fatalf("Query(%q) on %q = (%q, %v), url.ParseQuery says (%q, %v)", key, rawQuery, got, ok, want, wantOK)
	}
}

func FuzzQuery(f *testing.F) {
	f.Add("EIO=4&transport=polling", "transport")
	f.Add("a=%zz&a=%41", "a")
	f.Add("%41+b=c;d", "A b")
	f.Fuzz(func(t *testing.T, rawQuery, key string) {
		checkQueryAgainstStd(t, rawQuery, key)
	})
}

func TestToStd(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{name: "polling GET", in: pollingGET},
		{name: "websocket upgrade", in: wsUpgrade},
		{name: "polling POST", in: pollingPOST},
		{name: "HTTP/1.0", in: "GET /a%20b?x=1 HTTP/1.0\r\nHost: example.com\r\n\r\n"},
		{name: "absolute form overrides Host", in: "GET http://other.example:8080/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n"},
		{name: "CONNECT authority form", in: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
		{name: "OPTIONS asterisk", in: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"},
		{name: "non-canonical header names", in: "GET / HTTP/1.1\r\nhost: h\r\nx-foo-bar: 1\r\nX-FOO-BAR: 2\r\nconnection: close\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			var req Request
			if _, err := Parse(in, &req, nil); err != nil {
				t.Fatal(err)
			}
			got, err := req.ToStd("10.0.0.1:1234")
			if err != nil {
				t.Fatal(err)
			}
			want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
			if err != nil {
				t.Fatal(err)
			}
			wantBody, _ := io.ReadAll(want.Body)
			// ReadRequest is the client-facing reader; a server also drops
			// Host from Header, which ToStd does too.
			delete(want.Header, "Host")

			// Ownership: scribbling over the input must not show through.
			for i := range in {
				in[i] = '#'
			}
			gotBody, _ := io.ReadAll(got.Body)
			if !bytes.Equal(gotBody, wantBody) {
				t.Errorf("body = %q, want %q", gotBody, wantBody)
			}
			if got.Method != want.Method || got.RequestURI != want.RequestURI || got.Host != want.Host ||
				got.Proto != want.Proto || got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor ||
				got.Close != want.Close || got.ContentLength != max(want.ContentLength, 0) {
				t.Errorf("got  %s %s %s host=%q close=%v cl=%d\nwant %s %s %s host=%q close=%v cl=%d",
					got.Method, got.RequestURI, got.Proto, got.Host, got.Close, got.ContentLength,
					want.Method, want.RequestURI, want.Proto, want.Host, want.Close, want.ContentLength)
			}
			if got.URL.String() != want.URL.String() {
				t.Errorf("URL = %q, want %q", got.URL, want.URL)
			}
			if !reflect.DeepEqual(got.Header, want.Header) {
				t.Errorf("Header = %v\nwant %v", got.Header, want.Header)
			}
			if got.RemoteAddr != "10.0.0.1:1234" {
				t.Errorf("RemoteAddr = %q", got.RemoteAddr)
			}
			if got.Context() == nil {
				t.Error("nil context")
			}
		})
	}
}

func TestToStdErrors(t *testing.T) {
	var empty Request
	if _, err := empty.ToStd(""); err == nil {
		t.Fatal("ToStd on an unparsed Request succeeded")
	}
	req := mustParse(t, "GET /%zz HTTP/1.1\r\n\r\n")
	if _, err := req.ToStd(""); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("err = %v, want a 400", err)
	}
}
