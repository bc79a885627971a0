package msgpack

import (
	"encoding/binary"
	"math"
)

// The writers append one msgpack item to dst and return the extended slice,
// in the manner of strconv.AppendInt. Each picks the form notepack.io 3
// picks for the same JS value: the smallest header, str8 for strings of 32
// to 255 bytes, unsigned forms for non-negative integers and signed forms
// for negative ones, float64 (never float32) for other numbers. Strings and
// binaries of 2^32 bytes or more cannot be expressed in msgpack; the writers
// panic on them, as a caller's bug (the transcoders return ErrTooLarge
// instead).

// AppendArrayHeader appends the header of an array of n elements (fixarray,
// array16 or array32); the caller appends the n elements after it.
func AppendArrayHeader(dst []byte, n uint32) []byte {
	return appendCount(dst, n, 0x90, 0xdc)
}

// AppendStrings appends an array of strings, the form of a broadcast's
// rooms and except rooms in every adapter's and the emitter's messages.
func AppendStrings(dst []byte, ss []string) []byte {
	dst = AppendArrayHeader(dst, uint32(len(ss)))
	for _, s := range ss {
		dst = AppendString(dst, s)
	}
	return dst
}

// AppendMapHeader appends the header of a map of n key/value pairs (fixmap,
// map16 or map32); the caller appends 2n items after it, key first.
func AppendMapHeader(dst []byte, n uint32) []byte {
	return appendCount(dst, n, 0x80, 0xde)
}

// appendCount writes an array (fix 0x90, c16 0xdc) or map (0x80, 0xde)
// header; the 32-bit form is c16+1.
func appendCount(dst []byte, n uint32, fix, c16 byte) []byte {
	switch {
	case n < 16:
		return append(dst, fix|byte(n))
	case n <= math.MaxUint16:
		return append(dst, c16, byte(n>>8), byte(n))
	default:
		return append(dst, c16+1, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendString appends s as a msgpack string (fixstr, str8, str16 or
// str32). s is written as it is; notepack.io writes the UTF-8 of a JS
// string, so s should be valid UTF-8.
func AppendString(dst []byte, s string) []byte {
	return append(appendStrHeader(dst, len(s)), s...)
}

// AppendStringBytes is AppendString for a byte slice.
func AppendStringBytes(dst []byte, s []byte) []byte {
	return append(appendStrHeader(dst, len(s)), s...)
}

func appendStrHeader(dst []byte, n int) []byte {
	switch {
	case n < 32:
		return append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return append(dst, 0xda, byte(n>>8), byte(n))
	case uint64(n) <= math.MaxUint32:
		return append(dst, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	panic("msgpack: string of 4 GiB or more")
}

// strHeaderLen is the size of appendStrHeader's header for n bytes.
func strHeaderLen(n int) int {
	switch {
	case n < 32:
		return 1
	case n <= math.MaxUint8:
		return 2
	case n <= math.MaxUint16:
		return 3
	}
	return 5
}

// putStrHeader writes the header for n bytes into h, which is exactly
// strHeaderLen(n) long.
func putStrHeader(h []byte, n int) {
	switch len(h) {
	case 1:
		h[0] = 0xa0 | byte(n)
	case 2:
		h[0], h[1] = 0xd9, byte(n)
	case 3:
		h[0] = 0xda
		binary.BigEndian.PutUint16(h[1:], uint16(n))
	default:
		h[0] = 0xdb
		binary.BigEndian.PutUint32(h[1:], uint32(n))
	}
}

// AppendBin appends b as msgpack binary (bin8, bin16 or bin32), which both
// JS decoders turn into a Buffer / Uint8Array, i.e. a socket.io binary
// attachment.
func AppendBin(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, 0xc5, byte(n>>8), byte(n))
	case uint64(n) <= math.MaxUint32:
		dst = append(dst, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		panic("msgpack: binary of 4 GiB or more")
	}
	return append(dst, b...)
}

// AppendInt appends i in the smallest integer form: positive fixint, uint8,
// uint16, uint32 or uint64 when i >= 0; negative fixint, int8, int16, int32
// or int64 otherwise.
func AppendInt(dst []byte, i int64) []byte {
	if i >= 0 {
		return AppendUint(dst, uint64(i))
	}
	switch {
	case i >= -32:
		return append(dst, byte(i))
	case i >= math.MinInt8:
		return append(dst, 0xd0, byte(i))
	case i >= math.MinInt16:
		return append(dst, 0xd1, byte(i>>8), byte(i))
	case i >= math.MinInt32:
		return append(dst, 0xd2, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(i))
}

// AppendUint appends u in the smallest unsigned form: positive fixint,
// uint8, uint16, uint32 or uint64.
func AppendUint(dst []byte, u uint64) []byte {
	switch {
	case u < 0x80:
		return append(dst, byte(u))
	case u <= math.MaxUint8:
		return append(dst, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return append(dst, 0xcd, byte(u>>8), byte(u))
	case u <= math.MaxUint32:
		return append(dst, 0xce, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), u)
}

// AppendFloat appends f as a float64, whatever its value. To write a JS
// number the way notepack.io does (integers as ints), use AppendNumber.
func AppendFloat(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
}

// AppendNumber appends the JS number f as notepack.io 3 encodes it: an
// integral value in [-2^63, 2^64) as AppendInt/AppendUint would write it
// (-0 is written as 0), anything else (fractions, ±Inf, NaN) as a float64.
//
// One deliberate difference: notepack.io also writes integral values
// outside [-2^63, 2^64) as int64/uint64, wrapped modulo 2^64 by JS's
// ToInt32/ToUint32 (1e300 becomes cf 00 00 00 00 00 00 00 00, which decodes
// as 0). AppendNumber writes those as float64, so that receivers get the
// number itself.
func AppendNumber(dst []byte, f float64) []byte {
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return AppendFloat(dst, f) // NaN fails the first test
	}
	switch {
	case f >= 0 && f < 1<<64:
		return AppendUint(dst, uint64(f))
	case f < 0 && f >= -1<<63:
		return AppendInt(dst, int64(f))
	}
	return AppendFloat(dst, f)
}

// AppendBool appends true (0xc3) or false (0xc2).
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendNil appends nil (0xc0), which JS decoders turn into null.
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }
