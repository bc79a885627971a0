package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/sio"
)

// TimeoutError is returned, with the answers that came, when other nodes
// did not all answer a request (FetchSockets, AllRooms,
// ServerSideEmitWithAck) before its context ended. Its message is
// socket.io-redis-adapter's, so that logs and errors read the same on Go
// and Node nodes. errors.Is matches it with ErrTimeout, a server-side
// emit's also with sio.ErrAckTimeout, and with the context's error.
type TimeoutError struct {
	// Request is "fetchSockets", "allRooms" or "serverSideEmit".
	Request string
	// Got and Want count answers: for serverSideEmit those of the other
	// nodes; for the others every node's, this one's included, as
	// socket.io counts them.
	Got, Want int
	// Err is why the wait ended: the context's error.
	Err error
	// cluster: worded as socket.io-adapter's ClusterAdapter (sharded).
	cluster bool
}

func (e *TimeoutError) Error() string {
	if e.Request == "serverSideEmit" || e.cluster {
		return fmt.Sprintf("timeout reached: only %d responses received out of %d", e.Got, e.Want)
	}
	return "timeout reached while waiting for " + e.Request + " response"
}

func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || (target == sio.ErrAckTimeout && e.Request == "serverSideEmit")
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// requestError is what a request returns when it failed: a *TimeoutError
// when ctx ended, else err with what failed.
func requestError(what string, r clusterwire.Result, err error) error {
	return requestErrorIn(what, r, err, false)
}

// requestErrorIn is requestError with the wording of the ClusterAdapter's
// requests when cluster is true (the sharded adapter).
func requestErrorIn(what string, r clusterwire.Result, err error, cluster bool) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &TimeoutError{Request: what, Got: r.Got, Want: r.Want, Err: err, cluster: cluster}
	}
	return fmt.Errorf("redis adapter: %s: %w", what, err)
}
