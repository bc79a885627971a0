package sio

import (
	"context"
	"log/slog"
	"time"
)

// The callback form of acknowledgements: socket.io's
// socket.timeout(ms).emit("q", arg, (err, answer) => ...). EmitWithAck
// blocks its caller until the answer comes; these return at once and call
// f later, so a handler can ask its own client (or a room) and go on.

// EmitWithAckFunc sends event name with args and returns at once; f runs
// when the client answers, with ErrDisconnected if the socket disconnects
// first. f runs in the socket's handler order (its mailbox, where its
// event handlers run), with a panic contained as a handler's is.
func (s *Socket) EmitWithAckFunc(name string, f func(Message, error), args ...any) error {
	return s.emitWithAckFunc(0, name, f, args)
}

// EmitWithAckFunc is Socket.EmitWithAckFunc bounded by the timeout: if the
// client has not answered by then, f runs with ErrAckTimeout.
func (t *TimeoutSocket) EmitWithAckFunc(name string, f func(Message, error), args ...any) error {
	return t.s.emitWithAckFunc(t.d, name, f, args)
}

func (s *Socket) emitWithAckFunc(timeout time.Duration, name string, f func(Message, error), args []any) error {
	if reservedEvents[name] {
		return ErrReservedEvent
	}
	run := func(m Message, err error) {
		s.client.post(func() {
			defer s.containPanic()
			f(m, err)
		})
	}
	var timer *time.Timer
	id, err := s.registerAck(func(id int64) ackFunc {
		if timeout > 0 {
			// Whichever of the answer, the timeout and the disconnect
			// takes the entry out of acks (under mu) runs f.
			timer = time.AfterFunc(timeout, func() {
				if s.takeAck(id) {
					run(Message{}, ErrAckTimeout)
				}
			})
		}
		return func(m Message, err error) {
			if timer != nil {
				timer.Stop()
			}
			run(m, err)
		}
	})
	if err != nil {
		return err
	}
	s.fireOutgoing(name, args)
	if err := s.nsp.emitTo(s, name, args, id, false, true); err != nil {
		if s.takeAck(id) && timer != nil {
			timer.Stop()
		}
		return err
	}
	return nil
}

// EmitWithAckFunc is EmitWithAck without blocking: it returns at once,
// and f runs on a goroutine of its own once every targeted socket
// answered, or the operator's Timeout passed (then with ErrAckTimeout and
// the answers that came), or with the error that stopped the emit (an
// argument that cannot be encoded). Without a Timeout it waits for every
// answer, as EmitWithAck with a context that never ends does. A panic in f
// is logged and contained.
func (b BroadcastOperator) EmitWithAckFunc(name string, f func([]Message, error), args ...any) error {
	if reservedEvents[name] {
		return ErrReservedEvent
	}
	go func() {
		defer func() {
			if v := recover(); v != nil {
				b.nsp.srv.logPanic(v, slog.String("event", name), slog.String("namespace", b.nsp.name))
			}
		}()
		f(b.EmitWithAck(context.Background(), name, args...))
	}()
	return nil
}
