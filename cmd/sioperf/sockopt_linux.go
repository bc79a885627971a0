package main

import "syscall"

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux 4.2+).
const ipBindAddressNoPort = 24

// bindNoPort is a net.Dialer.Control for dialers with a source address. It
// asks the kernel to pick the source port at connect time rather than at
// bind time: bind(ip, 0) must find a port unused by every other socket on
// that address (including TIME_WAIT ones from earlier runs), which becomes a
// linear scan costing milliseconds per connection after a few 10k-connection
// runs, whereas connect only needs the 4-tuple to be unique.
func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// setBuffers sets SO_SNDBUF and SO_RCVBUF on the socket behind c, each
// only if positive. Linux doubles each value for its bookkeeping and stops
// autotuning that buffer; SO_RCVBUF set before connect also fixes the
// window scale the connection offers.
func setBuffers(c syscall.RawConn, sndbuf, rcvbuf int) error {
	if sndbuf <= 0 && rcvbuf <= 0 {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		if sndbuf > 0 {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, sndbuf)
		}
		if serr == nil && rcvbuf > 0 {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
