package client

import (
	"math"
	"math/rand/v2"
	"time"
)

// backoff computes reconnection delays the way socket.io-client's backo2
// does: min·2^attempt, moved up or down by a random share of up to jitter,
// capped at max.
type backoff struct {
	min, max time.Duration
	jitter   float64 // 0..1
	attempts int
}

// next returns the delay before the next attempt and counts it.
func (b *backoff) next() time.Duration {
	return b.delay(b.nextAttempt(), rand.Float64())
}

func (b *backoff) nextAttempt() int {
	n := b.attempts
	b.attempts++
	return n
}

// delay is the delay of attempt n for the random draw r in [0,1).
func (b *backoff) delay(n int, r float64) time.Duration {
	ms := float64(b.min) * math.Pow(2, float64(min(n, 62)))
	if b.jitter > 0 {
		dev := math.Floor(r * b.jitter * ms)
		// backo2 picks the direction from the same draw: the parity of its
		// first decimal digit.
		if int(math.Floor(r*10))&1 == 0 {
			ms -= dev
		} else {
			ms += dev
		}
	}
	if ms > float64(b.max) {
		return b.max
	}
	return time.Duration(ms)
}

func (b *backoff) reset() { b.attempts = 0 }
