package loop_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// view is what the cheap accessors of an exchange returned.
type view struct {
	method, path, remote string
	query, header        map[string]string
}

func readView(x eio.Exchange, keys, headers []string) view {
	v := view{method: x.Method(), path: x.Path(), remote: x.RemoteAddr(), query: map[string]string{}, header: map[string]string{}}
	for _, k := range keys {
		v.query[k] = x.Query(k)
	}
	for _, k := range headers {
		v.header[k] = x.Header(k)
	}
	return v
}

// stdView is what the same accessors must return, read from net/http's
// form of the request.
func stdView(r *http.Request, keys, headers []string) view {
	v := view{method: r.Method, path: r.URL.Path, remote: r.RemoteAddr, query: map[string]string{}, header: map[string]string{}}
	q := r.URL.Query()
	for _, k := range keys {
		v.query[k] = q.Get(k)
	}
	for _, k := range headers {
		v.header[k] = strings.Join(r.Header.Values(k), ", ")
	}
	return v
}

func (v view) String() string {
	var b strings.Builder
	b.WriteString(v.method + " " + v.path + " from " + v.remote)
	for k, s := range v.query {
		b.WriteString(" ?" + k + "=" + s)
	}
	for k, s := range v.header {
		b.WriteString(" " + k + ": " + s)
	}
	return b.String()
}

func equalViews(a, b view) bool {
	if a.method != b.method || a.path != b.path || a.remote != b.remote {
		return false
	}
	for k := range a.query {
		if a.query[k] != b.query[k] {
			return false
		}
	}
	for k := range a.header {
		if a.header[k] != b.header[k] {
			return false
		}
	}
	return true
}

// The accessors agree with the *http.Request that Request builds, for the
// target forms and header shapes a client may send.
func TestExchangeAccessors(t *testing.T) {
	keys := []string{"EIO", "transport", "sid", "x", "k", "missing"}
	headers := []string{"Connection", "origin", "Upgrade", "X-Empty", "Missing"}
	type seen struct {
		v, std view
		body   string
		head   string
	}
	got := make(chan seen, 1)
	_, addr := serve(t, loop.Config{Handler: func(x eio.Exchange) {
		v := readView(x, keys, headers)
		r := x.Request()
		b, _ := io.ReadAll(r.Body)
		head := ""
		if hc, ok := x.(eio.HeadCopier); ok {
			head = hc.Head()
		}
		got <- seen{v: v, std: stdView(r, keys, headers), body: string(b), head: head}
		x.Respond(200, nil, nil)
	}})
	for _, tc := range []struct {
		name, req string
		want      view
		body      string
	}{
		{
			name: "escaped query, repeated headers",
			req: "GET /socket.io/?EIO=4&transport=polling&sid=a%2Bb%3D&x=a+b&sid=second HTTP/1.1\r\nHost: h\r\n" +
				"Connection: keep-alive\r\nconnection: Upgrade\r\nOrigin: http://o\r\nUpgrade: websocket\r\nX-Empty:\r\n\r\n",
			want: view{method: "GET", path: "/socket.io/",
				query:  map[string]string{"EIO": "4", "transport": "polling", "sid": "a+b=", "x": "a b", "missing": ""},
				header: map[string]string{"Connection": "keep-alive, Upgrade", "origin": "http://o", "Upgrade": "websocket", "X-Empty": "", "Missing": ""}},
		},
		{
			name: "escaped path, body, leading empty line",
			req:  "\r\nPOST /p%20q/r?k=v HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
			want: view{method: "POST", path: "/p q/r", query: map[string]string{"k": "v"}},
			body: "hi",
		},
		{
			name: "absolute form",
			req:  "GET http://example.com/abs?k=1 HTTP/1.1\r\nHost: h\r\n\r\n",
			want: view{method: "GET", path: "/abs", query: map[string]string{"k": "1"}},
		},
		{
			name: "asterisk form",
			req:  "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
			want: view{method: "OPTIONS", path: "*"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.write(t, tc.req)
			if resp, _ := c.response(t); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			s := <-got
			tc.want.remote = c.conn.LocalAddr().String()
			if !equalViews(s.v, s.std) {
				t.Errorf("accessors disagree with Request():\n got %v\nwant %v", s.v, s.std)
			}
			if !equalViews(tc.want, s.v) {
				t.Errorf("accessors:\n got %v\nwant %v", s.v, tc.want)
			}
			if s.body != tc.body {
				t.Errorf("Request().Body = %q, want %q", s.body, tc.body)
			}
			head, _, _ := strings.Cut(strings.TrimLeft(tc.req, "\r\n"), "\r\n\r\n")
			if s.head != head+"\r\n\r\n" {
				t.Errorf("Head() = %q, want %q", s.head, head+"\r\n\r\n")
			}
		})
	}
	// A target whose path does not decode is refused as before.
	c := dial(t, addr)
	c.write(t, "GET /bad%zz HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, _ := c.response(t); resp.StatusCode != 400 {
		t.Fatalf("bad escape: status %d, want 400", resp.StatusCode)
	}
	c.expectEOF(t, wait)
}

