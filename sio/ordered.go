package sio

import (
	"bytes"
	"context"
	"time"
)

// A client's writes are ordered on the executor of its group.
//
// A plain broadcast (one room or everyone, no except rooms) does not walk
// its recipients on the emitting goroutine: it queues one op per group on
// that group's executor (deliver.go). Every other write to a socket must
// stay behind the broadcasts queued before it (socket.io delivers a
// socket's packets in emit order). So while its group's executor has
// queued ops, a client's direct send (emit, ack, connect, disconnect,
// close) is queued there too, instead of being written at once. A
// goroutine that queued a broadcast sees its own op pending, so its later
// sends cannot overtake it.

// send sends a message (text and attachments) in order with queued
// broadcasts. The inputs are copied if the send is deferred.
func (c *client) send(msg []byte, atts ...[]byte) {
	e := c.queuedExecutor()
	if e == nil {
		c.sendMessage(msg, atts)
		return
	}
	msg = bytes.Clone(msg)
	atts = cloneAll(atts)
	c.postWrite(e, func() { c.sendMessage(msg, atts) })
}

// closeSession closes the connection after the writes queued before it,
// and after what its sockets hold (output_hold.go).
func (c *client) closeSession() {
	for _, s := range c.socketsNow() {
		s.releaseOutput()
	}
	if e := c.queuedExecutor(); e != nil {
		c.postWrite(e, c.sess.Close)
		return
	}
	c.sess.Close()
}

func cloneAll(bs [][]byte) [][]byte {
	if len(bs) == 0 {
		return nil
	}
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = bytes.Clone(b)
	}
	return out
}

// drainExecutors waits until no executor has queued ops (broadcasts and
// writes behind them), or ctx ends, so that closing connections does not
// drop them.
func (s *Server) drainExecutors(ctx context.Context) {
	defer func() {
		// Then what the ops and the sends before them wrote must be
		// handed to the connections before the loops stop.
		for g := 0; g < s.groups; g++ {
			if e := s.executorOf(g); e != nil {
				_ = e.Flush(ctx)
			}
		}
	}()
	for {
		busy := false
		for g := 0; g < s.groups; g++ {
			if e := s.executorOf(g); e != nil && e.Pending() {
				busy = true
			}
		}
		if !busy {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Millisecond):
		}
	}
}
