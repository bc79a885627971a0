package packet

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// maxEncodeDepth bounds AppendArgs' recursion through []any,
// map[string]any and the values it walks with reflect, so that a value
// containing itself fails instead of overflowing the stack; it matches
// encoding/json's nesting limit.
const maxEncodeDepth = 10000

var (
	errEncodeDepth = errors.New("packet: argument nested too deep (cyclic?)")
	errFloat       = errors.New("packet: unsupported float value (NaN or Inf)")
)

// AppendArgs appends the JSON array for an event or ack to dst: eventName
// first when it is not "" (an event), then args in order. It returns the
// extended buffer and the binary attachments in placeholder order.
//
// Encoding rules:
//   - Every byte slice is an attachment, written as
//     {"_placeholder":true,"num":N} with N counted depth-first in output
//     order, wherever it is: at the top level, inside []any and
//     map[string]any, and in struct fields, pointers, typed slices, arrays
//     and maps at any depth. A byte slice is []byte or any slice type that
//     encoding/json would write as base64 (named types such as
//     type Blob []byte included). The returned attachments alias the
//     caller's slices: keep them unmodified until they are written.
//   - Below a struct, a pointer, or a container other than []any,
//     map[string]any, [][]byte and map[string][]byte, everything follows
//     encoding/json (with byte slices as attachments): there a nil byte
//     slice is null, as encoding/json writes it (socket.io sees no binary
//     there), and an empty one is an empty attachment. A nil []byte given
//     as an argument, or reached from the arguments through those four
//     types only, is an empty attachment.
//   - Structs are written by encoding/json itself (see the last point):
//     json tag names, "-", omitempty (an empty []byte is omitted),
//     omitzero, the string option, promoted fields of embedded structs,
//     unexported fields skipped. A type implementing json.Marshaler or
//     encoding.TextMarshaler is written by its method and not looked
//     into (with a pointer receiver, only when addressable, as
//     encoding/json does), so json.RawMessage stays raw JSON and is never
//     an attachment.
//   - A byte array ([N]byte) is not an attachment: it stays an array of
//     numbers, as in encoding/json.
//   - json.RawMessage given as an argument, or reached through []any and
//     map[string]any only, is written verbatim (empty means null); it must
//     be valid JSON, it is not checked. Below a struct or typed container
//     encoding/json writes it (checked and compacted).
//   - Maps are written with sorted keys, as encoding/json does.
//   - Values whose type cannot hold a byte slice (no []byte, interface or
//     any inside, looked up once per type) go to encoding/json whole, with
//     HTML escaping off, so their output is what encoding/json gives.
//     A value whose type can hold one is first copied into a shadow value
//     of the same shape (a type built once with reflect.StructOf and its
//     kin, with the same field names, tags and embedding) in which each
//     byte slice is a value whose MarshalJSON writes the placeholder and
//     records the attachment; encoding/json then encodes the shadow, also
//     with HTML escaping off, so it applies its own struct rules and the
//     JSON is what encoding/json gives with byte slices replaced by
//     placeholders. Only omitempty and omitzero of fields whose type holds
//     a byte slice are decided on the original value, as encoding/json
//     documents them (an IsZero method is called). The copy is bounded
//     as for []any (10000 levels, then an error), in place of
//     encoding/json's cycle check; it allocates, where the plain path
//     does not.
//   - A type holding a struct that embeds itself (directly or through
//     other embedded structs, by value or pointer), or an unexported
//     embedded struct written under a json tag name whose pointer has a
//     marshal or IsZero method, or whose shadow reflect cannot build, is
//     left to encoding/json whole: its byte slices are base64 strings.
//
// Without attachments the packet type is Event/Ack, with them
// BinaryEvent/BinaryAck with Attachments = len(attachments). On error dst is
// returned unextended and attachments is nil.
func AppendArgs(dst []byte, eventName string, args []any) (out []byte, attachments [][]byte, err error) {
	start := len(dst)
	dst = append(dst, '[')
	first := true
	if eventName != "" {
		dst = AppendQuote(dst, eventName)
		first = false
	}
	for _, a := range args {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		if dst, attachments, err = appendValue(dst, a, attachments, 0); err != nil {
			return dst[:start], nil, err
		}
	}
	return append(dst, ']'), attachments, nil
}

// AppendArgsPacket appends a whole EVENT or ACK packet (p's Type, Namespace
// and ID; p.Data is not used) whose data is eventName and args as
// AppendArgs encodes them, written once in place. With attachments the
// packet becomes a BINARY_EVENT or BINARY_ACK: its header, written first,
// is then moved to take the attachment count, which shifts the data once.
// On error dst is returned unextended and attachments is nil.
func AppendArgsPacket(dst []byte, p *Packet, eventName string, args []any) (out []byte, attachments [][]byte, err error) {
	start := len(dst)
	head := Packet{Type: p.Type, Namespace: p.Namespace, ID: p.ID}
	dst = AppendEncode(dst, &head)
	if dst, attachments, err = AppendArgs(dst, eventName, args); err != nil {
		return dst[:start], nil, err
	}
	if len(attachments) == 0 {
		return dst, nil, nil
	}
	var num [24]byte
	count := append(strconv.AppendInt(num[:0], int64(len(attachments)), 10), '-')
	n := len(dst)
	dst = append(dst, count...)
	copy(dst[start+1+len(count):], dst[start+1:n])
	copy(dst[start+1:], count)
	if p.Type == Ack {
		dst[start] = '0' + byte(BinaryAck)
	} else {
		dst[start] = '0' + byte(BinaryEvent)
	}
	return dst, attachments, nil
}

