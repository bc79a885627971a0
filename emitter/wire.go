package emitter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"

	"github.com/sioloop/sioloop/internal/msgpack"
	"github.com/sioloop/sioloop/internal/packet"
)

// The Node emitter's messages (lib/index.ts of @socket.io/redis-emitter
// 5.1.0): a broadcast is the notepack msgpack array
// ["emitter", {type, data, nsp}, {rooms, flags, except}], keys in that
// order (the adapter's own broadcasts put except before flags); requests
// are JSON.stringify output, keys in the order below.

// uid is the emitter's node id in broadcasts and server-side emits.
const uid = "emitter"

// Request types (socket.io-redis-adapter's RequestType).
const (
	reqRemoteJoin       = 2
	reqRemoteLeave      = 3
	reqRemoteDisconnect = 4
	reqServerSideEmit   = 6
)

// eventType is socket.io's EVENT packet type; binary arguments travel
// inline as msgpack bin, so a broadcast is type 2 with or without them.
const eventType = 2

// appendArgs appends the socket.io JSON array [name, ...args] with []byte
// values as placeholders and returns the attachments (aliasing args).
// packet.AppendArgs leaves out an empty name (an ack's form); the Node
// emitter sends "" as an event name like any other.
func appendArgs(dst []byte, name string, args []any) ([]byte, [][]byte, error) {
	if name == "" {
		return packet.AppendArgs(dst, "", append([]any{""}, args...))
	}
	return packet.AppendArgs(dst, name, args)
}

// appendBroadcast appends the broadcast message to dst. js is scratch
// space for the arguments' JSON, returned for reuse.
func appendBroadcast(dst, js []byte, nsp, name string, args []any, rooms, except []string, f flags) (msg, scratch []byte, err error) {
	js, atts, err := appendArgs(js, name, args)
	if err != nil {
		return dst, js, err
	}
	dst = msgpack.AppendArrayHeader(dst, 3)
	dst = msgpack.AppendString(dst, uid)
	dst = msgpack.AppendMapHeader(dst, 3)
	dst = msgpack.AppendString(dst, "type")
	dst = msgpack.AppendInt(dst, eventType)
	dst = msgpack.AppendString(dst, "data")
	if dst, err = msgpack.AppendJSON(dst, js, atts); err != nil {
		return dst, js, err
	}
	dst = msgpack.AppendString(dst, "nsp")
	dst = msgpack.AppendString(dst, nsp)
	dst = msgpack.AppendMapHeader(dst, 3)
	dst = msgpack.AppendString(dst, "rooms")
	dst = msgpack.AppendStrings(dst, rooms)
	dst = msgpack.AppendString(dst, "flags")
	dst = appendFlags(dst, f)
	dst = msgpack.AppendString(dst, "except")
	dst = msgpack.AppendStrings(dst, except)
	return dst, js, nil
}

// appendFlags appends the flags map, keys in the order they were set.
func appendFlags(dst []byte, f flags) []byte {
	n := uint32(0)
	if f.volatile {
		n++
	}
	if f.hasCompress {
		n++
	}
	dst = msgpack.AppendMapHeader(dst, n)
	if f.hasCompress && f.compressFirst {
		dst = msgpack.AppendBool(msgpack.AppendString(dst, "compress"), f.compress)
	}
	if f.volatile {
		dst = msgpack.AppendBool(msgpack.AppendString(dst, "volatile"), true)
	}
	if f.hasCompress && !f.compressFirst {
		dst = msgpack.AppendBool(msgpack.AppendString(dst, "compress"), f.compress)
	}
	return dst
}

// appendJSONStrings appends a JSON array of strings as JSON.stringify
// writes it.
func appendJSONStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSString(dst, s)
	}
	return append(dst, ']')
}

// appendOpts appends "opts":{"rooms":[...],"except":[...]}.
func appendOpts(dst []byte, rooms, except []string) []byte {
	dst = append(dst, `"opts":{"rooms":`...)
	dst = appendJSONStrings(dst, rooms)
	dst = append(dst, `,"except":`...)
	dst = appendJSONStrings(dst, except)
	return append(dst, '}')
}

// appendRoomsRequest appends {"type":2|3,"opts":{...},"rooms":[...]}, the
// Node emitter's socketsJoin / socketsLeave (no uid: every node applies
// it). The rooms argument is not de-duplicated, as in Node.
func appendRoomsRequest(dst []byte, typ int, rooms, except, target []string) []byte {
	dst = append(dst, `{"type":`...)
	dst = strconv.AppendInt(dst, int64(typ), 10)
	dst = append(dst, ',')
	dst = appendOpts(dst, rooms, except)
	dst = append(dst, `,"rooms":`...)
	dst = appendJSONStrings(dst, nonNil(target))
	return append(dst, '}')
}

// appendDisconnectRequest appends {"type":4,"opts":{...},"close":bool}.
func appendDisconnectRequest(dst []byte, rooms, except []string, close bool) []byte {
	dst = append(dst, `{"type":4,`...)
	dst = appendOpts(dst, rooms, except)
	dst = append(dst, `,"close":`...)
	dst = strconv.AppendBool(dst, close)
	return append(dst, '}')
}

