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
	Nil
	Bool
	Int
	Float
	String
	Binary
	Array
	Map
	Ext
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

// head describes the value that starts at b[0].
type head struct {
	typ Type
	c   byte   // the type byte
	hdr int    // header bytes: type byte, length bytes, ext type; for numbers and bools the whole value
	n   uint64 // String, Binary, Ext: data bytes; Array, Map: elements (pairs)
	ext int8   // Ext: the extension type
}

// size is the length of a value other than an array or map.
func (h head) size() int { return h.hdr + int(h.n) }

// sizeClass gives, for the type bytes 0xc4..0xdf, the header size and how
// many big-endian length bytes follow the type byte (0 for fixed-size
// values). Bytes outside the range are handled in readHead.
var sizeClass = [32]struct {
	typ    Type
	hdr    uint8 // header bytes in all, including the length bytes
	lenLen uint8 // length bytes after the type byte
	fixed  uint8 // fixext: data bytes; float/int: 0
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
	switch {
	case c < 0x80, c >= 0xe0:
		return head{typ: Int, c: c, hdr: 1}, nil
	case c < 0x90:
		return checkCount(b, head{typ: Map, c: c, hdr: 1, n: uint64(c & 0x0f)})
	case c < 0xa0:
		return checkCount(b, head{typ: Array, c: c, hdr: 1, n: uint64(c & 0x0f)})
	case c < 0xc0:
		return checkData(b, head{typ: String, c: c, hdr: 1, n: uint64(c & 0x1f)})
	case c == 0xc0:
		return head{typ: Nil, c: c, hdr: 1}, nil
	case c == 0xc1:
		return head{typ: Invalid, c: c, hdr: 1}, ErrReserved
	case c == 0xc2, c == 0xc3:
		return head{typ: Bool, c: c, hdr: 1}, nil
	}
	sc := sizeClass[c-0xc0]
	h := head{typ: sc.typ, c: c, hdr: int(sc.hdr)}
	if len(b) < h.hdr {
		return h, ErrShortBuffer
	}
	switch sc.lenLen {
	case 1:
		h.n = uint64(b[1])
	case 2:
		h.n = uint64(binary.BigEndian.Uint16(b[1:]))
	case 4:
		h.n = uint64(binary.BigEndian.Uint32(b[1:]))
	}
	switch sc.typ {
	case Ext:
		if sc.fixed != 0 {
			h.n = uint64(sc.fixed)
		}
		h.ext = int8(b[h.hdr-1])
		return checkData(b, h)
	case Binary, String:
		return checkData(b, h)
	case Array, Map:
		return checkCount(b, h)
	}
	return h, nil
}

func checkData(b []byte, h head) (head, error) {
	if len(b) < h.hdr || uint64(len(b)-h.hdr) < h.n {
		return h, ErrShortBuffer
	}
	return h, nil
}

func checkCount(b []byte, h head) (head, error) {
	min := h.n
	if h.typ == Map {
		min *= 2
	}
	if uint64(len(b)-h.hdr) < min {
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
