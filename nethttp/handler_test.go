package nethttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/nethttp"
)

// TestHandlerAndServeBuffered serves an http.Handler through both halves of
// the package: Handler turns each net/http request into an exchange, and
// ServeBuffered answers the exchange with the handler's buffered response.
func TestHandlerAndServeBuffered(t *testing.T) {
	panics := make(chan any, 1)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Query", r.URL.Query().Get("q"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(append([]byte("got "), b...))
	})
	h := &nethttp.Handler{MaxBodyBytes: 8, Serve: func(x eio.Exchange) {
		nethttp.ServeBuffered(x, app, func(v any, _ *http.Request) { panics <- v })
	}}
	ts := httptest.NewServer(h)
	defer ts.Close()

	for _, c := range []struct {
		method, path, body string
		status             int
		want, query        string
	}{
		{"POST", "/echo?q=1", "hi", http.StatusCreated, "got hi", "1"},
		{"HEAD", "/echo", "", http.StatusCreated, "", ""},
		{"POST", "/echo", "123456789", http.StatusRequestEntityTooLarge, "payload too large\n", ""},
		{"GET", "/panic", "", http.StatusInternalServerError, "internal server error\n", ""},
	} {
		req, err := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || string(b) != c.want || resp.Header.Get("X-Query") != c.query {
			t.Errorf("%s %s: %d %q (X-Query %q), want %d %q (%q)", c.method, c.path,
				resp.StatusCode, b, resp.Header.Get("X-Query"), c.status, c.want, c.query)
		}
	}
	select {
	case v := <-panics:
		if v != "boom" {
			t.Errorf("onPanic got %v", v)
		}
	default:
		t.Error("onPanic was not called")
	}
}
