package sio

import (
	"errors"
	"sync/atomic"

	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/message"
)

// Message is the arguments of an event or an acknowledgement, kept as raw
// JSON until decoded, with their binary attachments: the type the Go client
// hands its handlers too (package message documents its methods).
type Message = message.Message

// newMessage reads a packet's arguments; with skipName the first element
// of the array (an event's name) is left out.
func newMessage(data []byte, atts [][]byte, skipName bool) (Message, error) {
	if skipName {
		return message.ParseEvent(data, atts)
	}
	return message.Parse(data, atts)
}

// Event is one event received from a client. It is valid only until its
// handler returns.
type Event struct {
	Message
	// Name is the event name.
	Name   string
	socket *Socket
	id     int64
	acked  atomic.Bool
	argBuf [5][]byte // inline room for the name and four arguments
}

// Socket is the socket the event arrived on.
func (e *Event) Socket() *Socket { return e.socket }

// HasAck reports whether the client asked for an acknowledgement.
func (e *Event) HasAck() bool { return e.id != packet.NoID }

// ErrAlreadyAcked is returned by a second Ack.
var ErrAlreadyAcked = errors.New("sio: event already acknowledged")

// Ack answers the client's acknowledgement callback with args. It is a
// no-op without an ack request and may be called once. Arguments that
// cannot be encoded are not sent: Ack returns the encoding error and may
// be called again.
func (e *Event) Ack(args ...any) error {
	if e.id == packet.NoID {
		return nil
	}
	if e.acked.Swap(true) {
		return ErrAlreadyAcked
	}
	if err := e.socket.sendAck(e.id, args); err != nil {
		e.acked.Store(false)
		return err
	}
	return nil
}
