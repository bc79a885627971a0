package loop

import (
	"testing"
	"unsafe"
)

// TestConnSize guards the per-connection footprint: one conn per TCP
// connection must stay within the 160-byte allocation class.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 160 {
		t.Errorf("conn is %d bytes, want <= 160", n)
	}
}
