package sio_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/internal/testutil"
	"github.com/sioloop/sioloop/sio"
)

// BenchmarkTLS measures what TLS adds, side by side with plaintext in one
// run (BENCHMARKS.md, "2026-12-02: TLS"):
//
//   - connect: one new client from nothing to its CONNECT reply: TCP
//     connect, the TLS handshake (tls only), the WebSocket upgrade, the
//     Engine.IO open packet and the Socket.IO CONNECT, then the close;
//   - echo-100B, echo-16KiB: an acked echo round trip on a connection
//     already open (`421["echo",<string>]` answered by `431[<string>]`);
//
// for "loops" (ListenAndServe / ListenAndServeTLSConfig: crypto/tls on the
// bridge goroutines, plaintext to the loops) and "nethttp" (the Server
// mounted in an httptest server, plain or with TLS, whose WebSocket is
// hijacked and enrolled on the loops, through a bridge under TLS).
//
// Client and server run in this process, so ns/op is the wall time of the
// whole exchange and cpu-ns/op the CPU both sides spent on it (user and
// system time of the process), allocations included on both sides.
//
// The certificate is ECDSA P-256 (testutil.SelfSignedPEM) and the client
// verifies it; connect/tls-rsa2048 uses net/http/httptest's RSA 2048 one,
// and connect/tls-resumed resumes a session (a TLS 1.3 PSK handshake,
// RFC 8446 section 2.2, which still does the key exchange but signs
// nothing).
func BenchmarkTLS(b *testing.B) {
	srvTLS, cliTLS := testutil.SelfSignedConfig(b)
	rsaTLS := httptestTLSConfig()

	for _, mode := range []string{"loops", "nethttp"} {
		b.Run(mode, func(b *testing.B) {
			plain := startBenchServer(b, mode, nil)
			secure := startBenchServer(b, mode, srvTLS)
			b.Run("connect", func(b *testing.B) {
				b.Run("plain", func(b *testing.B) { benchConnect(b, plain, nil) })
				b.Run("tls", func(b *testing.B) { benchConnect(b, secure, cliTLS) })
				resumed := cliTLS.Clone()
				resumed.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				b.Run("tls-resumed", func(b *testing.B) { benchConnect(b, secure, resumed) })
				if mode == "loops" {
					rsa := startBenchServer(b, mode, rsaTLS)
					b.Run("tls-rsa2048", func(b *testing.B) {
						benchConnect(b, rsa, &tls.Config{InsecureSkipVerify: true})
					})
				}
			})
			for _, size := range []struct {
				name string
				n    int
			}{{"echo-100B", 100}, {"echo-16KiB", 16 << 10}} {
				b.Run(size.name, func(b *testing.B) {
					b.Run("plain", func(b *testing.B) { benchEcho(b, plain, nil, size.n) })
					b.Run("tls", func(b *testing.B) { benchEcho(b, secure, cliTLS, size.n) })
				})
			}
		})
	}
}

// httptestTLSConfig returns a server tls.Config with net/http/httptest's
// own certificate (RSA 2048), as TestListenAndServeTLS uses.
func httptestTLSConfig() *tls.Config {
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS() // only for its certificate
	cfg := hs.TLS.Clone()
	hs.Close()
	return cfg
}

// startBenchServer serves a Server whose sockets answer "echo" with an ack,
// in mode "loops" or "nethttp", over TLS when cfg is set, until b ends; it
// returns the WebSocket URL of its Engine.IO endpoint.
func startBenchServer(b *testing.B, mode string, cfg *tls.Config) string {
	b.Helper()
	srv := sio.NewServer(sio.Config{Loops: 1})
	srv.OnConnection(func(s *sio.Socket) { s.On("echo", echo) })
	scheme := "ws"
	if cfg != nil {
		scheme = "wss"
	}
	const path = "/socket.io/?EIO=4&transport=websocket"
	if mode == "nethttp" {
		hs := httptest.NewUnstartedServer(srv)
		if cfg != nil {
			hs.TLS = cfg.Clone()
			hs.StartTLS()
		} else {
			hs.Start()
		}
		b.Cleanup(func() {
			_ = srv.Close()
			hs.Close()
		})
		return scheme + "://" + strings.TrimPrefix(strings.TrimPrefix(hs.URL, "https://"), "http://") + path
	}
	if cfg == nil {
		return scheme + "://" + serve(b, srv, nil) + path
	}
	addr := freeAddr(b)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServeTLSConfig(addr, cfg, nil) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		b.Fatalf("ListenAndServeTLSConfig(%s): %v", addr, err)
	}
	b.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return scheme + "://" + addr + path
}

// dialSocket opens a WebSocket to url (TLS with cfg on wss://), reads the
// open packet and joins "/".
func dialSocket(b *testing.B, url string, cfg *tls.Config) *wsClient {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dialer{TLSConfig: cfg}.Dial(ctx, url)
	if err != nil {
		b.Fatalf("dial %s: %v", url, err)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	c := &wsClient{conn: conn, rd: br}
	if open := c.next(b); !strings.HasPrefix(open, "0{") {
		b.Fatalf("open packet %q", open)
	}
	c.send(b, "40")
	if r := c.next(b); !strings.HasPrefix(r, "40{") {
		b.Fatalf("CONNECT reply %q", r)
	}
	return c
}

// benchConnect connects and closes one client per iteration.
func benchConnect(b *testing.B, url string, cfg *tls.Config) {
	// A first connection outside the timing: it fills the session cache
	// of tls-resumed, and warms both sides' pools.
	dialSocket(b, url, cfg).conn.Close()
	b.ReportAllocs()
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := dialSocket(b, url, cfg)
		if cfg != nil && cfg.ClientSessionCache != nil {
			if !c.conn.(*tls.Conn).ConnectionState().DidResume {
				b.Fatal("TLS session not resumed")
			}
		}
		c.conn.Close()
	}
	b.StopTimer()
	reportCPU(b, cpu)
}

// benchEcho sends one acked echo of a string of n bytes per iteration and
// waits for its ack.
func benchEcho(b *testing.B, url string, cfg *tls.Config, n int) {
	c := dialSocket(b, url, cfg)
	defer c.conn.Close()
	arg := `"` + strings.Repeat("x", n-2) + `"`
	msg := `421["echo",` + arg + `]`
	want := len(`431[]`) + len(arg)
	c.send(b, msg)
	c.next(b)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.send(b, msg)
		if got := c.next(b); len(got) != want || !strings.HasPrefix(got, "431[") {
			b.Fatalf("ack of %d bytes (%.20q...), want %d", len(got), got, want)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu)
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time since start per iteration, as
// cpu-ns/op: client and server together.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
