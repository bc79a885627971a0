package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Socket.IO v5 packet types (the first character of an encoded packet).
type packetType byte

const (
	pConnect      packetType = 0
	pDisconnect   packetType = 1
	pEvent        packetType = 2
	pAck          packetType = 3
	pConnectError packetType = 4
	pBinaryEvent  packetType = 5
	pBinaryAck    packetType = 6
)

func (t packetType) binary() bool { return t == pBinaryEvent || t == pBinaryAck }

// noID is packet.id when the packet asks for no acknowledgement.
const noID = -1

// maxID is the largest ack id accepted: socket.io counts ids in a JS
// number, exact up to 2^53-1.
const maxID = 1<<53 - 1

// packet is one Socket.IO packet.
type packet struct {
	typ  packetType
	nsp  string // "/" when absent on the wire
	id   int64  // noID when absent
	atts int    // attachments announced by a binary packet
	data []byte // raw JSON, nil when absent; aliases the decoded input
}

// errPacket is wrapped by every packet decoding error: socket.io-client
// closes the connection with "parse error" on any of them.
var errPacket = errors.New("client: invalid Socket.IO packet")

type packetError string

func (e packetError) Error() string { return "client: invalid Socket.IO packet: " + string(e) }
func (e packetError) Unwrap() error { return errPacket }

const (
	errEmpty       = packetError("empty")
	errType        = packetError("unknown type")
	errAttachments = packetError("bad attachment count")
	errTooManyAtts = packetError("too many attachments")
	errAckID       = packetError("ack id out of range")
	errJSON        = packetError("invalid JSON")
	errPayload     = packetError("payload not allowed for the type")
	errUnexpected  = packetError("binary message without a pending binary packet")
	errPendingText = packetError("text packet while attachments are pending")
)

// decodePacket decodes the text of one Socket.IO packet (an Engine.IO
// message without its leading '4'):
// <type>[<attachments>-][<nsp>,][<id>][<JSON>]. The result's data aliases b.
// maxAtts caps the attachment count of binary packets.
func decodePacket(b []byte, maxAtts int) (packet, error) {
	p := packet{nsp: "/", id: noID}
	if len(b) == 0 {
		return p, errEmpty
	}
	if b[0] < '0' || b[0] > '6' {
		return p, errType
	}
	p.typ = packetType(b[0] - '0')
	i := 1
	if p.typ.binary() {
		start, n := i, 0
		for ; i < len(b) && isDigit(b[i]); i++ {
			n = n*10 + int(b[i]-'0')
			if n > maxAtts {
				return p, errTooManyAtts
			}
		}
		if i == start || n == 0 || i == len(b) || b[i] != '-' {
			return p, errAttachments
		}
		p.atts = n
		i++
	}
	// The namespace runs to the first ',' or the end (socket.io-parser).
	if i < len(b) && b[i] == '/' {
		end := bytes.IndexByte(b[i:], ',')
		if end < 0 {
			end = len(b)
		} else {
			end += i
		}
		if end-i > 1 {
			p.nsp = string(b[i:end])
		}
		i = end
		if i < len(b) {
			i++
		}
	}
	if i < len(b) && isDigit(b[i]) {
		var id int64
		for ; i < len(b) && isDigit(b[i]); i++ {
			d := int64(b[i] - '0')
			if id > (maxID-d)/10 {
				return p, errAckID
			}
			id = id*10 + d
		}
		p.id = id
	}
	if i < len(b) {
		d := bytes.TrimSpace(b[i:])
		if len(d) == 0 || !json.Valid(d) {
			return p, errJSON
		}
		p.data = d
	}
	var ok bool
	switch p.typ {
	case pConnect:
		ok = p.data == nil || p.data[0] == '{'
	case pDisconnect:
		ok = p.data == nil
	case pEvent, pBinaryEvent:
		ok = p.data != nil && p.data[0] == '['
		if ok {
			first := bytes.TrimLeft(p.data[1:], " \t\r\n")
			ok = len(first) > 0 && (first[0] == '"' || first[0] == '-' || isDigit(first[0]))
		}
	case pAck, pBinaryAck:
		ok = p.data == nil || p.data[0] == '['
	case pConnectError:
		ok = p.data == nil || p.data[0] == '{' || p.data[0] == '"'
	}
	if !ok {
		return p, errPayload
	}
	return p, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// appendPacket appends the text encoding of p to dst. p.nsp must start
// with '/' and hold no ','; p.data must be valid JSON for the type.
func appendPacket(dst []byte, p *packet) []byte {
	dst = append(dst, '0'+byte(p.typ))
	if p.typ.binary() {
		dst = strconv.AppendInt(dst, int64(p.atts), 10)
		dst = append(dst, '-')
	}
	if p.nsp != "" && p.nsp != "/" {
		dst = append(dst, p.nsp...)
		dst = append(dst, ',')
	}
	if p.id >= 0 {
		dst = strconv.AppendInt(dst, p.id, 10)
	}
	return append(dst, p.data...)
}

// splitArray returns the raw elements of the JSON array b, which must be
// valid JSON (decodePacket checked it). The elements alias b.
func splitArray(b []byte) ([][]byte, error) {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, errJSON
	}
	var out [][]byte
	depth := 0
	inStr := false
	start := -1
	for i := 1; i < len(b)-1; i++ {
		c := b[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			inStr = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 0 {
				if start < 0 {
					return nil, errJSON
				}
				out = append(out, bytes.TrimSpace(b[start:i]))
				start = -1
				continue
			}
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, bytes.TrimSpace(b[start:len(b)-1]))
	} else if len(out) > 0 {
		return nil, errJSON // trailing comma
	}
	return out, nil
}

