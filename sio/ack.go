package sio

import (
	"context"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/packet"
)

// Acknowledgements both ways: EmitWithAck and the ids it waits on, the
// client's ACK packets resolved on the transport goroutine, and sendAck for
// the client's own. The callback form is in ack_func.go.

// ackFunc receives a client's acknowledgement, or ErrDisconnected. It runs
// on the transport goroutine (resolveAck) or in the mailbox, so it must
// not block.
type ackFunc func(m Message, err error)

// EmitWithAck sends event name and waits for the client's acknowledgement
// or the end of ctx (socket.timeout(ms).emitWithAck).
func (s *Socket) EmitWithAck(ctx context.Context, name string, args ...any) (Message, error) {
	if reservedEvents[name] {
		return Message{}, ErrReservedEvent
	}
	ch := make(chan ackResult, 1)
	id, err := s.registerAck(func(int64) ackFunc { return func(m Message, err error) { ch <- ackResult{m, err} } })
	if err != nil {
		return Message{}, err
	}
	s.fireOutgoing(name, args)
	if err := s.nsp.emitTo(s, name, args, id, false, true); err != nil {
		s.takeAck(id)
		return Message{}, err
	}
	// The client cannot answer what waits for the connection handler
	// that may be calling this.
	s.releaseOutput()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		s.takeAck(id)
		return Message{}, ctx.Err()
	}
}

// registerAck draws an ack id and stores the function build makes for it
// (given the id), or returns ErrDisconnected. build runs under mu.
func (s *Socket) registerAck(build func(id int64) ackFunc) (int64, error) {
	id := s.nsp.nextAckID()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return 0, ErrDisconnected
	}
	if s.acks == nil {
		s.acks = map[int64]ackFunc{}
	}
	s.acks[id] = build(id)
	return id, nil
}

// takeAck removes the pending ack id and reports whether it was there.
func (s *Socket) takeAck(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.acks[id]
	delete(s.acks, id)
	return ok
}

type ackResult struct {
	m   Message
	err error
}

// sendAck answers the client's ack id.
func (s *Socket) sendAck(id int64, args []any) error {
	b := getBuf()
	defer putBuf(b)
	p := packet.Packet{Type: packet.Ack, Namespace: s.nsp.name, ID: id}
	var atts [][]byte
	var err error
	if b.B, atts, err = packet.AppendArgsPacket(eio.BeginBuild(b.B[:0]), &p, "", args); err != nil {
		return err
	}
	s.send(b.B, atts...)
	return nil
}

// resolveAck delivers an ACK or BINARY_ACK packet at once, on the
// transport goroutine, and reports whether it did. Queued in the mailbox,
// the answer to an EmitWithAck made by one of this socket's handlers would
// wait behind that very handler: with no deadline, the handler, its worker
// and every later event of the connection would hang. The waiters it wakes
// never block (a buffered channel, or the broadcast's counter under its
// mutex), and p.Data and atts are copies the transport no longer uses. A
// packet for a namespace the client has not joined goes through the
// mailbox, which closes the connection as before.
func (c *client) resolveAck(p *packet.Packet, atts [][]byte) bool {
	return (p.Type == packet.Ack || p.Type == packet.BinaryAck) && c.deliverAck(p, atts)
}

// deliverAck is resolveAck's slow path, kept apart so that the check for
// every other packet is inlined into the transport's hot path.
func (c *client) deliverAck(p *packet.Packet, atts [][]byte) bool {
	c.mu.Lock()
	s := c.socketLocked(p.Namespace)
	c.mu.Unlock()
	if s == nil {
		return false
	}
	s.onAck(*p, atts)
	return true
}

// onAck delivers a client's acknowledgement to its waiter (an EmitWithAck,
// one socket's or a broadcast's). Called on the transport goroutine by
// resolveAck, or in the mailbox; the ackFunc must not block.
func (s *Socket) onAck(p packet.Packet, atts [][]byte) {
	s.mu.Lock()
	f := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if f == nil {
		return // unknown id: ignored, as the reference does
	}
	m, err := newMessage(p.Data, atts, false)
	f(m, err)
}
