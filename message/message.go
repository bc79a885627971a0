package message

import (
	"encoding/json"

	"github.com/sioloop/sioloop/internal/packet"
)

// Message is the arguments of an event or an acknowledgement, kept as raw
// JSON until decoded, with their binary attachments. How long its bytes
// stay valid is said by whoever hands it out: sio.Event's only until its
// handler returns, an acknowledgement's and the client's for good.
type Message struct{ a packet.Args }

// Parse returns the arguments of data, a JSON array, whose placeholders
// refer to atts. A nil data has no arguments. Parse keeps data and atts
// without copying them.
func Parse(data []byte, atts [][]byte) (Message, error) {
	a, err := packet.NewArgs(data, atts, false)
	return Message{a}, err
}

// ParseEvent is Parse for an event's array, whose first element is the
// event's name: the name is left out of the arguments.
func ParseEvent(data []byte, atts [][]byte) (Message, error) {
	a, err := packet.NewArgs(data, atts, true)
	return Message{a}, err
}

// FromArgs returns the Message of args, each the raw JSON of one argument
// (a JSON array already split), whose placeholders refer to atts. It keeps
// both slices without copying them.
func FromArgs(args, atts [][]byte) Message {
	return Message{packet.Args{Raw: args, Atts: atts}}
}

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
func (m *Message) Decode(ptrs ...any) error { return m.a.Decode("message", ptrs) }