// Encoding arguments.

// maxEncodeDepth bounds recursion through []any and map[string]any so a
// value containing itself fails instead of overflowing the stack.
const maxEncodeDepth = 1000

var (
	errEncodeDepth = errors.New("client: argument nested too deep (cyclic?)")
	errFloat       = errors.New("client: unsupported float value (NaN or Inf)")
)

// appendArgs appends the JSON array of an event (name first, when event is
// true) or an ack, and returns the binary attachments in placeholder
// order. Every []byte found at the top level or inside []any,
// map[string]any and [][]byte becomes an attachment, written as
// {"_placeholder":true,"num":N}; json.RawMessage passes through; anything
// else goes through encoding/json without HTML escaping (so []byte fields
// of structs become base64 strings, as encoding/json writes them). The
// attachments alias the caller's slices.
func appendArgs(dst []byte, event bool, name string, args []any) ([]byte, [][]byte, error) {
	start := len(dst)
	dst = append(dst, '[')
	var atts [][]byte
	if event {
		dst = appendString(dst, name)
	}
	for i, a := range args {
		if event || i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, atts, err = appendValue(dst, a, atts, 0); err != nil {
			return dst[:start], nil, err
		}
	}
	return append(dst, ']'), atts, nil
}

func appendValue(dst []byte, v any, atts [][]byte, depth int) ([]byte, [][]byte, error) {
	if depth > maxEncodeDepth {
		return dst, atts, errEncodeDepth
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), atts, nil
	case json.RawMessage:
		if len(x) == 0 {
			return append(dst, "null"...), atts, nil
		}
		return append(dst, x...), atts, nil
	case []byte:
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(atts)), 10)
		return append(dst, '}'), append(atts, x), nil
	case [][]byte:
		dst = append(dst, '[')
		for i, b := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst, atts, _ = appendValue(dst, b, atts, depth+1)
		}
		return append(dst, ']'), atts, nil
	case string:
		return appendString(dst, x), atts, nil
	case bool:
		return strconv.AppendBool(dst, x), atts, nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int64:
		return strconv.AppendInt(dst, x, 10), atts, nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), atts, nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case float64:
		b, err := appendFloat(dst, x)
		return b, atts, err
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, atts, err = appendValue(dst, e, atts, depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, atts, err = appendValue(dst, x[k], atts, depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, '}'), atts, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, atts, err
	}
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...), atts, nil
}

// appendFloat writes f the way encoding/json (and JSON.stringify, for the
// values both print alike) does.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, errFloat
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Turn e-09 into e-9, as encoding/json does.
		n := len(dst) - start
		if n >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping like JSON.stringify
// (no HTML escaping); invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[last:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[last:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			last = i
			continue
		}
		i += size
	}
	dst = append(dst, s[last:]...)
	return append(dst, '"')
}

// reassembler collects the attachments of a binary packet: the header
// packet first, then one binary message per attachment.
type reassembler struct {
	p    packet
	atts [][]byte
	want int // attachments still expected; 0 when none is pending
}

// start begins a binary packet; its data is copied.
func (r *reassembler) start(p packet) {
	p.data = slices.Clone(p.data)
	r.p = p
	r.atts = make([][]byte, 0, p.atts)
	r.want = p.atts
}

// pending reports whether attachments are expected.
func (r *reassembler) pending() bool { return r.want > 0 }

// add takes one attachment (copied) and reports the complete packet once
// the last one arrived.
func (r *reassembler) add(b []byte) (packet, [][]byte, bool, error) {
	if r.want == 0 {
		return packet{}, nil, false, errUnexpected
	}
	r.atts = append(r.atts, slices.Clone(b))
	r.want--
	if r.want > 0 {
		return packet{}, nil, false, nil
	}
	p, atts := r.p, r.atts
	r.p, r.atts = packet{}, nil
	return p, atts, true, nil
}

// reset drops a partial packet.
func (r *reassembler) reset() { *r = reassembler{} }
