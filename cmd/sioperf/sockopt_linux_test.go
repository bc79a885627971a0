package main

import (
	"net"
	"syscall"
	"testing"
)

// A pool with SndBuf dials sockets whose send buffer is fixed at that size
// (Linux reports twice what was set), the -pub-sndbuf publishers.
func TestPoolSndBuf(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, srcs := range [][]string{nil, {"127.0.0.1"}} {
		p := &pool{spec: openSpec{Addr: ln.Addr().String(), Path: "/", Srcs: srcs, SndBuf: 32 << 10}}
		if err := p.prepare(); err != nil {
			t.Fatal(err)
		}
		nc, err := p.dialers[0].Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		rc, err := nc.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var got int
		var gerr error
		rc.Control(func(fd uintptr) { got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) })
		nc.Close()
		if gerr != nil || got != 64<<10 {
			t.Fatalf("srcs %v: SO_SNDBUF %d (%v), want %d", srcs, got, gerr, 64<<10)
		}
	}
}
