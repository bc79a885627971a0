package main

import (
	"bytes"
	"compress/flate"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/sioloop/sioloop/loop"
)

// The essence of the Autobahn fuzzing client's compression groups, which
// cannot run here (no Python package index): group 12 echoes many
// compressed messages of each size from 16 B to 256 KiB; group 13 does so
// under different extension offers (client_no_context_takeover,
// server_no_context_takeover, client_max_window_bits,
// server_max_window_bits, several offers in one header). The client is
// gobwas/ws with compress/flate, compressing with its context kept unless
// it offered client_no_context_takeover; the server is wsecho -deflate.
// Every echo must come back intact, compressed (RSV1 set: wsecho's
// threshold is -1), and inflate alone (the server never keeps context).

var sizes = []int{16, 64, 256, 1 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10}

func startEcho(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := newServer(addr, 16<<20, &loop.PerMessageDeflate{Threshold: -1})
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		<-done
	})
	return addr
}

// payload is text of n bytes mixing repeats and noise, like Autobahn's.
func payload(r *rand.Rand, n int, binary bool) []byte {
	b := make([]byte, 0, n)
	words := []string{"Hello, world! ", "WebSocket ", "permessage-deflate ", "\u00e9t\u00e9 ", "1234567890 "}
	for len(b) < n {
		if binary && r.IntN(4) == 0 {
			b = append(b, byte(r.IntN(256)))
			continue
		}
		b = append(b, words[r.IntN(len(words))]...)
	}
	b = b[:n]
	if !binary {
		for !utfBoundary(b) {
			b = b[:len(b)-1]
		}
		for len(b) < n {
			b = append(b, '.')
		}
	}
	return b
}

func utfBoundary(b []byte) bool {
	for i := len(b) - 1; i >= 0 && i >= len(b)-4; i-- {
		c := b[i]
		if c < 0x80 {
			return true
		}
		if c >= 0xc0 { // a lead byte: is its sequence whole?
			need := 2
			if c >= 0xe0 {
				need = 3
			}
			if c >= 0xf0 {
				need = 4
			}
			return len(b)-i == need
		}
	}
	return true
}

func TestDeflateAutobahnEssence(t *testing.T) {
	addr := startEcho(t)
	perSize := 20
	if testing.Short() {
		perSize = 4
	}
	for _, tc := range []struct {
		name, offer string
		noContext   bool // client resets per message
		accepted    string
	}{
		{"12 default offer", "permessage-deflate", false, "permessage-deflate; server_no_context_takeover"},
		{"13.2 client_no_context_takeover", "permessage-deflate; client_no_context_takeover", true, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"13.3 client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9", false, "permessage-deflate; server_no_context_takeover"},
		{"13.4 client_max_window_bits", "permessage-deflate; client_max_window_bits", false, "permessage-deflate; server_no_context_takeover"},
		{"13.5 server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9", false, "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"},
		{"13.6 server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15", false, "permessage-deflate; server_no_context_takeover; server_max_window_bits=15"},
		{"13.7 several offers", "permessage-deflate; server_no_context_takeover; server_max_window_bits=8, permessage-deflate; client_no_context_takeover, permessage-deflate", false, "permessage-deflate; server_no_context_takeover; server_max_window_bits=8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(len(tc.name)), 2))
			for _, size := range sizes {
				echoRun(t, addr, tc.offer, tc.accepted, tc.noContext, size, perSize, r)
			}
		})
	}
}

func echoRun(t *testing.T, addr, offer, accepted string, noContext bool, size, count int, r *rand.Rand) {
	t.Helper()
	opts, ok := httphead.ParseOptions([]byte(offer), nil)
	if !ok {
		t.Fatalf("bad offer %q", offer)
	}
	d := ws.Dialer{Extensions: opts, Timeout: 10 * time.Second}
	conn, br, hs, err := d.Dial(context.Background(), "ws://"+addr+"/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want, _ := httphead.ParseOptions([]byte(accepted), nil)
	if len(hs.Extensions) != 1 || !hs.Extensions[0].Equal(want[0]) {
		t.Fatalf("offer %q: accepted %v, want %q", offer, hs.Extensions, accepted)
	}
	var rd io.Reader = conn
	if br != nil {
		rd = io.MultiReader(br, conn)
	}
	var cbuf bytes.Buffer
	fw, _ := flate.NewWriter(&cbuf, flate.DefaultCompression)
	for i := 0; i < count; i++ {
		binary := i%2 == 1
		msg := payload(r, size, binary)
		if noContext {
			fw.Reset(&cbuf)
		}
		cbuf.Reset()
		_, _ = fw.Write(msg)
		_ = fw.Flush()
		comp := bytes.TrimSuffix(cbuf.Bytes(), []byte{0, 0, 0xff, 0xff})
		op := ws.OpText
		if binary {
			op = ws.OpBinary
		}
		// Every third message goes in fragments, RSV1 on the first.
		var frames []ws.Frame
		if i%3 == 2 && len(comp) > 3 {
			cut := len(comp) / 3
			frames = []ws.Frame{
				ws.NewFrame(op, false, comp[:cut]),
				ws.NewFrame(ws.OpContinuation, false, comp[cut:2*cut]),
				ws.NewFrame(ws.OpContinuation, true, comp[2*cut:]),
			}
		} else {
			frames = []ws.Frame{ws.NewFrame(op, true, comp)}
		}
		frames[0].Header.Rsv = ws.Rsv(true, false, false)
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		var out bytes.Buffer
		for _, f := range frames {
			f.Payload = append([]byte(nil), f.Payload...)
			if err := ws.WriteFrame(&out, ws.MaskFrameInPlace(f)); err != nil {
				t.Fatal(err)
			}
		}
		errc := make(chan error, 1)
		go func() { _, err := conn.Write(out.Bytes()); errc <- err }()
		f, err := ws.ReadFrame(rd)
		if err != nil {
			t.Fatalf("size %d message %d: %v", size, i, err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if f.Header.OpCode != op || !f.Header.Fin || f.Header.Rsv != ws.Rsv(true, false, false) {
			t.Fatalf("size %d message %d: echo header %+v", size, i, f.Header)
		}
		back, err := io.ReadAll(wsflate.NewReader(bytes.NewReader(f.Payload), func(r io.Reader) wsflate.Decompressor { return flate.NewReader(r) }))
		if err != nil || !bytes.Equal(back, msg) {
			t.Fatalf("size %d message %d: echo does not inflate to the message (%v)", size, i, err)
		}
	}
	closeFrame := ws.MaskFrameInPlace(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	_ = ws.WriteFrame(conn, closeFrame)
	f, err := ws.ReadFrame(rd)
	if err != nil || f.Header.OpCode != ws.OpClose {
		t.Fatalf("close: %v %v", f.Header.OpCode, err)
	}
}
