package sio

import (
	"crypto/rand"
	"encoding/base64"
)

// newID returns a 20-character URL-safe random id, like socket.io's.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
