package clusterwire

import (
	"context"
	"time"
)

// TimeoutMs is the timeout a broadcast with acks carries to other nodes:
// the milliseconds left before ctx's deadline, at least 1, or 0 (none)
// when ctx has no deadline.
func TimeoutMs(ctx context.Context) int64 {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d).Milliseconds(), 1)
	}
	return 0
}
