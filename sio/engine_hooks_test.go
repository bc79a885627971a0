package sio_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// Issue 12, item 6: engine.io's initial_headers, headers and
// connection_error hooks are reachable from sio.Config.
func TestConfigEngineHooks(t *testing.T) {
	refused := make(chan *sio.RequestError, 1)
	ts := startServer(t, sio.Config{
		InitialHeaders: func(h http.Header, r *http.Request) { h.Set("X-Initial", "1") },
		Headers:        func(h http.Header, r *http.Request) { h.Set("X-Every", r.URL.Query().Get("transport")) },
		OnConnectionError: func(r *http.Request, e *sio.RequestError) {
			select {
			case refused <- e:
			default:
			}
		},
	}, nil)
	get := func(query string) (*http.Response, string) {
		t.Helper()
		resp, err := ts.hc.Get("http://" + ts.addr + "/socket.io/?EIO=4&" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("transport=polling")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake: %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Initial") != "1" || resp.Header.Get("X-Every") != "polling" {
		t.Fatalf("handshake headers: %v", resp.Header)
	}
	resp, body = get("transport=bogus")
	if resp.StatusCode != 400 || body != `{"code":0,"message":"Transport unknown"}` {
		t.Fatalf("unknown transport: %d %q", resp.StatusCode, body)
	}
	select {
	case e := <-refused:
		if e.Code != 0 || e.Message != "Transport unknown" {
			t.Fatalf("OnConnectionError got %+v", e)
		}
	case <-time.After(wait):
		t.Fatal("OnConnectionError never ran")
	}
}
