package loop

import (
	"context"
	"testing"
	"time"
)

// Flush on a loop whose engine stopped returns at once: its ops are
// dropped, so nothing would ever run the barrier.
func TestFlushStoppedLoop(t *testing.T) {
	l := &Loop{}
	l.stopped.Store(true)
	l.scheduled = true // as if a drain task were queued: no wake
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Flush waited for a stopped loop")
	}
}
