package msgpack

import (
	"encoding/binary"
	"math"
)

// Type is the family of a msgpack value, as the Reader reports it. Every int
// and uint width is Int, float32 and float64 are Float, and extensions
// (timestamps included) are Ext.
type Type uint8

// The msgpack value families.
const (
	Invalid Type = iota // the reserved byte 0xc1
	Nil                 // nil
	Bool                // false, true
	Int                 // fixint, uint8..uint64, int8..int64
	Float               // float32, float64
	String              // fixstr, str8, str16, str32
	Binary              // bin8, bin16, bin32
	Array               // fixarray, array16, array32
	Map                 // fixmap, map16, map32
	Ext                 // fixext1..16, ext8..32, timestamps included
	numTypes
)

var typeNames = [numTypes]string{
	Invalid: "invalid (0xc1)",
	Nil:     "nil",
	Bool:    "bool",
	Int:     "int",
	Float:   "float",
	String:  "string",
	Binary:  "binary",
	Array:   "array",
	Map:     "map",
	Ext:     "ext",
}

// String returns the family's name: "nil", "int", "string", ...
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return "unknown"
}

// Extension type numbers that mean something to the JS decoders.
const (
	extTimestamp = -1 // msgpack Timestamp (spec), a JS Date
	extNotepack  = 0  // notepack.io 2.x legacy: undefined, Date, ArrayBuffer
)

// head describes the value that starts at b[0]. It is 8 bytes, so that it
// travels in a register.
type head struct {
	n   uint32 // String, Binary, Ext: data bytes; Array, Map: elements (pairs)
	hdr uint8  // header bytes: type byte, length bytes, ext type; for numbers and bools the whole value
	typ Type
	c   byte // the type byte
	ext int8 // Ext: the extension type
}

// size is the length of a value other than an array or map.
func (h head) size() int { return int(h.hdr) + int(h.n) }

// body returns the data of a String, Binary or Ext value at b[0], its
// capacity clipped.
func (h head) body(b []byte) []byte { return b[h.hdr:h.size():h.size()] }

// sizeClass gives, for the type bytes 0xc4..0xdf, the type, the header
// size and how many big-endian length bytes follow the type byte (for
// fixext, the fixed data size instead).
var sizeClass = [32]struct {
	typ    Type
	hdr    uint8 // header bytes in all, including the length bytes
	lenLen uint8 // length bytes after the type byte
	fixed  uint8 // fixext: data bytes
}{
	0xc4 - 0xc0: {typ: Binary, hdr: 2, lenLen: 1},
	0xc5 - 0xc0: {typ: Binary, hdr: 3, lenLen: 2},
	0xc6 - 0xc0: {typ: Binary, hdr: 5, lenLen: 4},
	0xc7 - 0xc0: {typ: Ext, hdr: 3, lenLen: 1},
	0xc8 - 0xc0: {typ: Ext, hdr: 4, lenLen: 2},
	0xc9 - 0xc0: {typ: Ext, hdr: 6, lenLen: 4},
	0xca - 0xc0: {typ: Float, hdr: 5},
	0xcb - 0xc0: {typ: Float, hdr: 9},
	0xcc - 0xc0: {typ: Int, hdr: 2},
	0xcd - 0xc0: {typ: Int, hdr: 3},
	0xce - 0xc0: {typ: Int, hdr: 5},
	0xcf - 0xc0: {typ: Int, hdr: 9},
	0xd0 - 0xc0: {typ: Int, hdr: 2},
	0xd1 - 0xc0: {typ: Int, hdr: 3},
	0xd2 - 0xc0: {typ: Int, hdr: 5},
	0xd3 - 0xc0: {typ: Int, hdr: 9},
	0xd4 - 0xc0: {typ: Ext, hdr: 2, fixed: 1},
	0xd5 - 0xc0: {typ: Ext, hdr: 2, fixed: 2},
	0xd6 - 0xc0: {typ: Ext, hdr: 2, fixed: 4},
	0xd7 - 0xc0: {typ: Ext, hdr: 2, fixed: 8},
	0xd8 - 0xc0: {typ: Ext, hdr: 2, fixed: 16},
	0xd9 - 0xc0: {typ: String, hdr: 2, lenLen: 1},
	0xda - 0xc0: {typ: String, hdr: 3, lenLen: 2},
	0xdb - 0xc0: {typ: String, hdr: 5, lenLen: 4},
	0xdc - 0xc0: {typ: Array, hdr: 3, lenLen: 2},
	0xdd - 0xc0: {typ: Array, hdr: 5, lenLen: 4},
	0xde - 0xc0: {typ: Map, hdr: 3, lenLen: 2},
	0xdf - 0xc0: {typ: Map, hdr: 5, lenLen: 4},
}

