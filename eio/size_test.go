package eio

import (
	"testing"
	"unsafe"
)

// TestSessionSize guards the per-connection footprint: a Session must fit
// the 256-byte allocation class (the next one is 288 bytes).
func TestSessionSize(t *testing.T) {
	if n := unsafe.Sizeof(Session{}); n > 256 {
		t.Errorf("Session is %d bytes, want <= 256", n)
	}
}
