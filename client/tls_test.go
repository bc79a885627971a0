package client_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/loop"
)

// tlsProxy terminates TLS in front of addr, as a load balancer would, and
// returns its address and a client TLS config trusting it.
func tlsProxy(t *testing.T, addr string) (string, *tls.Config) {
	t.Helper()
	hs := httptest.NewUnstartedServer(http.NotFoundHandler())
	hs.StartTLS()
	cfg := hs.TLS.Clone()
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	hs.Close()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				_ = in.Close()
				continue
			}
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				_ = dst.Close()
				_ = src.Close()
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com"}
}

// TestTLS runs over https/wss: polling through net/http's TLS, WebSocket
// on the dialer's goroutine fallback (gnet has no TLS).
func TestTLS(t *testing.T) {
	fx := goFixture(t)
	u, _ := url.Parse(fx.url)
	proxy, cfg := tlsProxy(t, u.Host)
	d, err := loop.NewDialer(loop.DialerConfig{Loops: 1, TLSConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	tr := &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			opts := md.options()
			opts.Dialer = d
			opts.HTTPClient = &http.Client{Transport: tr}
			s, auth := connect(t, "https://"+proxy, opts, "/", client.SocketOptions{})
			next(t, auth, "auth")
			if md.upgraded {
				waitTransport(t, s.Manager(), client.WebSocket)
			}
			reply, err := s.EmitWithAck(ctxT(t), "ack", "over tls", []byte{1, 2})
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, reply.Arg(0), `"over tls"`)
			if b, ok := reply.Binary(1); !ok || !bytes.Equal(b, []byte{1, 2}) {
				t.Fatalf("binary %v %v", b, ok)
			}
		})
	}
}
