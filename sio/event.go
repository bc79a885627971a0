package sio

import (
	"encoding/json"
	"errors"
	"sync/atomic"

	"github.com/sioloop/sioloop/internal/packet"
)

// Message is the arguments of an event or an acknowledgement, kept as raw
// JSON until decoded, with their binary attachments.
type Message struct{ a packet.Args }

// Len is the number of arguments.
func (m *Message) Len() int { return len(m.a.Raw) }

// Arg returns argument i as raw JSON (binary attachments appear as
// {"_placeholder":true,"num":n}; see Binary). Nil if out of range.
func (m *Message) Arg(i int) json.RawMessage { return m.a.Arg(i) }

// Args returns every argument as raw JSON.
func (m *Message) Args() []json.RawMessage { return m.a.All() }

// Binary returns argument i when it is a binary attachment.
func (m *Message) Binary(i int) ([]byte, bool) { return m.a.Binary(i) }

// Attachments returns the binary attachments in order.
func (m *Message) Attachments() [][]byte { return m.a.Atts }

// Decode decodes the arguments, in order, into the values pointed to by
// ptrs (fewer pointers than arguments is fine; a nil pointer skips one).
// Binary attachments decode into *[]byte, into []byte fields of structs, and
// into *any (as []byte). Other values follow encoding/json.
func (m *Message) Decode(ptrs ...any) error { return m.a.Decode("sio", ptrs) }

func newMessage(data []byte, atts [][]byte, skipName bool) (Message, error) {
	a, err := packet.NewArgs(data, atts, skipName)
	return Message{a}, err
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
