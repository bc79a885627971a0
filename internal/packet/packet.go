package packet

import (
	"bytes"
	"errors"
	"strconv"
)

// Type is the Socket.IO packet type, the first character of an encoded packet.
type Type byte

// Socket.IO v5 packet types (socket.io docs/socket.io-protocol/v5-current.md,
// Exchange protocol).
const (
	Connect      Type = 0
	Disconnect   Type = 1
	Event        Type = 2
	Ack          Type = 3
	ConnectError Type = 4
	BinaryEvent  Type = 5
	BinaryAck    Type = 6
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the reference name of t, e.g. "BINARY_EVENT".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// IsBinary reports whether packets of type t are followed by binary attachments.
func (t Type) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

const (
	// NoID is Packet.ID when the packet carries no ack id.
	NoID = -1

	// MaxID is the largest ack id Decode accepts. The reference client counts ids
	// in a JS number, so anything above 2^53-1 cannot come from it; larger ids
	// are a decode error instead of a silent overflow (socket.io-parser
	// accepts any, as a JS number).
	MaxID = 1<<53 - 1

	// DefaultMaxAttachments is the attachment cap used when Decode is given a
	// limit <= 0; it is socket.io-parser's default maxAttachments.
	DefaultMaxAttachments = 10
)

// Packet is one decoded Socket.IO packet.
type Packet struct {
	// Type is the packet type.
	Type Type
	// Namespace is the namespace, "/" when absent on the wire. AppendEncode
	// expects it to start with '/' and to contain no ',' (the wire format has
	// no escaping); Decode only ever produces such names.
	Namespace string
	// ID is the ack id, NoID when absent. Valid ids are 0..MaxID.
	ID int64
	// Attachments is the number of binary attachments that follow a
	// BinaryEvent or BinaryAck header (>= 1 on the wire); 0 otherwise.
	Attachments int
	// Data is the raw JSON payload without surrounding whitespace, nil when the
	// packet has none. After Decode it aliases the decoded input.
	Data []byte
}

// ErrInvalid is wrapped by every error this package returns for malformed
// input; test with errors.Is. In the reference any such error is a "parse
// error" that closes the whole Engine.IO connection.
var ErrInvalid = errors.New("packet: invalid")

// Error is a preallocated, static protocol error; it unwraps to ErrInvalid.
// Errors are static values so that rejecting hostile input does not allocate.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func newErr(msg string) *Error { return &Error{msg: "packet: " + msg} }

// The errors of Decode, the placeholder functions and Reassembler. They are
// exported so that callers and tests can tell them apart; all of them satisfy
// errors.Is(err, ErrInvalid).
var (
	ErrEmpty              = newErr("empty packet")
	ErrUnknownType        = newErr("unknown packet type")
	ErrAttachments        = newErr("illegal attachments")
	ErrTooManyAttachments = newErr("too many attachments")
	ErrAckID              = newErr("ack id out of range")
	ErrJSON               = newErr("invalid JSON payload")
	ErrDepth              = newErr("JSON payload nested too deep")
	ErrPayload            = newErr("invalid payload for packet type")
	ErrReservedEvent      = newErr("reserved event name")
	ErrPlaceholder        = newErr("illegal attachment placeholder")
	ErrPending            = newErr("binary packet already pending")
	ErrUnexpectedBinary   = newErr("binary data without a pending binary packet")
	ErrNotBinary          = newErr("not a binary packet")
	ErrAttachmentSize     = newErr("attachments too large")
)

// reservedEvents may not be used as event names (socket.io-parser
// RESERVED_EVENTS); the reference closes the connection when one arrives.
var reservedEvents = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

const maxInt = int(^uint(0) >> 1)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Decode decodes one text Socket.IO packet: the payload of an Engine.IO
// message, without the leading Engine.IO type '4'.
//
// The format is `<type>[<attachments>-][<nsp>,][<id>][<JSON>]`. Decode follows
// socket.io-parser 4.2.x, with these deliberate differences, each stricter:
// empty input is an error (the reference reads it as CONNECT), attachment
// counts and ids are plain decimal digits, ids above MaxID are errors, an
// EVENT must have a payload (as the Socket.IO v5 protocol says; the
// reference checks a payload only when there is one), and JSON may nest at
// most MaxDepth containers (V8 accepts 5 000 levels). ACK and CONNECT_ERROR
// without a payload are accepted, as in the reference.
//
// maxAttachments caps the attachment count of BinaryEvent/BinaryAck;
// <= 0 means DefaultMaxAttachments. Placeholders inside the payload are not
// checked here: Reassembler.Start does it.
//
// The returned Data aliases b, so it is valid only as long as b is. Namespace
// is a fresh string unless it is "/". Decode does not allocate when the
// namespace is "/". On error the returned Packet is incomplete; only the
// error is meaningful.
func Decode(b []byte, maxAttachments int) (Packet, error) {
	p := Packet{Namespace: "/", ID: NoID}
	if len(b) == 0 {
		return p, ErrEmpty
	}
	if b[0] < '0' || b[0] > '6' {
		return p, ErrUnknownType
	}
	p.Type = Type(b[0] - '0')
	i := 1

	if p.Type.IsBinary() {
		if maxAttachments <= 0 {
			maxAttachments = DefaultMaxAttachments
		}
		start, n := i, 0
		for ; i < len(b) && isDigit(b[i]); i++ {
			if n > (maxInt-9)/10 {
				return p, ErrTooManyAttachments
			}
			n = n*10 + int(b[i]-'0')
			// Stop at the first digit that exceeds the cap, so an absurd
			// count can neither overflow nor cost time (CVE-2026-33151, in
			// socket.io-parser).
			if n > maxAttachments {
				return p, ErrTooManyAttachments
			}
		}
		if i == start || i == len(b) || b[i] != '-' {
			return p, ErrAttachments
		}
		if n == 0 {
			// Zero attachments labelled binary (CVE-2026-69185, in
			// socket.io-parser).
			return p, ErrAttachments
		}
		p.Attachments = n
		i++
	}

	// The reference reads the namespace up to the first ',' or the end of the
	// string, so "40/custom" is a valid CONNECT to "/custom".
	if i < len(b) && b[i] == '/' {
		end := bytes.IndexByte(b[i:], ',')
		if end < 0 {
			end = len(b)
		} else {
			end += i
		}
		if end-i != 1 {
			p.Namespace = string(b[i:end])
		}
		i = end
		if i < len(b) {
			i++ // the comma
		}
	}

	if i < len(b) && isDigit(b[i]) {
		var id int64
		for ; i < len(b) && isDigit(b[i]); i++ {
			d := int64(b[i] - '0')
			if id > (MaxID-d)/10 {
				return p, ErrAckID
			}
			id = id*10 + d
		}
		p.ID = id
	}

	if i < len(b) {
		data, err := trimValue(b[i:])
		if err != nil {
			return p, err
		}
		p.Data = data
	}
	if err := checkPayload(p.Type, p.Data); err != nil {
		return p, err
	}
	return p, nil
}

// trimValue validates that b holds exactly one JSON value, optionally
// surrounded by whitespace, and returns the value without the whitespace.
func trimValue(b []byte) ([]byte, error) {
	start := skipSpace(b, 0)
	end, err := scanValue(b, start, 0, nil)
	if err != nil {
		return nil, err
	}
	if skipSpace(b, end) != len(b) {
		return nil, ErrJSON
	}
	return b[start:end], nil
}

// checkPayload applies the reference isPayloadValid rules to a JSON value
// already known to be valid (or nil when absent).
func checkPayload(t Type, data []byte) error {
	switch t {
	case Connect:
		if data != nil && data[0] != '{' {
			return ErrPayload
		}
	case Disconnect:
		if data != nil {
			return ErrPayload
		}
	case Event, BinaryEvent:
		if data == nil || data[0] != '[' {
			return ErrPayload
		}
		i := skipSpace(data, 1)
		switch c := data[i]; {
		case c == '"':
			end, _ := scanString(data, i)
			if isReserved(data[i:end]) {
				return ErrReservedEvent
			}
		case c == '-' || isDigit(c):
		default:
			// Empty array, or a first element that is null, a bool, an
			// object (CVE-2023-32695, in socket.io-parser) or an array.
			return ErrPayload
		}
	case Ack, BinaryAck:
		if data != nil && data[0] != '[' {
			return ErrPayload
		}
	case ConnectError:
		if data != nil && data[0] != '{' && data[0] != '"' {
			return ErrPayload
		}
	}
	return nil
}

// isReserved reports whether the JSON string literal raw decodes to one of
// the reserved event names. Escapes count: "conn\u0065ct" is "connect" to
// JSON.parse too.
func isReserved(raw []byte) bool {
	if body := raw[1 : len(raw)-1]; bytes.IndexByte(body, '\\') < 0 {
		// Without escapes the bytes are the name (invalid UTF-8 cannot
		// match an ASCII name either way).
		for _, r := range reservedEvents {
			if string(body) == r {
				return true
			}
		}
		return false
	}
	for _, r := range reservedEvents {
		if jsonStringIs(raw, r) {
			return true
		}
	}
	return false
}

// AppendEncode appends the text encoding of p to dst and returns the result:
// `<type>[<n>-][<nsp>,][<id>]<data>`. The namespace is omitted when it is "/"
// or empty; otherwise it is always followed by a comma. The id is written when
// it is >= 0. Data is copied verbatim and must be valid for the type (Decode
// output always is). A BinaryEvent/BinaryAck with Attachments 0 encodes, but
// Decode rejects it, as the reference does: send Event/Ack instead. It does
// not allocate when dst has room.
func AppendEncode(dst []byte, p *Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.IsBinary() {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}
