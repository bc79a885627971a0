//go:build !linux

package main

import "syscall"

// bindNoPort does nothing where IP_BIND_ADDRESS_NO_PORT does not exist.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }

// setBuffers does nothing off Linux: -pub-sndbuf and -sub-rcvbuf are Linux
// measurement aids.
func setBuffers(_ syscall.RawConn, _, _ int) error { return nil }
