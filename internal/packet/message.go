package packet

import (
	"encoding/json"
	"fmt"
)

// Args is the arguments of an event or an acknowledgement, kept as raw JSON
// until decoded, with their binary attachments: what message.Message (the
// type of sio.Message and client.Message) wraps.
type Args struct {
	Raw  [][]byte // raw JSON of each argument, placeholders unresolved
	Atts [][]byte // binary attachments, in placeholder order
}

// NewArgs splits the JSON array data into arguments (none when data is
// nil); with skipName the first one (an event's name) is left out.
func NewArgs(data []byte, atts [][]byte, skipName bool) (Args, error) {
	if data == nil {
		return Args{Atts: atts}, nil
	}
	raw, err := SplitArgs(data)
	if err != nil {
		return Args{}, err
	}
	if skipName && len(raw) > 0 {
		raw = raw[1:]
	}
	return Args{Raw: raw, Atts: atts}, nil
}

// Arg returns argument i, nil if out of range.
func (a *Args) Arg(i int) json.RawMessage {
	if i < 0 || i >= len(a.Raw) {
		return nil
	}
	return a.Raw[i]
}

// All returns every argument.
func (a *Args) All() []json.RawMessage {
	out := make([]json.RawMessage, len(a.Raw))
	for i, r := range a.Raw {
		out[i] = r
	}
	return out
}

// Binary returns argument i when it is a binary attachment.
func (a *Args) Binary(i int) ([]byte, bool) {
	if i < 0 || i >= len(a.Raw) {
		return nil, false
	}
	return BinaryArg(a.Raw[i], a.Atts)
}

// Decode decodes the arguments, in order, into the values pointed to by
// ptrs (a nil pointer skips one), as DecodeArg does; errors start with
// pkg, the public package's name.
func (a *Args) Decode(pkg string, ptrs []any) error {
	for i, p := range ptrs {
		if p == nil {
			continue
		}
		if i >= len(a.Raw) {
			return fmt.Errorf("%s: decode: argument %d missing (have %d)", pkg, i, len(a.Raw))
		}
		if err := DecodeArg(a.Raw[i], a.Atts, p); err != nil {
			return fmt.Errorf("%s: decode argument %d: %w", pkg, i, err)
		}
	}
	return nil
}
