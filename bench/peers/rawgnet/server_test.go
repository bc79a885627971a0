package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// startServer runs the server on a free port with the given number of loops
// and stops it when the test ends.
func startServer(t *testing.T, loops int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newServer(addr, 1<<20)
	done := make(chan error, 1)
	go func() { done <- s.run(loops) }()
	deadline := time.Now().Add(5 * time.Second)
	for !func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.booted }() {
		if time.Now().After(deadline) {
			t.Fatal("server did not boot")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		s.stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	})
	return addr
}

type client struct {
	nc net.Conn
	br io.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, br, _, err := ws.Dial(context.Background(), "ws://"+addr+"/any/path")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{nc: nc, br: nc}
	if br != nil {
		c.br = io.MultiReader(br, nc)
	}
	return c
}

func (c *client) send(t *testing.T, msg string) {
	t.Helper()
	if err := wsutil.WriteClientText(c.nc, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// recv reads one server text message, or returns "" after timeout.
func (c *client) recv(t *testing.T, timeout time.Duration) string {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	defer c.nc.SetReadDeadline(time.Time{})
	rw := struct {
		io.Reader
		io.Writer
	}{c.br, c.nc}
	b, err := wsutil.ReadServerText(rw)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return ""
		}
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// waitMembers lets the server finish the upgrades before a broadcast: the
// 101 response is written after the connection joins the broadcast set, so
// one echo round trip per client is enough.
func waitMembers(t *testing.T, cs ...*client) {
	for _, c := range cs {
		c.send(t, "eping")
		if got := c.recv(t, 2*time.Second); got != "eping" {
			t.Fatalf("echo: %q", got)
		}
	}
}

func TestEchoAndBroadcast(t *testing.T) {
	for _, loops := range []int{1, 3} {
		t.Run(map[int]string{1: "one loop", 3: "three loops"}[loops], func(t *testing.T) {
			addr := startServer(t, loops)
			a, b, c := dial(t, addr), dial(t, addr), dial(t, addr)
			waitMembers(t, a, b, c)
			msg := `42["msg",{"room":"r1","s":1,"seq":1,"t":17,"pad":"xx"}]`
			a.send(t, msg)
			if got := b.recv(t, 2*time.Second); got != msg {
				t.Fatalf("b got %q", got)
			}
			if got := c.recv(t, 2*time.Second); got != msg {
				t.Fatalf("c got %q", got)
			}
			if got := a.recv(t, 200*time.Millisecond); got != "" {
				t.Fatalf("sender got its own broadcast: %q", got)
			}
			// Many frames in one burst all arrive, in order.
			var burst bytes.Buffer
			for i := 0; i < 100; i++ {
				wsutil.WriteClientText(&burst, []byte(strings.Repeat("x", i+1)))
			}
			if _, err := a.nc.Write(burst.Bytes()); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 100; i++ {
				if got := b.recv(t, 2*time.Second); got != strings.Repeat("x", i+1) {
					t.Fatalf("burst message %d: %q", i, got)
				}
			}
		})
	}
}

// maskedFrame builds a client frame with a non-zero mask, so the test also
// checks that the server unmasks.
func maskedFrame(op ws.OpCode, fin bool, payload []byte) []byte {
	var b bytes.Buffer
	mask := [4]byte{0xa1, 0xb2, 0xc3, 0xd4}
	ws.WriteHeader(&b, ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: mask, Length: int64(len(payload))})
	p := append([]byte(nil), payload...)
	ws.Cipher(p, mask, 0)
	b.Write(p)
	return b.Bytes()
}

// TestFramesSplitAtEveryByte sends a frame in two writes split at every
// position, the second once the server has read the first; the server must
// keep the partial frame and echo it whole.
func TestFramesSplitAtEveryByte(t *testing.T) {
	addr := startServer(t, 1)
	c := dial(t, addr)
	peer := serverSide(t, c.nc)
	sent := peer.received(t) // the upgrade request, answered
	payloads := []string{
		"e" + strings.Repeat("s", 20),  // 7-bit length
		"e" + strings.Repeat("m", 200), // 16-bit length
	}
	for _, p := range payloads {
		f := maskedFrame(ws.OpText, true, []byte(p))
		for i := 1; i < len(f); i++ {
			if _, err := c.nc.Write(f[:i]); err != nil {
				t.Fatal(err)
			}
			peer.waitRead(t, sent+uint64(i)) // separate reads on the server
			if _, err := c.nc.Write(f[i:]); err != nil {
				t.Fatal(err)
			}
			sent += uint64(len(f))
			if got := c.recv(t, 2*time.Second); got != p {
				t.Fatalf("payload %d split at %d: got %d bytes", len(p), i, len(got))
			}
		}
	}
}

func TestLargeFrame64BitLength(t *testing.T) {
	addr := startServer(t, 1)
	c := dial(t, addr)
	p := "e" + strings.Repeat("L", 70000)
	if _, err := c.nc.Write(maskedFrame(ws.OpText, true, []byte(p))); err != nil {
		t.Fatal(err)
	}
	if got := c.recv(t, 2*time.Second); got != p {
		t.Fatalf("got %d bytes", len(got))
	}
}

// TestUpgradeSplitAtEveryByte sends the upgrade request and a frame in two
// writes split every third byte, the second once the server has read the
// first.
func TestUpgradeSplitAtEveryByte(t *testing.T) {
	addr := startServer(t, 1)
	req := "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	// A frame right behind the request must survive too.
	full := append([]byte(req), maskedFrame(ws.OpText, true, []byte("ehello"))...)
	for i := 1; i < len(full); i += 3 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		peer := serverSide(t, nc)
		if _, err := nc.Write(full[:i]); err != nil {
			t.Fatal(err)
		}
		peer.waitRead(t, uint64(i))
		if _, err := nc.Write(full[i:]); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		br := bufio.NewReader(nc)
		status, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
			t.Fatalf("split %d: status %q %v", i, status, err)
		}
		var accept string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("split %d: %v", i, err)
			}
			if l == "\r\n" {
				break
			}
			if v, ok := strings.CutPrefix(l, "Sec-WebSocket-Accept: "); ok {
				accept = strings.TrimSpace(v)
			}
		}
		if accept != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("split %d: accept %q", i, accept)
		}
		b, err := wsutil.ReadServerText(struct {
			io.Reader
			io.Writer
		}{br, nc})
		if err != nil || string(b) != "ehello" {
			t.Fatalf("split %d: echo %q %v", i, b, err)
		}
		nc.Close()
	}
}

