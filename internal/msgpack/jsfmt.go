package msgpack

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sioloop/sioloop/internal/jsonstr"
)

// jsNumberString appends f as JS Number.prototype.toString (radix 10)
// writes it: the shortest digits that round-trip (as strconv's shortest
// formatting, both pick the digits closest to f), plain notation for
// decimal exponents from -7 to 20 and exponent notation ("1e+21",
// "1.5e-7") outside, -0 as "0", and "NaN", "Infinity", "-Infinity". JSON
// callers turn non-finite values into null before calling.
func jsNumberString(dst []byte, f float64) []byte {
	switch {
	case f == 0:
		return append(dst, '0') // -0 too
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == math.Trunc(f) && f > -1<<53 && f < 1<<53:
		return strconv.AppendInt(dst, int64(f), 10)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest digits in exponent form: "d.ddde±XX" or "de±XX".
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	var digits [24]byte
	k := 0
	i := 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[k] = e[i]
			k++
		}
	}
	exp := 0
	neg := e[i+1] == '-'
	for _, c := range e[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if neg {
		exp = -exp
	}
	// Value = 0.d1d2...dk × 10^n in the terms of the ECMAScript algorithm.
	n := exp + 1
	d := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for j := k; j < n; j++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for j := n; j < 0; j++ {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// appendJSONFloat appends f as JSON.stringify does: null for NaN and ±Inf.
func appendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return jsNumberString(dst, f)
}

// plainJSONChunk reports whether the 8 bytes in x are ASCII that a JSON
// string holds as they are: no control characters, '"' or '\\'.
func plainJSONChunk(x uint64) bool { return !jsonstr.NonASCII(x) && !jsonstr.Stop(x) }

// appendJSONString appends s as JSON.stringify writes the JS string that a
// JS decoder makes of the UTF-8 bytes s: '"', '\\', \b \f \n \r \t and the
// other control characters (\u00XX) escaped, everything else raw (U+2028
// and U+2029 too). Invalid UTF-8 becomes U+FFFD once per maximal subpart,
// as the WHATWG decoder (Buffer.toString, TextDecoder) does it.
func appendJSONString(dst []byte, s []byte) []byte {
	return jsonstr.AppendQuoted(dst, s, stringifyNonASCII)
}

// stringifyNonASCII is appendJSONString's rule for the non-ASCII bytes at
// the start of s: the run of valid runes stays raw; an invalid sequence
// becomes one U+FFFD.
func stringifyNonASCII(s []byte) (int, string) {
	n := 0
	for n < len(s) && s[n] >= utf8.RuneSelf {
		r, size := utf8.DecodeRune(s[n:])
		if r == utf8.RuneError && size == 1 {
			if n > 0 {
				return n, "" // the run before it first
			}
			return maximalSubpart(s), "\uFFFD"
		}
		n += size
	}
	return n, ""
}

// maximalSubpart returns how many bytes of b, which starts with an invalid
// UTF-8 sequence, one U+FFFD replaces under the WHATWG UTF-8 decoder: the
// longest prefix of a well-formed sequence, at least one byte.
func maximalSubpart(b []byte) int {
	need := 0
	lo, hi := byte(0x80), byte(0xbf)
	switch c := b[0]; {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c == 0xe0:
		need, lo = 2, 0xa0
	case c == 0xed:
		need, hi = 2, 0x9f
	case c >= 0xe1 && c <= 0xef:
		need = 2
	case c == 0xf0:
		need, lo = 3, 0x90
	case c >= 0xf1 && c <= 0xf3:
		need = 3
	case c == 0xf4:
		need, hi = 3, 0x8f
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			return i
		}
		lo, hi = 0x80, 0xbf
	}
	return i
}

// maxTimeMs is the JS Date range: ±8.64e15 ms around the epoch.
const maxTimeMs = 8.64e15

// appendJSDate appends the JSON of new Date(t): null for an invalid date,
// else the quoted toISOString, "YYYY-MM-DDTHH:mm:ss.sssZ" with a signed
// six-digit year outside 0..9999.
func appendJSDate(dst []byte, t float64) []byte {
	if math.IsNaN(t) || math.Abs(t) > maxTimeMs {
		return append(dst, "null"...) // also ±Inf
	}
	ms := int64(t) // TimeClip truncates toward zero
	tm := time.UnixMilli(ms).UTC()
	year, month, day := tm.Date()
	hour, min, sec := tm.Clock()
	dst = append(dst, '"')
	switch {
	case year < 0:
		dst = append(dst, '-')
		dst = appendPadded(dst, -year, 6)
	case year > 9999:
		dst = append(dst, '+')
		dst = appendPadded(dst, year, 6)
	default:
		dst = appendPadded(dst, year, 4)
	}
	dst = append(dst, '-')
	dst = appendPadded(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendPadded(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, min, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, sec, 2)
	dst = append(dst, '.')
	dst = appendPadded(dst, tm.Nanosecond()/1e6, 3)
	return append(dst, 'Z', '"')
}

// appendPadded appends the non-negative v in decimal, zero-padded to width
// digits.
func appendPadded(dst []byte, v, width int) []byte {
	var tmp [12]byte
	i := len(tmp)
	for v > 0 || i > len(tmp)-width {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, tmp[i:]...)
}

// timestampMs returns the JS time value (before TimeClip) that both JS
// decoders compute for a Timestamp extension's data: sec*1e3 + nsec/1e6 in
// doubles. ok is false for a length other than 4, 8 or 12.
func timestampMs(data []byte) (t float64, ok bool) {
	var sec, nsec float64
	switch len(data) {
	case 4:
		sec = float64(binary.BigEndian.Uint32(data))
	case 8:
		v := binary.BigEndian.Uint64(data)
		nsec = float64(v >> 34)
		sec = float64(v & (1<<34 - 1))
	case 12:
		nsec = float64(binary.BigEndian.Uint32(data))
		// JS: getInt32(hi) * 2^32 + getUint32(lo), one rounding, which is
		// the correctly rounded conversion of the int64.
		sec = float64(int64(binary.BigEndian.Uint64(data[4:])))
	default:
		return 0, false
	}
	// The explicit conversion keeps the compiler from fusing the multiply
	// and the add, which JS rounds separately.
	return float64(sec*1e3) + nsec/1e6, true
}