// An exchange kept past its handler, as a parked long-polling GET is, reads
// its own request (Request built for the first time included) after the
// connection's buffer and parse state went on to other requests, and after
// its connection closed and its state was recycled by a new connection.
func TestExchangeOutlivesHandler(t *testing.T) {
	keys := []string{"id", "sid"}
	headers := []string{"X-Seq", "Origin"}
	parked := make(chan eio.Exchange, 4)
	_, addr := serve(t, loop.Config{Handler: func(x eio.Exchange) {
		if x.Path() == "/park" {
			parked <- x
			return
		}
		x.Respond(200, nil, []byte(x.Query("id")))
	}})
	req := func(path, id string) string {
		return "GET " + path + "?id=" + id + "&sid=s" + id + " HTTP/1.1\r\nHost: h\r\nX-Seq: " + id + "\r\nOrigin: http://o" + id + "\r\n\r\n"
	}
	check := func(x eio.Exchange, id, remote string) {
		t.Helper()
		want := view{method: "GET", path: "/park", remote: remote,
			query:  map[string]string{"id": id, "sid": "s" + id},
			header: map[string]string{"X-Seq": id, "Origin": "http://o" + id}}
		r := x.Request()
		if got := readView(x, keys, headers); !equalViews(got, want) {
			t.Errorf("accessors: got %v, want %v", got, want)
		}
		if got := stdView(r, keys, headers); !equalViews(got, want) {
			t.Errorf("Request(): got %v, want %v", got, want)
		}
		if x.Request() != r {
			t.Error("Request() built twice")
		}
	}

	// Answered, then the same connection serves pipelined requests.
	c := dial(t, addr)
	c.write(t, req("/park", "1")+req("/next", "2")+req("/next", "3"))
	x1 := <-parked
	x1.Respond(200, nil, []byte("parked"))
	for _, want := range []string{"parked", "2", "3"} {
		if _, body := c.response(t); body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
	check(x1, "1", c.conn.LocalAddr().String())

	// Never answered: the client leaves, the state is recycled, and new
	// connections parse other requests meanwhile.
	d := dial(t, addr)
	d.write(t, req("/park", "4"))
	x4 := <-parked
	aborted := make(chan struct{})
	x4.OnAbort(func() { close(aborted) })
	remote4 := d.conn.LocalAddr().String()
	d.conn.Close()
	<-aborted
	for _, id := range []string{"5", "6"} {
		e := dial(t, addr)
		e.write(t, req("/next", id))
		if _, body := e.response(t); body != id {
			t.Fatalf("got %q, want %q", body, id)
		}
		e.conn.Close()
	}
	check(x4, "4", remote4)
}
