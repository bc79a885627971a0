package sio

import (
	"context"
	"errors"
	"time"
)

// ErrorReply is the acknowledgement Handle sends when a typed handler
// fails: the client's callback receives {"error": message}.
type ErrorReply struct {
	Error string `json:"error"`
}

// Handle registers a typed handler for event name on s: the first argument
// is decoded into In, and the handler's result is sent back as the
// acknowledgement (an error, or a result that cannot be encoded, is sent as
// ErrorReply, so the client's callback always fires). The handler's
// context is the socket's (Socket.Context): cancelled when the client
// disconnects, with no deadline of its own.
//
// Go has no generic methods, so this is a function: sio.Handle(s, "add", f).
func Handle[In, Out any](s *Socket, name string, f func(ctx context.Context, in In) (Out, error)) {
	s.On(name, func(ev *Event) {
		var in In
		if err := ev.Decode(&in); err != nil {
			_ = ev.Ack(ErrorReply{Error: err.Error()})
			return
		}
		out, err := f(s.Context(), in)
		if err != nil {
			_ = ev.Ack(ErrorReply{Error: err.Error()})
			return
		}
		if err := ev.Ack(out); err != nil && !errors.Is(err, ErrAlreadyAcked) {
			_ = ev.Ack(ErrorReply{Error: "sio: the result cannot be encoded: " + err.Error()})
		}
	})
}

// Timeout returns an emitter whose EmitWithAck gives up after d
// (socket.timeout(ms)), on top of any deadline of the context it is given.
func (s *Socket) Timeout(d time.Duration) *TimeoutSocket { return &TimeoutSocket{s: s, d: d} }

// TimeoutSocket emits events whose acknowledgements are awaited for a
// bounded time.
type TimeoutSocket struct {
	s *Socket
	d time.Duration
}

// EmitWithAck is Socket.EmitWithAck bounded by the timeout. A timeout is
// reported as ErrAckTimeout.
func (t *TimeoutSocket) EmitWithAck(ctx context.Context, name string, args ...any) (Message, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	m, err := t.s.EmitWithAck(ctx, name, args...)
	if errors.Is(err, context.DeadlineExceeded) {
		err = ErrAckTimeout
	}
	return m, err
}

// Timeout bounds the wait of EmitWithAck (io.timeout(ms)).
func (b BroadcastOperator) Timeout(d time.Duration) BroadcastOperator {
	b.timeout = d
	return b
}
