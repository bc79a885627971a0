//go:build linux

package loop

import (
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/sioloop/sioloop/eio"
)

// Config.SocketSendBuffer and SocketRecvBuffer fix SO_SNDBUF and SO_RCVBUF
// of every accepted connection (Linux reports twice the value set);
// without them the kernel autotunes.
func TestSocketBuffers(t *testing.T) {
	type sizes struct{ snd, rcv int }
	bufs := func(t *testing.T, cfg Config) sizes {
		t.Helper()
		got := make(chan sizes, 1)
		cfg.Addr, cfg.Loops = freeAddr(t), 1
		cfg.Handler = func(x eio.Exchange) {
			fd := x.(*exchange).c.gc.Fd()
			snd, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
			if err != nil {
				t.Errorf("getsockopt: %v", err)
			}
			rcv, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
			if err != nil {
				t.Errorf("getsockopt: %v", err)
			}
			got <- sizes{snd, rcv}
			x.Respond(200, nil, nil)
		}
		srv := NewServer(cfg)
		runServer(t, srv)
		nc, err := net.Dial("tcp", cfg.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		return recv(t, got, "the request")
	}
	if b := bufs(t, Config{SocketSendBuffer: 32 << 10, SocketRecvBuffer: 24 << 10}); b != (sizes{64 << 10, 48 << 10}) {
		t.Fatalf("SO_SNDBUF, SO_RCVBUF = %d, %d with 32 and 24 KiB set, want 64 and 48 KiB (the kernel doubles them)", b.snd, b.rcv)
	}
	if b := bufs(t, Config{}); b.snd == 64<<10 || b.rcv == 48<<10 {
		t.Fatalf("SO_SNDBUF, SO_RCVBUF = %d, %d without the options: not the kernel's defaults", b.snd, b.rcv)
	}
}
