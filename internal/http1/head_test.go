package http1

import (
	"bytes"
	"net/url"
	"testing"
)

func TestHeadRequestLine(t *testing.T) {
	tests := []struct {
		in                           string
		method, target, path, rawQry string
	}{
		{in: pollingGET, method: "GET", target: "/socket.io/?EIO=4&transport=polling&t=PZx1a2b&sid=h_8VLE9a5XlomRuHAACk",
			path: "/socket.io/", rawQry: "EIO=4&transport=polling&t=PZx1a2b&sid=h_8VLE9a5XlomRuHAACk"},
		{in: "\r\n\r\nPOST /a/b HTTP/1.0\r\n\r\n", method: "POST", target: "/a/b", path: "/a/b"},
		{in: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", method: "OPTIONS", target: "*", path: "*"},
		{in: "GET /p?a?b HTTP/1.1\r\n\r\n", method: "GET", target: "/p?a?b", path: "/p", rawQry: "a?b"},
		{in: "GET /%2F? HTTP/1.1\r\n\r\n", method: "GET", target: "/%2F?", path: "/%2F"},
	}
	for _, tc := range tests {
		req := mustParse(t, tc.in)
		h := Head(tc.in[:req.HeaderLen])
		if h.Method() != tc.method || h.Target() != tc.target || h.Path() != tc.path || h.RawQuery() != tc.rawQry {
			t.Errorf("%q: got %q %q %q %q, want %q %q %q %q", tc.in, h.Method(), h.Target(), h.Path(), h.RawQuery(),
				tc.method, tc.target, tc.path, tc.rawQry)
		}
	}
}

func TestHeadHeaders(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nX-Empty:\r\nconnection: Upgrade , foo\r\n" +
		"Upgrade: WebSocket\r\nX-Colon: a:b \r\nX-Rep:\r\nx-rep: 2\r\nX-REP:\t3\r\n\r\n"
	h := Head(in)
	tests := []struct {
		name, header string
		get          string
		has          bool
		combined     string
	}{
		{name: "single", header: "host", get: "h", has: true, combined: "h"},
		{name: "repeated", header: "CONNECTION", get: "keep-alive", has: true, combined: "keep-alive, Upgrade , foo"},
		{name: "empty value is present", header: "x-empty", get: "", has: true, combined: ""},
		{name: "colon in value", header: "X-Colon", get: "a:b", has: true, combined: "a:b"},
		{name: "three, first empty", header: "x-rep", get: "", has: true, combined: ", 2, 3"},
		{name: "absent", header: "Cookie"},
		{name: "prefix is not a match", header: "Hos"},
		{name: "longer is not a match", header: "Hostx"},
		{name: "non-ASCII fold is not a match", header: "Upgrade\u212a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := h.Get(tc.header)
			if got != tc.get || ok != tc.has {
				t.Errorf("Get = (%q, %v), want (%q, %v)", got, ok, tc.get, tc.has)
			}
			if got := h.Combined(tc.header); got != tc.combined {
				t.Errorf("Combined = %q, want %q", got, tc.combined)
			}
		})
	}
	// The request line is not a header field, even when it looks like one.
	if v, ok := Head("GET /x:y HTTP/1.1\r\n\r\n").Get("GET /x"); ok {
		t.Errorf("request line read as a field: %q", v)
	}
}

