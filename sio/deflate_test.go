package sio_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/sioloop/sioloop/sio"
)

// deflateClient speaks Engine.IO over a WebSocket that negotiated
// permessage-deflate, compressing with gobwas's wsflate and compress/flate
// without context (it offers client_no_context_takeover).
type deflateClient struct {
	conn net.Conn
	rd   io.Reader
}

func (c *deflateClient) send(t *testing.T, msg string) {
	t.Helper()
	var buf bytes.Buffer
	w := wsflate.NewWriter(&buf, func(w io.Writer) wsflate.Compressor {
		fw, _ := flate.NewWriter(w, flate.BestSpeed)
		return fw
	})
	_, _ = w.Write([]byte(msg))
	_ = w.Flush()
	f := ws.NewTextFrame(buf.Bytes())
	f.Header.Rsv = ws.Rsv(true, false, false)
	if err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(f)); err != nil {
		t.Fatal(err)
	}
}

// next returns the next text message and whether it came compressed.
func (c *deflateClient) next(t *testing.T) (string, bool) {
	t.Helper()
	f, err := ws.ReadFrame(c.rd)
	if err != nil {
		t.Fatal(err)
	}
	comp := f.Header.Rsv == ws.Rsv(true, false, false)
	p := f.Payload
	if comp {
		r := wsflate.NewReader(bytes.NewReader(p), func(r io.Reader) wsflate.Decompressor { return flate.NewReader(r) })
		if p, err = io.ReadAll(r); err != nil {
			t.Fatalf("inflate: %v", err)
		}
	}
	return string(p), comp
}

// TestPerMessageDeflateServeHTTP: mounted in net/http, over plain TCP
// (Enroller.EnrollWith) and over TLS (the bridge, EnrollBridgedWith), a
// client offering permessage-deflate gets it; its compressed events are
// read, and the server's packets from the threshold on come compressed,
// smaller ones not.
func TestPerMessageDeflateServeHTTP(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "tcp"
		if useTLS {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			srv := sio.NewServer(sio.Config{PerMessageDeflate: &sio.PerMessageDeflate{Threshold: 100}})
			srv.OnConnection(func(s *sio.Socket) {
				s.On("echo", echo)
				s.On("big", func(*sio.Event) { _ = srv.Emit("big", strings.Repeat("abc", 20000)) })
			})
			var hs *httptest.Server
			if useTLS {
				hs = httptest.NewTLSServer(srv)
			} else {
				hs = httptest.NewServer(srv)
			}
			t.Cleanup(func() {
				_ = srv.Close()
				hs.Close()
			})
			url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
			opts, _ := httphead.ParseOptions([]byte("permessage-deflate; client_no_context_takeover"), nil)
			d := ws.Dialer{Extensions: opts, TLSConfig: &tls.Config{InsecureSkipVerify: true}}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			conn, br, hsInfo, err := d.Dial(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if len(hsInfo.Extensions) != 1 || string(hsInfo.Extensions[0].Name) != "permessage-deflate" {
				t.Fatalf("extensions %v", hsInfo.Extensions)
			}
			c := &deflateClient{conn: conn, rd: conn}
			if br != nil {
				c.rd = io.MultiReader(br, conn)
			}
			if open, comp := c.next(t); openRE.FindStringSubmatch(open) == nil || comp != (len(open) >= 100) {
				t.Fatalf("open packet %q, compressed %v", open, comp)
			}
			c.send(t, "40")
			if r, _ := c.next(t); connectRE.FindStringSubmatch(r) == nil {
				t.Fatalf("CONNECT reply %q", r)
			}
			long := strings.Repeat("z", 500)
			c.send(t, `421["echo","`+long+`"]`)
			if r, comp := c.next(t); r != `431["`+long+`"]` || !comp {
				t.Fatalf("echo ack %.40q..., compressed %v", r, comp)
			}
			c.send(t, `42["big"]`)
			if r, comp := c.next(t); len(r) != len(`42["big",""]`)+60000 || !comp {
				t.Fatalf("big broadcast: %d bytes, compressed %v", len(r), comp)
			}
		})
	}
}
