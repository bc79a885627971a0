package client

import (
	"sync/atomic"

	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/message"
)

// Message is the arguments of an event or an acknowledgement, kept as raw
// JSON until decoded, with their binary attachments: the type the server
// (package sio) hands its handlers too; package message documents its
// methods. A client's Message owns its bytes: it stays valid after the
// handler that received it returns.
type Message = message.Message

// Event is one event received from the server.
type Event struct {
	Message
	// Name is the event name.
	Name   string
	socket *Socket
	id     int64
	acked  atomic.Bool
}

// Socket is the socket the event arrived on.
func (e *Event) Socket() *Socket { return e.socket }

// HasAck reports whether the server asked for an acknowledgement.
func (e *Event) HasAck() bool { return e.id != packet.NoID }

// Ack answers the server's acknowledgement request with args ([]byte
// values travel as binary attachments). It is a no-op when the server
// asked for none, and may be called once; later calls return
// ErrAlreadyAcked. It may be called after the handler returned, from any
// goroutine.
func (e *Event) Ack(args ...any) error {
	if e.id == packet.NoID {
		return nil
	}
	if e.acked.Swap(true) {
		return ErrAlreadyAcked
	}
	return e.socket.sendAck(e.id, args)
}
