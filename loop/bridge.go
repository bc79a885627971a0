package loop

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/sioloop/sioloop/eio"
)

// Bridged connections: a connection gnet cannot adopt (a *tls.Conn, whose
// record layer crypto/tls runs on the reading and writing goroutines) is
// joined to an event loop through a Unix socket pair. Two goroutines copy
// between the connection and one end of the pair, doing the TLS work; the
// loop serves the other end like any adopted connection, so the frames it
// parses and writes are plaintext. The cost per connection: two goroutines
// (about 8 KiB of stacks), two more descriptors, and a copy each way
// through the kernel.

// EnrollBridged is Enroll for any net.Conn: nc is served through a socket
// pair whose far end the loop adopts. rd holds bytes already read from nc
// (a hijacked net/http connection's reader) and is read before nc.
func (e *Enroller) EnrollBridged(nc net.Conn, rd *bufio.Reader, fh eio.FrameHandler) (eio.WSConn, error) {
	var src io.Reader = nc
	if rd != nil {
		src = rd
	}
	var c eio.WSConn
	err := bridge(nc, src, func(far *net.UnixConn) error {
		var err error
		c, err = e.Enroll(far, nil, fh)
		return err
	})
	return c, err
}

// AdoptBridged serves nc, a new connection (one of a TLS listener, its
// handshake done), on the event loops from its first request on, in HTTP
// mode, through a socket pair; its requests go to Config.Handler with
// remote, nc's address, as their client address.
func (e *Enroller) AdoptBridged(nc net.Conn) error {
	return bridge(nc, nc, func(far *net.UnixConn) error {
		ad := &adoption{remote: nc.RemoteAddr().String()}
		if tc, ok := nc.(*tls.Conn); ok {
			st := tc.ConnectionState()
			ad.tls = &st
		}
		if _, err := e.cli.EnrollContext(far, ad); err != nil {
			return err
		}
		if ad.c == nil {
			return errors.New("loop: adopted connection was not opened")
		}
		return nil
	})
}

// bridge joins nc to a loop: enroll hands the far end of a new socket pair
// to the loop, then two goroutines copy between src (nc, or a reader of it)
// and the near end, and from the near end to nc.
func bridge(nc net.Conn, src io.Reader, enroll func(far *net.UnixConn) error) error {
	near, far, err := socketPair()
	if err != nil {
		return err
	}
	// The far end goes to the loop first: copying starts once it is served.
	if err := enroll(far); err != nil {
		near.Close()
		far.Close()
		return err
	}
	go func() {
		// Client to loop. The end of the client's stream ends the
		// loop's read side; the loop then closes its end.
		_, _ = io.Copy(near, src)
		_ = near.CloseWrite()
	}()
	go func() {
		// Loop to client, until the loop closes its end: then the
		// client's connection closes, which also ends the copy above.
		_, _ = io.Copy(nc, near)
		_ = nc.Close()
		_ = near.Close()
	}()
	return nil
}

// socketPair returns the two ends of a connected Unix stream socket pair.
func socketPair() (*net.UnixConn, *net.UnixConn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	a, err := fileConn(fds[0], "sioloop-bridge-near")
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	b, err := fileConn(fds[1], "sioloop-bridge-far")
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// fileConn makes a *net.UnixConn of fd, which it takes over.
func fileConn(fd int, name string) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), name)
	defer f.Close() // FileConn dups it
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}
