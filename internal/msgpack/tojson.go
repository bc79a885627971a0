package msgpack

import (
	"encoding/binary"
	"strconv"
)

// MaxDepth bounds the nesting of arrays and maps that AppendToJSON accepts
// and of JSON arrays and objects that AppendJSON accepts: 1000 levels, far
// above anything socket.io sends (sio's own packet decoder stops at 32) and
// shallow enough for the recursion to stay within a few hundred KiB of
// stack.
const MaxDepth = 1000

// AppendToJSON transcodes the one msgpack value at the front of mp to
// socket.io JSON and appends it to dst. It returns the extended dst, atts
// with the value's binaries appended, and the bytes of mp after the value.
// It is the inverse of AppendJSON, and it writes what JSON.stringify would
// write for the value notepack.io 3 decodes, with socket.io's binary
// convention on top:
//
//   - bin8/16/32 becomes {"_placeholder":true,"num":N}, its bytes appended
//     to atts at index N (so N counts from len(atts) on entry). The
//     attachments alias mp (capacity clipped): copy them, or keep mp
//     unchanged, for as long as they are used.
//   - nil is null, booleans are true/false.
//   - Every int width is its exact decimal, also for uint64/int64 beyond
//     2^53, where JS decoders produce the nearest double (a JS client
//     parses either text to that same double).
//   - float32 and float64 are written as JS Number.prototype.toString
//     writes the double (float32 widened first, as readFloatBE does):
//     shortest round-trip digits, 1e+21, 1.5e-7, 123456789012345680000;
//     -0 is 0; NaN and ±Inf are null, as JSON.stringify writes them.
//   - Strings are escaped as JSON.stringify does (\" \\ \b \f \n \r \t,
//     other control characters as \u00XX, nothing else). Invalid UTF-8 is
//     replaced by U+FFFD per maximal subpart, as Buffer.toString (notepack)
//     and TextDecoder (@msgpack/msgpack, for strings over 200 bytes) do;
//     @msgpack/msgpack's own decoder for shorter strings does not validate
//     and yields other characters, so that peer differs for invalid input.
//   - Map keys: strings as themselves; ints and floats as the JS string of
//     the double ("12", "1.5", "NaN", "-Infinity", and for a uint64 key
//     2^64-1 "18446744073709552000", since keys compare as strings); nil, true and false as
//     "null", "true", "false", as notepack's String(key) gives. Arrays,
//     maps, binaries and extensions as keys are ErrMapKey (notepack would
//     stringify them oddly, @msgpack/msgpack refuses them). Duplicate keys
//     are kept in order: a JS JSON.parse keeps the last, as a JS decoder
//     would. A "__proto__" key is dropped with its value, as notepack's
//     plain assignment drops it (@msgpack/msgpack refuses it).
//   - Extension -1 (Timestamp, 4, 8 or 12 data bytes, in any ext header) is
//     the JSON of the JS Date, "2026-12-01T19:35:10.291Z" (ms precision,
//     truncated; years outside 0..9999 as ±YYYYYY), or null when the Date
//     is invalid (beyond ±8.64e15 ms). Other lengths are ErrTimestamp.
//   - Extension 0 follows notepack.io's legacy forms: fixext1 is undefined
//     (null in an array, the member dropped in a map, null at the top),
//     fixext8 is a Date of int64 milliseconds, ext8/16/32 is an ArrayBuffer
//     (a placeholder like bin).
//   - Any other extension (and ext 0 as fixext2/4/16) is notepack's
//     [type, Buffer]: [T,{"_placeholder":true,"num":N}].
//
// Errors: ErrShortBuffer when mp ends inside the value (any proper prefix
// of a valid value gets it), including a header whose length or count is
// larger than what is left, which is checked before anything is appended;
// ErrDepth beyond MaxDepth; ErrReserved, ErrMapKey, ErrTimestamp. On error
// dst and atts are returned unextended (the appended elements of atts may
// have been overwritten) and rest is mp. mp must not share memory with
// dst's spare capacity. AppendToJSON never panics.
func AppendToJSON(dst []byte, mp []byte, atts [][]byte) (json []byte, attsOut [][]byte, rest []byte, err error) {
	d := toJSON{atts: atts}
	start := len(dst)
	out, rest, undef, err := d.value(dst, mp, 0)
	if err != nil {
		return dst[:start], atts, mp, err
	}
	if undef {
		out = append(out, "null"...)
	}
	return out, d.atts, rest, nil
}

type toJSON struct {
	atts [][]byte
}