func TestHeadQuery(t *testing.T) {
	target := "/?EIO=4&transport=websocket&sid=a%2Bb%3D&x=a+b&y=%7e&s%69d=second&bad=%zz&bad=ok&semi=1;2&semi=3" +
		"&empty=&novalue&dup=1&dup=2&%zz=1&sp+ace=1&trail=%4"
	in := "GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n"
	h := Head(in)
	req := mustParse(t, in)
	tests := []struct {
		key  string
		want string
		ok   bool
	}{
		{key: "EIO", want: "4", ok: true},
		{key: "transport", want: "websocket", ok: true},
		{key: "sid", want: "a+b=", ok: true}, // escapes decoded; the first pair wins
		{key: "x", want: "a b", ok: true},    // '+' is a space
		{key: "y", want: "~", ok: true},      // lower-case hex
		{key: "bad", want: "ok", ok: true},   // a malformed pair is skipped
		{key: "semi", want: "3", ok: true},   // as are pairs with ';'
		{key: "empty", want: "", ok: true},   // present, empty
		{key: "novalue", want: "", ok: true}, // no '='
		{key: "dup", want: "1", ok: true},    // first value
		{key: "sp ace", want: "1", ok: true}, // keys are decoded too
		{key: "trail"},                       // "%4" is malformed
		{key: "missing"},
	}
	std, _ := url.ParseQuery(h.RawQuery())
	for _, tc := range tests {
		got, ok := h.Query(tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Query(%q) = (%q, %v), want (%q, %v)", tc.key, got, ok, tc.want, tc.ok)
		}
		if _, present := std[tc.key]; present != ok || std.Get(tc.key) != got {
			t.Errorf("Query(%q) = (%q, %v), url.ParseQuery has (%q, %v)", tc.key, got, ok, std.Get(tc.key), present)
		}
		if rgot, rok := req.Query(tc.key); rgot != got || rok != ok {
			t.Errorf("Query(%q) = (%q, %v), Request.Query (%q, %v)", tc.key, got, ok, rgot, rok)
		}
	}
	if _, ok := Head("GET / HTTP/1.1\r\n\r\n").Query(""); ok {
		t.Error("Query on a target without '?' found something")
	}
}

// checkHead requires a Head copied from an accepted request to read the
// same request line, fields and query parameters as the parsed Request.
func checkHead(t *testing.T, head []byte, req *Request) {
	t.Helper()
	h := Head(head)
	if h.Method() != string(req.Method) || h.Target() != string(req.Target) || h.Path() != string(req.Path) ||
		h.RawQuery() != string(req.RawQuery) {
		t.Fatalf("Head %q reads %q %q %q %q", head, h.Method(), h.Target(), h.Path(), h.RawQuery())
	}
	for _, f := range append(req.Headers, Header{Name: []byte("X-Absent-Field")}) {
		name := string(f.Name)
		v, ok := h.Get(name)
		if ok != req.Has(name) || v != string(req.Get(name)) {
			t.Fatalf("Head.Get(%q) = (%q, %v), Request.Get %q", name, v, ok, req.Get(name))
		}
		if got, want := h.Combined(name), string(bytes.Join(req.Values(name), []byte(", "))); got != want {
			t.Fatalf("Head.Combined(%q) = %q, want %q", name, got, want)
		}
	}
	std, _ := url.ParseQuery(string(req.RawQuery))
	for key := range std {
		v, ok := h.Query(key)
		rv, rok := req.Query(key)
		if v != rv || ok != rok || v != std.Get(key) {
			t.Fatalf("Head.Query(%q) = (%q, %v), Request.Query (%q, %v), url.ParseQuery %q", key, v, ok, rv, rok, std.Get(key))
		}
	}
}

func TestHeadAgreesWithRequest(t *testing.T) {
	for _, tc := range validCases() {
		var req Request
		if _, err := Parse([]byte(tc.in), &req, nil); err != nil || req.HeaderLen == 0 {
			continue
		}
		checkHead(t, []byte(tc.in[:req.HeaderLen]), &req)
	}
	for _, in := range []string{pollingGET, wsUpgrade, pollingPOST} {
		req := mustParse(t, in)
		checkHead(t, []byte(in[:req.HeaderLen]), req)
	}
}

func TestReset(t *testing.T) {
	buf := []byte(wsUpgrade)
	var req Request
	if _, err := Parse(buf, &req, nil); err != nil {
		t.Fatal(err)
	}
	n := len(req.Headers)
	req.Reset()
	if len(req.Headers) != 0 || cap(req.Headers) < n || req.Method != nil || req.Target != nil || req.ContentLength != -1 {
		t.Fatalf("after Reset: %+v", req)
	}
	for i, f := range req.Headers[:n] {
		if f.Name != nil || f.Value != nil {
			t.Fatalf("header %d still points into the old buffer: %q", i, f.Name)
		}
	}
}