func TestFragmentedMessageAndPing(t *testing.T) {
	addr := startServer(t, 1)
	a, b := dial(t, addr), dial(t, addr)
	waitMembers(t, a, b)
	var w bytes.Buffer
	w.Write(maskedFrame(ws.OpText, false, []byte("hel")))
	w.Write(maskedFrame(ws.OpPing, true, []byte("pp"))) // control frame between fragments
	w.Write(maskedFrame(ws.OpContinuation, false, []byte("lo ")))
	w.Write(maskedFrame(ws.OpContinuation, true, []byte("world")))
	if _, err := a.nc.Write(w.Bytes()); err != nil {
		t.Fatal(err)
	}
	if got := b.recv(t, 2*time.Second); got != "hello world" {
		t.Fatalf("fragmented: %q", got)
	}
	// a gets the pong.
	a.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	h, err := ws.ReadHeader(a.br)
	if err != nil || h.OpCode != ws.OpPong || h.Length != 2 {
		t.Fatalf("pong header %+v %v", h, err)
	}
}

func TestProtocolErrorsClose(t *testing.T) {
	addr := startServer(t, 1)
	tests := []struct {
		name  string
		frame []byte
	}{
		{name: "unmasked", frame: []byte{0x81, 0x01, 'e'}},
		{name: "rsv bits", frame: append([]byte{0xc1}, maskedFrame(ws.OpText, true, []byte("e"))[1:]...)},
		{name: "continuation first", frame: maskedFrame(ws.OpContinuation, true, []byte("x"))},
		{name: "too large", frame: binary.BigEndian.AppendUint64([]byte{0x81, 0xff}, 1<<30)},
		{name: "long ping", frame: maskedFrame(ws.OpPing, true, bytes.Repeat([]byte("p"), 126))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.nc.Write(tc.frame)
			c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err := io.ReadAll(c.br)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("server kept the connection open")
			}
		})
	}
	t.Run("bad upgrade", func(t *testing.T) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
		nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, _ := io.ReadAll(nc)
		if !bytes.HasPrefix(b, []byte("HTTP/1.1 400")) {
			t.Fatalf("got %q", b)
		}
	})
}

func TestUpgradeKey(t *testing.T) {
	tests := []struct {
		name string
		hdr  string
		key  string
		ok   bool
	}{
		{name: "valid", hdr: "GET / HTTP/1.1\r\nUpgrade: WebSocket\r\nsec-websocket-key:  abc \r\nHost: x", key: "abc", ok: true},
		{name: "post", hdr: "POST / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc"},
		{name: "no upgrade", hdr: "GET / HTTP/1.1\r\nSec-WebSocket-Key: abc"},
		{name: "no key", hdr: "GET / HTTP/1.1\r\nUpgrade: websocket"},
		{name: "no colon", hdr: "GET / HTTP/1.1\r\nUpgrade websocket\r\nSec-WebSocket-Key: abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, ok := upgradeKey([]byte(tc.hdr))
			if ok != tc.ok || (ok && string(key) != tc.key) {
				t.Fatalf("got %q,%v", key, ok)
			}
		})
	}
}

func FuzzUpgradeKey(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc"))
	f.Add([]byte("GET /\r\n:\r\n"))
	f.Fuzz(func(t *testing.T, hdr []byte) {
		key, ok := upgradeKey(hdr)
		if ok && (len(key) == 0 || !bytes.Contains(hdr, key)) {
			t.Fatalf("key %q not from the header", key)
		}
	})
}

func TestServerFrameEncoding(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		p := bytes.Repeat([]byte("z"), n)
		f := appendServerFrame(nil, ws.OpText, p)
		r := bytes.NewReader(f)
		h, err := ws.ReadHeader(r)
		if err != nil || h.Masked || h.Length != int64(n) || !h.Fin || h.OpCode != ws.OpText || r.Len() != n {
			t.Fatalf("len %d: header %+v err %v rest %d", n, h, err, r.Len())
		}
	}
}
