package redisstreams

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
)

// entryID is a stream entry id, <ms>-<seq>, as numbers so that ids
// compare as Redis orders them (as strings "10-0" sorts before "9-0").
type entryID struct {
	ms, seq uint64
}

// parseID parses a stream entry id. It accepts exactly what Node's
// restoreSession accepts as an offset, /^[0-9]+-[0-9]+$/, within uint64.
func parseID(s string) (entryID, bool) {
	i := strings.IndexByte(s, '-')
	if i <= 0 || i == len(s)-1 || !digits(s[:i]) || !digits(s[i+1:]) {
		return entryID{}, false
	}
	ms, err1 := strconv.ParseUint(s[:i], 10, 64)
	seq, err2 := strconv.ParseUint(s[i+1:], 10, 64)
	if err1 != nil || err2 != nil {
		return entryID{}, false
	}
	return entryID{ms, seq}, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (a entryID) less(b entryID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

// next is the smallest id after a: XRANGE's start for "after a" (Redis
// before 6.2 has no exclusive ranges; Node does the same).
func (a entryID) next() entryID {
	if a.seq == math.MaxUint64 {
		return entryID{a.ms + 1, 0}
	}
	return entryID{a.ms, a.seq + 1}
}

func (a entryID) String() string {
	b := make([]byte, 0, 41)
	b = strconv.AppendUint(b, a.ms, 10)
	b = append(b, '-')
	return string(strconv.AppendUint(b, a.seq, 10))
}

// maxID returns the larger id.
func maxID(a, b entryID) entryID {
	if a.less(b) {
		return b
	}
	return a
}

// randomID returns 16 hex characters, as socket.io-adapter's randomId
// (the ClusterAdapter's node and request ids).
func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
