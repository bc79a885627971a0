package eio

import (
	"testing"
	"unsafe"
)

// TestSessionSize guards the per-connection footprint: a Session must fit
// the 128-byte allocation class (the next one is 144 bytes).
func TestSessionSize(t *testing.T) {
	if n := unsafe.Sizeof(Session{}); n > 128 {
		t.Errorf("Session is %d bytes, want <= 128", n)
	}
}

// TestPollStateSize guards the polling state a session carries while on
// polling: the 112-byte allocation class, since the POST whose answer
// waits for ResumeInput (heldPost) took it past 96. (WebSocket sessions
// carry none.)
func TestPollStateSize(t *testing.T) {
	if n := unsafe.Sizeof(pollState{}); n > 112 {
		t.Errorf("pollState is %d bytes, want <= 112", n)
	}
}
