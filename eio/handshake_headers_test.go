package eio_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
)

// The handshake response carries the session cookie and the headers
// InitialHeaders adds, on both transports (engine.io's "initial_headers").
func TestHandshakeCookieAndInitialHeaders(t *testing.T) {
	e := startEngine(t, eio.Config{
		Cookie: &http.Cookie{Name: "io", HttpOnly: true, SameSite: http.SameSiteLaxMode},
		InitialHeaders: func(h http.Header, r *http.Request) {
			h.Set("X-Initial", "yes "+r.URL.Query().Get("transport"))
		},
	}, nil)

	check := func(t *testing.T, h http.Header, transport, body string) {
		t.Helper()
		if got, want := h.Get("X-Initial"), "yes "+transport; got != want {
			t.Errorf("X-Initial = %q, want %q", got, want)
		}
		ck := h.Get("Set-Cookie")
		if !strings.HasPrefix(ck, "io=") || !strings.Contains(ck, "Path=/") || !strings.Contains(ck, "HttpOnly") {
			t.Fatalf("Set-Cookie = %q", ck)
		}
		sid := strings.TrimPrefix(strings.SplitN(ck, ";", 2)[0], "io=")
		if body != "" && !strings.Contains(body, `"sid":"`+sid+`"`) {
			t.Errorf("cookie value %q is not the session id of %q", sid, body)
		}
	}

	t.Run("polling", func(t *testing.T) {
		resp, err := e.hc.Get(e.url("http", "EIO=4&transport=polling"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "0{") {
			t.Fatalf("handshake: %d %q", resp.StatusCode, b)
		}
		check(t, resp.Header, "polling", string(b))
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
			t.Errorf("Content-Type = %q", ct)
		}
	})

	t.Run("websocket", func(t *testing.T) {
		h := http.Header{}
		d := ws.Dialer{OnHeader: func(key, value []byte) error {
			h.Add(string(key), string(value))
			return nil
		}}
		conn, _, _, err := d.Dial(context.Background(), e.url("ws", "EIO=4&transport=websocket"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		check(t, h, "websocket", "")
	})
}
