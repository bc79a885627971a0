package hub

import "unsafe"

// unsafeString returns a string sharing b's memory, to test that the hub
// copies names it keeps.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
