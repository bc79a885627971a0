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

// setSndBuf sets SO_SNDBUF on the socket behind c (Linux doubles the value
// for its bookkeeping, and stops autotuning that socket's send buffer).
func setSndBuf(c syscall.RawConn, n int) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, n)
	})
	if err != nil {
		return err
	}
	return serr
}
