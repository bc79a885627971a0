package sio

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/sioloop/sioloop/internal/packet"
)

// Message is the arguments of an event or an acknowledgement, kept as raw
// JSON until decoded, with their binary attachments.
type Message struct {
	args [][]byte // raw JSON of each argument, placeholders unresolved
	atts [][]byte // binary attachments, in placeholder order
}

func newMessage(data []byte, atts [][]byte, skipName bool) (Message, error) {
	args, err := packet.SplitArgs(data)
	if err != nil {
		return Message{}, err
	}
	if skipName && len(args) > 0 {
		args = args[1:]
	}
	return Message{args: args, atts: atts}, nil
}

// Len is the number of arguments.
func (m *Message) Len() int { return len(m.args) }

// Arg returns argument i as raw JSON (binary attachments appear as
// {"_placeholder":true,"num":n}; see Binary). Nil if out of range.
func (m *Message) Arg(i int) json.RawMessage {
	if i < 0 || i >= len(m.args) {
		return nil
	}
	return m.args[i]
}

// Args returns every argument as raw JSON.
func (m *Message) Args() []json.RawMessage {
	out := make([]json.RawMessage, len(m.args))
	for i, a := range m.args {
		out[i] = a
	}
	return out
}

// Binary returns argument i when it is a binary attachment.
func (m *Message) Binary(i int) ([]byte, bool) {
	if i < 0 || i >= len(m.args) {
		return nil, false
	}
	return packet.BinaryArg(m.args[i], m.atts)
}

// Attachments returns the binary attachments in order.
func (m *Message) Attachments() [][]byte { return m.atts }

// Decode decodes the arguments, in order, into the values pointed to by
// ptrs (fewer pointers than arguments is fine; a nil pointer skips one).
// Binary attachments decode into *[]byte, into []byte fields of structs, and
// into *any (as []byte). Other values follow encoding/json.
func (m *Message) Decode(ptrs ...any) error {
	for i, p := range ptrs {
		if p == nil {
			continue
		}
		if i >= len(m.args) {
			return fmt.Errorf("sio: decode: argument %d missing (have %d)", i, len(m.args))
		}
		if err := m.decodeArg(i, p); err != nil {
			return fmt.Errorf("sio: decode argument %d: %w", i, err)
		}
	}
	return nil
}

func (m *Message) decodeArg(i int, p any) error {
	return packet.DecodeArg(m.args[i], m.atts, p)
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
