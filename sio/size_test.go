package sio

import (
	"testing"
	"unsafe"
)

// TestSocketSize guards the per-connection footprint: one Socket per
// connection and namespace must stay within the 176-byte allocation class.
func TestSocketSize(t *testing.T) {
	if n := unsafe.Sizeof(Socket{}); n > 176 {
		t.Errorf("Socket is %d bytes, want <= 176", n)
	}
}