// appendServerSideEmit appends {"uid":"emitter","type":6,"data":[name,
// ...args]}, args as JSON.stringify writes them (see appendNodeJSON).
func appendServerSideEmit(dst []byte, name string, args []any) ([]byte, error) {
	js, atts, err := appendArgs(nil, name, args)
	if err != nil {
		return dst, err
	}
	if !json.Valid(js) { // a json.RawMessage is written unchecked
		return dst, errInvalidJSON
	}
	dst = append(dst, `{"uid":"emitter","type":6,"data":`...)
	dst = appendNodeJSON(dst, js, atts)
	return append(dst, '}'), nil
}

var errInvalidJSON = errors.New("invalid JSON in a json.RawMessage argument")

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// placeholderPrefix is how packet.AppendArgs writes a binary placeholder.
var placeholderPrefix = []byte(`{"_placeholder":true,"num":`)

// appendNodeJSON appends js (valid JSON as packet.AppendArgs writes it,
// encoding/json style) as JSON.stringify would write the same JS value,
// with the attachments as Node Buffers:
//
//   - a placeholder {"_placeholder":true,"num":N} becomes
//     {"type":"Buffer","data":[bytes...]}, Buffer.prototype.toJSON's form;
//   - the escapes \u2028, \u2029 and \ufffd (encoding/json's, for line
//     separators and invalid UTF-8) become the raw characters, which
//     JSON.stringify does not escape;
//   - the number -0 becomes 0.
//
// Everything else encoding/json and JSON.stringify write alike (HTML
// escaping is off in packet.AppendArgs). Integers beyond 2^53 keep their
// digits, where JS would print the nearest double: the receiving JS
// parser lands on that double either way.
func appendNodeJSON(dst, js []byte, atts [][]byte) []byte {
	for i := 0; i < len(js); {
		c := js[i]
		switch {
		case c == '"':
			dst = append(dst, '"')
			i++
			for i < len(js) && js[i] != '"' {
				if js[i] != '\\' || i+1 >= len(js) {
					dst = append(dst, js[i])
					i++
					continue
				}
				if js[i+1] == 'u' && i+6 <= len(js) {
					if r := rawEscape(js[i+2 : i+6]); r != "" {
						dst = append(dst, r...)
						i += 6
						continue
					}
				}
				dst = append(dst, js[i], js[i+1])
				i += 2
			}
			dst = append(dst, '"')
			i++
		case c == '-' && i+1 < len(js) && js[i+1] == '0' && (i+2 == len(js) || !isNumberByte(js[i+2])):
			dst = append(dst, '0')
			i += 2
		case c == '{' && len(atts) > 0 && bytes.HasPrefix(js[i:], placeholderPrefix):
			j := i + len(placeholderPrefix)
			n := 0
			for j < len(js) && js[j] >= '0' && js[j] <= '9' && n < len(atts) {
				n = n*10 + int(js[j]-'0')
				j++
			}
			if j < len(js) && js[j] == '}' && j > i+len(placeholderPrefix) && n < len(atts) {
				dst = appendBufferJSON(dst, atts[n])
				i = j + 1
				continue
			}
			dst = append(dst, c)
			i++
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst
}

// rawEscape returns the UTF-8 of the escapes JSON.stringify never writes
// (given the 4 hex digits), or "".
func rawEscape(hex []byte) string {
	switch string(bytes.ToLower(hex)) {
	case "2028":
		return "\u2028"
	case "2029":
		return "\u2029"
	case "fffd":
		return "\ufffd"
	}
	return ""
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// appendBufferJSON appends JSON.stringify(buffer): {"type":"Buffer","data":[...]}.
func appendBufferJSON(dst, b []byte) []byte {
	dst = append(dst, `{"type":"Buffer","data":[`...)
	for i, x := range b {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(x), 10)
	}
	return append(dst, "]}"...)
}

// appendJSString appends s as JSON.stringify writes a string: '"', '\\'
// and control characters escaped (\b \f \n \r \t, else \u00xx), all else
// raw, invalid UTF-8 as U+FFFD (what a JS string made from those bytes
// holds).
func appendJSString(dst []byte, s string) []byte {
	start := len(dst)
	dst = packet.AppendQuote(dst, s)
	// AppendQuote escapes U+2028, U+2029 and invalid UTF-8 as
	// encoding/json does: undo those few.
	if bytes.IndexByte(dst[start:], '\\') < 0 {
		return dst
	}
	q := append([]byte(nil), dst[start:]...)
	return appendNodeJSON(dst[:start], q, nil)
}

// encodeError wraps an encoding error: ErrAck when an argument is a
// function (looked for only once encoding failed), else ErrEncode.
func encodeError(err error, args []any) error {
	for _, a := range args {
		if a != nil && reflect.TypeOf(a).Kind() == reflect.Func {
			return ErrAck
		}
	}
	return fmt.Errorf("%w: %w", ErrEncode, err)
}

// buffers are Emit's scratch space: the arguments' JSON and the message.
// Redis's queue copies the message, so both are reused.
type buffers struct{ js, msg []byte }

// maxPooled bounds the capacity kept in the pool, so that one large
// broadcast does not pin its buffers.
const maxPooled = 64 << 10

var bufferPool = sync.Pool{New: func() any { return &buffers{js: make([]byte, 0, 512), msg: make([]byte, 0, 512)} }}

func getBuffers() *buffers { return bufferPool.Get().(*buffers) }

func putBuffers(b *buffers) {
	if cap(b.js) > maxPooled || cap(b.msg) > maxPooled {
		return
	}
	bufferPool.Put(b)
}
