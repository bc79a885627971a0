package redis

import "crypto/rand"

// uidAlphabet is uid2's: socket.io-redis-adapter names nodes and requests
// with 6 characters of it.
const uidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// newUID returns a random id of n characters of uidAlphabet, as uid2(n).
func newUID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = uidAlphabet[b[i]%64]
	}
	return string(b)
}