// readHead decodes the header of the value at b[0]. It checks that the
// header is complete and that the input can hold what it announces: the
// data of a string, binary or extension, one byte per array element, two per
// map pair. So a hostile length fails here, before anyone allocates for it,
// and it fails with ErrShortBuffer, as a truncated input would.
func readHead(b []byte) (head, error) {
	if len(b) == 0 {
		return head{}, ErrShortBuffer
	}
	c := b[0]
	left := uint64(len(b) - 1)
	switch {
	case c < 0x80 || c >= 0xe0:
		return head{typ: Int, c: c, hdr: 1}, nil
	case c >= 0xa0 && c < 0xc0:
		h := head{typ: String, c: c, hdr: 1, n: uint32(c & 0x1f)}
		if left < uint64(h.n) {
			return h, ErrShortBuffer
		}
		return h, nil
	case c >= 0x90 && c < 0xa0:
		h := head{typ: Array, c: c, hdr: 1, n: uint32(c & 0x0f)}
		if left < uint64(h.n) {
			return h, ErrShortBuffer
		}
		return h, nil
	case c < 0x90:
		h := head{typ: Map, c: c, hdr: 1, n: uint32(c & 0x0f)}
		if left < 2*uint64(h.n) {
			return h, ErrShortBuffer
		}
		return h, nil
	case c == 0xc0:
		return head{typ: Nil, c: c, hdr: 1}, nil
	case c == 0xc1:
		return head{typ: Invalid, c: c, hdr: 1}, ErrReserved
	case c == 0xc2, c == 0xc3:
		return head{typ: Bool, c: c, hdr: 1}, nil
	}
	sc := &sizeClass[c&0x1f]
	h := head{typ: sc.typ, c: c, hdr: sc.hdr}
	if len(b) < int(h.hdr) {
		return h, ErrShortBuffer
	}
	switch sc.lenLen {
	case 0:
		if sc.fixed == 0 {
			return h, nil // a number
		}
		h.n = uint32(sc.fixed)
	case 1:
		h.n = uint32(b[1])
	case 2:
		h.n = uint32(binary.BigEndian.Uint16(b[1:]))
	case 4:
		h.n = binary.BigEndian.Uint32(b[1:])
	}
	if h.typ == Ext {
		h.ext = int8(b[h.hdr-1])
	}
	need := uint64(h.n)
	if h.typ == Map {
		need *= 2
	}
	if uint64(len(b)-int(h.hdr)) < need {
		return h, ErrShortBuffer
	}
	return h, nil
}

// number is an Int or Float value as read: exactly one of the fields is
// meaningful, as kind says.
type number struct {
	kind numKind
	i    int64   // numInt
	u    uint64  // numUint: values above MaxInt64 only
	f    float64 // numFloat: float64, or a float32 widened
}

type numKind uint8

const (
	numInt numKind = iota
	numUint
	numFloat
)

// readNumber decodes an Int or Float value whose header is h and whose
// bytes are b[:h.hdr].
func readNumber(b []byte, h head) number {
	c := h.c
	switch {
	case c < 0x80:
		return number{i: int64(c)}
	case c >= 0xe0:
		return number{i: int64(int8(c))}
	}
	switch c {
	case 0xca:
		return number{kind: numFloat, f: float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:])))}
	case 0xcb:
		return number{kind: numFloat, f: math.Float64frombits(binary.BigEndian.Uint64(b[1:]))}
	case 0xcc:
		return number{i: int64(b[1])}
	case 0xcd:
		return number{i: int64(binary.BigEndian.Uint16(b[1:]))}
	case 0xce:
		return number{i: int64(binary.BigEndian.Uint32(b[1:]))}
	case 0xcf:
		u := binary.BigEndian.Uint64(b[1:])
		if u > math.MaxInt64 {
			return number{kind: numUint, u: u}
		}
		return number{i: int64(u)}
	case 0xd0:
		return number{i: int64(int8(b[1]))}
	case 0xd1:
		return number{i: int64(int16(binary.BigEndian.Uint16(b[1:])))}
	case 0xd2:
		return number{i: int64(int32(binary.BigEndian.Uint32(b[1:])))}
	default: // 0xd3
		return number{i: int64(binary.BigEndian.Uint64(b[1:]))}
	}
}

// float returns the number as the double a JS decoder makes of it
// (notepack.io and @msgpack/msgpack compute hi*2^32+lo for 64-bit ints,
// which is the correctly rounded double).
func (n number) float() float64 {
	switch n.kind {
	case numUint:
		return float64(n.u)
	case numFloat:
		return n.f
	}
	return float64(n.i)
}