// value appends the JSON of the value at b[0] and returns the bytes after
// it. undef reports notepack's undefined, for which nothing was appended.
func (d *toJSON) value(dst, b []byte, depth int) (out, rest []byte, undef bool, err error) {
	// Fast paths for the commonest items: fixstr and positive fixint.
	if len(b) > 0 {
		if c := b[0]; c >= 0xa0 && c < 0xc0 {
			if n := int(c&0x1f) + 1; n <= len(b) {
				return appendJSONString(dst, b[1:n]), b[n:], false, nil
			}
		} else if c < 0x80 {
			return strconv.AppendUint(dst, uint64(c), 10), b[1:], false, nil
		}
	}
	h, err := readHead(b)
	if err != nil {
		return dst, b, false, err
	}
	switch h.typ {
	case Nil:
		dst = append(dst, "null"...)
	case Bool:
		if h.c == 0xc3 {
			dst = append(dst, "true"...)
		} else {
			dst = append(dst, "false"...)
		}
	case Int, Float:
		dst = appendJSONNum(dst, readNumber(b, h))
	case String:
		dst = appendJSONString(dst, h.body(b))
	case Binary:
		dst = d.placeholder(dst, h.body(b))
	case Ext:
		var u bool
		if dst, u, err = d.ext(dst, h, h.body(b)); err != nil {
			return dst, b, false, err
		}
		return dst, b[h.size():], u, nil
	case Array:
		return d.array(dst, b, h, depth+1)
	case Map:
		return d.object(dst, b, h, depth+1)
	}
	return dst, b[h.size():], false, nil
}

func appendJSONNum(dst []byte, n number) []byte {
	switch n.kind {
	case numInt:
		return strconv.AppendInt(dst, n.i, 10)
	case numUint:
		return strconv.AppendUint(dst, n.u, 10)
	}
	return appendJSONFloat(dst, n.f)
}

func (d *toJSON) placeholder(dst, bin []byte) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(len(d.atts)), 10)
	d.atts = append(d.atts, bin)
	return append(dst, '}')
}

func (d *toJSON) ext(dst []byte, h head, data []byte) ([]byte, bool, error) {
	switch {
	case h.ext == extTimestamp:
		t, ok := timestampMs(data)
		if !ok {
			return dst, false, ErrTimestamp
		}
		return appendJSDate(dst, t), false, nil
	case h.ext == extNotepack && h.c == 0xd4:
		return dst, true, nil
	case h.ext == extNotepack && h.c == 0xd7:
		// notepack 2: readInt32BE(hi) * 2^32 + readUInt32BE(lo) ms.
		return appendJSDate(dst, float64(int64(binary.BigEndian.Uint64(data)))), false, nil
	case h.ext == extNotepack && h.c >= 0xc7 && h.c <= 0xc9:
		return d.placeholder(dst, data), false, nil
	}
	dst = append(dst, '[')
	dst = strconv.AppendInt(dst, int64(h.ext), 10)
	dst = append(dst, ',')
	dst = d.placeholder(dst, data)
	return append(dst, ']'), false, nil
}

func (d *toJSON) array(dst, b []byte, h head, depth int) ([]byte, []byte, bool, error) {
	if depth > MaxDepth {
		return dst, b, false, ErrDepth
	}
	b = b[h.hdr:]
	dst = append(dst, '[')
	for i := uint32(0); i < h.n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		var undef bool
		var err error
		if dst, b, undef, err = d.value(dst, b, depth); err != nil {
			return dst, b, false, err
		}
		if undef {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, ']'), b, false, nil
}

func (d *toJSON) object(dst, b []byte, h head, depth int) ([]byte, []byte, bool, error) {
	if depth > MaxDepth {
		return dst, b, false, ErrDepth
	}
	b = b[h.hdr:]
	dst = append(dst, '{')
	empty := true
	for i := uint32(0); i < h.n; i++ {
		mark, marks := len(dst), len(d.atts)
		if !empty {
			dst = append(dst, ',')
		}
		var drop, undef bool
		var err error
		if dst, b, drop, err = d.key(dst, b); err != nil {
			return dst, b, false, err
		}
		dst = append(dst, ':')
		if dst, b, undef, err = d.value(dst, b, depth); err != nil {
			return dst, b, false, err
		}
		if drop || undef {
			dst, d.atts = dst[:mark], d.atts[:marks] // with its binaries
			continue
		}
		empty = false
	}
	return append(dst, '}'), b, false, nil
}

// key appends a map key as a JSON string. proto reports the key
// "__proto__", whose member notepack's decoder never keeps.
func (d *toJSON) key(dst, b []byte) (out, rest []byte, proto bool, err error) {
	if len(b) > 0 && b[0] >= 0xa0 && b[0] < 0xc0 && b[0] != 0xa9 { // fixstr, not 9 bytes long like "__proto__"
		if n := int(b[0]&0x1f) + 1; n <= len(b) {
			return appendJSONString(dst, b[1:n]), b[n:], false, nil
		}
	}
	h, err := readHead(b)
	if err != nil {
		return dst, b, false, err
	}
	switch h.typ {
	case String:
		s := h.body(b)
		dst = appendJSONString(dst, s)
		proto = string(s) == "__proto__"
	case Int, Float:
		dst = append(dst, '"')
		dst = appendKeyNum(dst, readNumber(b, h))
		dst = append(dst, '"')
	case Nil:
		dst = append(dst, `"null"`...)
	case Bool:
		if h.c == 0xc3 {
			dst = append(dst, `"true"`...)
		} else {
			dst = append(dst, `"false"`...)
		}
	default:
		return dst, b, false, ErrMapKey
	}
	return dst, b[h.size():], proto, nil
}

// appendKeyNum appends n as JS String(n) writes the number a JS decoder
// makes of it. Unlike in values, a 64-bit integer beyond 2^53 is written as
// its double ("18446744073709552000"): a key is compared as a string.
func appendKeyNum(dst []byte, n number) []byte {
	return jsNumberString(dst, n.float())
}