func appendPlaceholder(dst []byte, bin []byte, atts [][]byte) ([]byte, [][]byte) {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(len(atts)), 10)
	return append(dst, '}'), append(atts, bin)
}

func appendValue(dst []byte, v any, atts [][]byte, depth int) ([]byte, [][]byte, error) {
	if depth > maxEncodeDepth {
		return dst, atts, errEncodeDepth
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), atts, nil
	case json.RawMessage:
		if len(x) == 0 {
			return append(dst, "null"...), atts, nil
		}
		return append(dst, x...), atts, nil
	case []byte:
		dst, atts = appendPlaceholder(dst, x, atts)
		return dst, atts, nil
	case string:
		return AppendQuote(dst, x), atts, nil
	case bool:
		return strconv.AppendBool(dst, x), atts, nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int64:
		return strconv.AppendInt(dst, x, 10), atts, nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), atts, nil
	case float64:
		dst, err = appendFloat(dst, x, 64)
		return dst, atts, err
	case float32:
		dst, err = appendFloat(dst, float64(x), 32)
		return dst, atts, err
	case []any:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, atts, err = appendValue(dst, e, atts, depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case [][]byte:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst, atts = appendPlaceholder(dst, e, atts)
		}
		return append(dst, ']'), atts, nil
	case map[string][]byte:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		return appendMap(dst, x, atts, depth)
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		return appendMap(dst, x, atts, depth)
	default:
		if sh := shadowOf(reflect.TypeOf(v)); sh != nil {
			return appendShadow(dst, reflect.ValueOf(v), sh, atts, depth)
		}
		dst, err = appendJSON(dst, v)
		return dst, atts, err
	}
}

// appendMap writes m with sorted keys, as encoding/json does. It lives
// apart from appendValue so that the key buffer is on the stack only here,
// not in every recursive frame.
func appendMap[V any](dst []byte, m map[string]V, atts [][]byte, depth int) ([]byte, [][]byte, error) {
	// Up to 16 keys sort without allocating.
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(AppendQuote(dst, k), ':')
		if dst, atts, err = appendValue(dst, m[k], atts, depth+1); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, '}'), atts, nil
}

// appendFloat formats f like encoding/json: shortest representation, 'e'
// notation outside [1e-6, 1e21), exponent without a leading zero.
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, errFloat
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// e-09 → e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// appendWriter is an io.Writer that appends to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// jsonEncoder pairs a json.Encoder (HTML escaping off) with its sink so both
// can be reused: json.NewEncoder allocates, and json.Marshal cannot turn
// HTML escaping off.
type jsonEncoder struct {
	w   appendWriter
	enc *json.Encoder
}

var encoderPool = sync.Pool{New: func() any {
	e := new(jsonEncoder)
	e.enc = json.NewEncoder(&e.w)
	e.enc.SetEscapeHTML(false)
	return e
}}

// appendJSON appends v encoded by encoding/json, without the trailing newline
// json.Encoder adds.
func appendJSON(dst []byte, v any) ([]byte, error) {
	e := encoderPool.Get().(*jsonEncoder)
	e.w.b = dst
	err := e.enc.Encode(v)
	out := e.w.b
	e.w.b = nil // do not keep the caller's buffer alive in the pool
	encoderPool.Put(e)
	if err != nil {
		return dst, err
	}
	return out[:len(out)-1], nil
}

// SplitArgs splits the JSON array arr into its top-level elements, without
// copying or unmarshalling: `["chat",{"a":1},2]` gives `"chat"`, `{"a":1}`,
// `2`. Elements are trimmed of whitespace and alias arr. It returns ErrJSON
// (or ErrDepth) when arr is not a valid JSON array.
func SplitArgs(arr []byte) ([][]byte, error) {
	return AppendSplitArgs(nil, arr)
}

// AppendSplitArgs is SplitArgs appending the elements to dst, so that a
// reused dst makes it allocation-free. On error dst is returned unextended.
func AppendSplitArgs(dst [][]byte, arr []byte) ([][]byte, error) {
	start := len(dst)
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return dst, ErrJSON
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		i++
	} else {
		for {
			end, err := scanValue(arr, i, 1, nil)
			if err != nil {
				return dst[:start], err
			}
			dst = append(dst, arr[i:end])
			i = skipSpace(arr, end)
			if i >= len(arr) {
				return dst[:start], ErrJSON
			}
			if arr[i] == ']' {
				i++
				break
			}
			if arr[i] != ',' {
				return dst[:start], ErrJSON
			}
			i = skipSpace(arr, i+1)
		}
	}
	if skipSpace(arr, i) != len(arr) {
		return dst[:start], ErrJSON
	}
	return dst, nil
}
