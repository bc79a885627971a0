package main

import (
	"context"
	"math/rand/v2"
	"sort"
	"time"
)

// Paced echo (-echo-interval D): each client sends one echo every D, at
// its own phase in [0, D) drawn at random, instead of the next one as soon
// as the last is answered. Arrivals at the server are then spread over
// time as a crowd of independent clients spreads them, rather than coming
// in the bursts of a closed loop, where the answers of one server write
// return together and the tool sends the next requests together. A client
// keeps at most one echo in flight: a tick that finds one is kept, and the
// next echo goes out as soon as the answer comes.

// pace runs the schedule of conns from start for dur, or until ctx ends.
// One goroutine sends every tick in time order; a period's ticks are in
// the order of the clients' phases, the same in every period.
func pace(ctx context.Context, conns []*conn, start time.Time, dur, interval time.Duration) {
	if len(conns) == 0 {
		return
	}
	phases := make([]time.Duration, len(conns))
	order := make([]int, len(conns))
	for i := range conns {
		phases[i] = time.Duration(rand.Int64N(int64(interval)))
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return phases[order[a]] < phases[order[b]] })
	end := start.Add(dur)
	for period := time.Duration(0); ; period += interval {
		for _, i := range order {
			at := start.Add(period + phases[i])
			if !at.Before(end) {
				return
			}
			if wait := time.Until(at); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
			}
			conns[i].pacedTick()
		}
	}
}

// pacedTick is one tick of c's schedule: an echo now, or as soon as the
// one in flight is answered.
func (c *conn) pacedTick() {
	if c.echoBusy.CompareAndSwap(false, true) {
		c.sendEcho(clockUs())
		return
	}
	c.echoOwed.Store(true)
}

// pacedReply is the answer to c's echo in a paced run: the echo a tick
// kept waiting goes out now.
func (c *conn) pacedReply(nowUs int64) {
	c.echoBusy.Store(false)
	if c.echoOwed.Swap(false) && c.echoBusy.CompareAndSwap(false, true) {
		c.sendEcho(nowUs)
	}
}
