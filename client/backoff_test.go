package client

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := backoff{min: time.Second, max: 5 * time.Second}
	for i, want := range []time.Duration{1, 2, 4, 5, 5, 5} {
		if got := b.next(); got != want*time.Second {
			t.Fatalf("attempt %d: %v, want %v", i, got, want*time.Second)
		}
	}
	b.reset()
	if got := b.next(); got != time.Second {
		t.Fatalf("after reset: %v", got)
	}

	// backo2: the draw r moves the delay by floor(r·jitter·ms), down when
	// floor(r·10) is even, up when odd.
	j := backoff{min: 1000 * time.Millisecond, max: time.Hour, jitter: 0.5}
	for _, c := range []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{n: 0, r: 0.0, want: 1000 * time.Millisecond},
		{n: 0, r: 0.05, want: 1000*time.Millisecond - time.Duration(0.05*0.5*1e9)},
		{n: 0, r: 0.15, want: 1000*time.Millisecond + time.Duration(0.15*0.5*1e9)},
		{n: 1, r: 0.99, want: 2000*time.Millisecond + time.Duration(0.99*0.5*2e9)},
		{n: 40, r: 0.5, want: time.Hour},
	} {
		if got := j.delay(c.n, c.r); got != c.want {
			t.Errorf("delay(%d, %v) = %v, want %v", c.n, c.r, got, c.want)
		}
	}
	// Random draws stay within ±jitter.
	for range 1000 {
		d := j.next()
		j.reset()
		if d < 500*time.Millisecond || d > 1500*time.Millisecond {
			t.Fatalf("jittered first delay %v", d)
		}
	}
}
