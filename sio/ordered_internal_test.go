package sio

import "github.com/sioloop/sioloop/loop"

// The loops are sio's executors, and a broadcast op is merged and costed
// by them.
var (
	_ executor    = (*loop.Loop)(nil)
	_ loop.Merger = (*broadcastOp)(nil)
	_ loop.Coster = (*broadcastOp)(nil)
)
