package sio

import (
	"testing"
	"unsafe"
)

// TestPerConnectionSizes guards the per-connection footprint: each of these
// is allocated once per connection (the Socket once per namespace), and
// must stay within its allocation class.
func TestPerConnectionSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"Socket", unsafe.Sizeof(Socket{}), 128},
		// 112 since the client holds its relocation (relocate.go), 96
		// before: 16 bytes more per connection, well inside the noise of
		// the idle benchmark's bytes per connection.
		{"client", unsafe.Sizeof(client{}), 112},
		// A Socket's first four listeners are one array: 128 bytes at
		// 32 each, 160 when the listener had a kind field (40).
		{"listener", unsafe.Sizeof(listener{}), 32},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, want <= %d", c.name, c.size, c.max)
		}
	}
}
