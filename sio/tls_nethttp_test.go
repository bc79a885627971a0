package sio_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/sio"
)

// TestNetHTTPTLSWebSocket: mounted in an http.Server with TLS, a wss://
// connection is served by the event loops through a bridge (before, the
// upgrade was refused and clients stayed on polling): the handshake, a
// CONNECT, events both ways, a broadcast of 256 KiB, and a clean close
// that frees the bridge.
func TestNetHTTPTLSWebSocket(t *testing.T) {
	srv := sio.NewServer(sio.Config{})
	secure := make(chan bool, 1)
	srv.OnConnection(func(s *sio.Socket) {
		secure <- s.Handshake().Secure
		s.On("echo", echo)
		s.On("big", func(*sio.Event) { _ = srv.Emit("big", strings.Repeat("x", 256<<10)) })
	})
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	url := "wss" + strings.TrimPrefix(hs.URL, "https") + "/socket.io/?EIO=4&transport=websocket"
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	d := ws.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: true}}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	c := &wsClient{conn: conn, rd: br}
	defer conn.Close()
	if open := c.next(t); openRE.FindStringSubmatch(open) == nil {
		t.Fatalf("open packet %q", open)
	}
	c.send(t, "40")
	if r := c.next(t); connectRE.FindStringSubmatch(r) == nil {
		t.Fatalf("CONNECT reply %q", r)
	}
	if !<-secure {
		t.Fatal("handshake not secure over TLS")
	}
	c.echoAck(t, 1, `"over tls"`)
	c.send(t, `42["big"]`)
	if got := c.next(t); len(got) != len(`42["big",""]`)+256<<10 {
		t.Fatalf("big broadcast: %d bytes", len(got))
	}
	c.send(t, "41")
	eventually(t, "the socket gone", func() bool { return len(srv.Of("/").Sockets()) == 0 })
}

// TestListenAndServeTLS: on the event loops over TLS, polling (https://),
// WebSocket (wss://) and the fallback handler work, with the client's
// address seen through the bridge.
func TestListenAndServeTLS(t *testing.T) {
	tlsCfg := httptestTLSConfig()

	hss := make(chan *sio.Handshake, 2)
	srv := sio.NewServer(sio.Config{Loops: 1})
	srv.OnConnection(func(s *sio.Socket) {
		hss <- s.Handshake()
		s.On("echo", echo)
	})
	addr := freeAddr(t)
	done := make(chan error, 1)
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("page")) })
	go func() { done <- srv.ListenAndServeTLSConfig(addr, tlsCfg, fallback) }()
	t.Cleanup(func() {
		_ = srv.Close()
		select {
		case err := <-done:
			if err != sio.ErrServerClosed {
				t.Errorf("ListenAndServeTLSConfig: %v", err)
			}
		case <-time.After(wait):
			t.Error("ListenAndServeTLSConfig did not return after Close")
		}
	})
	<-srv.Ready()

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableCompression: true}}
	var resp *http.Response
	eventually(t, "the TLS listener", func() bool {
		var err error
		resp, err = hc.Get("https://" + addr + "/")
		return err == nil
	})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "page" {
		t.Fatalf("fallback over https: %q", body)
	}
	// Polling.
	resp, err := hc.Get("https://" + addr + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if openRE.FindStringSubmatch(string(body)) == nil {
		t.Fatalf("polling handshake over https: %q", body)
	}
	// WebSocket.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: true}}.Dial(ctx, "wss://"+addr+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer conn.Close()
	if br == nil {
		br = bufio.NewReader(conn)
	}
	c := &wsClient{conn: conn, rd: br}
	c.next(t) // open
	c.send(t, "40")
	if r := c.next(t); connectRE.FindStringSubmatch(r) == nil {
		t.Fatalf("CONNECT reply %q", r)
	}
	if h := <-hss; h.Address != "127.0.0.1" || !h.Secure {
		t.Fatalf("handshake address %q, secure %v: want the client's, and true", h.Address, h.Secure)
	}
	c.echoAck(t, 1, `"on the loops over tls"`)
}
