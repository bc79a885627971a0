//go:build linux && (amd64 || arm64 || 386 || arm || riscv64 || loong64 || s390x)

package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// peerSocket is the server's end of a loopback TCP connection, found
// among this process's file descriptors (the server runs in the test), so
// that a test can tell when the server has read what its client wrote:
// input written only after that cannot join it in one read, which two
// writes in a row do not guarantee (the kernel may coalesce them).
type peerSocket struct {
	fd            int
	local, remote string // the server end's addresses: nc's mirrored
}

// serverSide returns the server's end of nc, waiting for the server to
// accept the connection.
func serverSide(t testing.TB, nc net.Conn) *peerSocket {
	t.Helper()
	p := &peerSocket{fd: -1, local: nc.RemoteAddr().String(), remote: nc.LocalAddr().String()}
	poll(t, "the server to accept the connection", func() bool {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("listing the process's descriptors: %v", err)
		}
		for _, e := range ents {
			if fd, err := strconv.Atoi(e.Name()); err == nil && p.is(fd) {
				p.fd = fd
				return true
			}
		}
		return false
	})
	return p
}

// is reports whether fd is a socket with p's addresses.
func (p *peerSocket) is(fd int) bool {
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return false
	}
	pa, err := syscall.Getpeername(fd)
	if err != nil {
		return false
	}
	return sockaddrString(sa) == p.local && sockaddrString(pa) == p.remote
}

func sockaddrString(sa syscall.Sockaddr) string {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	}
	return ""
}

// siocinq is SIOCINQ (FIONREAD) on the architectures of the build tag.
const siocinq = 0x541b

// counts returns how many bytes the server's kernel has received on the
// connection (tcpi_bytes_received) and how many of them the server has not
// read yet (SIOCINQ).
func (p *peerSocket) counts(t testing.TB) (received uint64, unread int) {
	t.Helper()
	if !p.is(p.fd) {
		t.Fatalf("descriptor %d is no longer the server's end of %s", p.fd, p.remote)
	}
	var info [256]byte
	n := uint32(len(info))
	if _, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(p.fd), syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&n)), 0); e != 0 {
		t.Fatalf("TCP_INFO: %v", e)
	}
	if n < 136 {
		t.Skipf("TCP_INFO is %d bytes: this kernel has no tcpi_bytes_received", n)
	}
	var q int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(p.fd), siocinq, uintptr(unsafe.Pointer(&q))); e != 0 {
		t.Fatalf("SIOCINQ: %v", e)
	}
	return binary.NativeEndian.Uint64(info[128:136]), int(q)
}

// received returns how many bytes the server's kernel has received on the
// connection so far; call it when nothing is in flight.
func (p *peerSocket) received(t testing.TB) uint64 {
	t.Helper()
	r, _ := p.counts(t)
	return r
}

// waitRead waits until the server has received want bytes on the
// connection in all and read every one of them.
func (p *peerSocket) waitRead(t testing.TB, want uint64) {
	t.Helper()
	poll(t, fmt.Sprintf("the server to read %d bytes", want), func() bool {
		r, u := p.counts(t)
		return r >= want && u == 0
	})
}

// poll checks cond every few milliseconds until it holds, failing the test
// after 10 seconds.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
