package msgpack

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/sioloop/sioloop/internal/jsonstr"
)

// AppendJSON transcodes the one JSON value in js (surrounding whitespace
// allowed) to msgpack and appends it to dst: the bytes notepack.io 3
// encode(JSON.parse(js)) produces, with socket.io's binary placeholders
// replaced by the attachments. js and atts are not modified or retained;
// neither may share memory with dst's spare capacity.
//
//   - Placeholders: when atts is not empty, every object whose
//     "_placeholder" member is the literal true is a placeholder, as in
//     socket.io-parser's reconstructPacket (data._placeholder === true):
//     extra members are ignored, the last of duplicate keys counts, key
//     escapes count ("\u005fplaceholder" is "_placeholder"). Its "num" must
//     be an integral number with 0 <= num < len(atts) (3, 3.0, 3e0 and -0
//     count; fractions, strings and a missing num do not), and the whole
//     object becomes bin8/16/32 of atts[num]; otherwise AppendJSON fails
//     with ErrPlaceholder, as reconstructPacket throws "illegal
//     attachments". A placeholder's members are never looked at beyond
//     that, even when they hold invalid placeholders. With atts empty (a
//     plain event, which socket.io never reconstructs) nothing is a
//     placeholder and such objects are ordinary maps.
//   - Objects become maps with the keys in JS property order, as
//     Object.keys of JSON.parse's object gives them: array-index keys
//     ("0" to "4294967294", canonical decimal) first in ascending order,
//     then the others in order of first appearance; a duplicate key keeps
//     its first position and its last value.
//   - Numbers are JS doubles (correctly rounded from the text; overflow is
//     ±Inf) written by AppendNumber: integral values as the smallest
//     fixint/uint8/16/32/64 or int8/16/32/64 form, -0 as 0, other values as
//     float64. Integral values outside [-2^63, 2^64) are float64 where
//     notepack.io wraps them modulo 2^64 (see AppendNumber): the one place
//     where the output knowingly differs from notepack.io.
//   - Strings: escapes are decoded, surrogate-pair escapes combined; the
//     UTF-8 is written with the header notepack.io picks (fixstr up to 31
//     bytes, then str8, str16, str32). A lone surrogate escape such as
//     "\ud800" becomes U+FFFD (EF BF BD), as Buffer.write, which notepack.io
//     uses for strings over 32 UTF-16 units, and TextEncoder write it
//     (notepack.io's own writer for shorter strings merges the lone unit
//     with the next one into an unrelated 4-byte character; that is not
//     reproduced). Invalid UTF-8 in js becomes U+FFFD per maximal
//     subpart, as the WHATWG decoder that turned bytes into the JS string
//     would have done.
//   - true, false and null become 0xc3, 0xc2 and 0xc0.
//
// Errors: ErrJSON for anything JSON.parse refuses, ErrDepth beyond MaxDepth
// nested arrays/objects, ErrPlaceholder, ErrTooLarge. On error dst is
// returned unextended (its spare capacity may have been written).
// AppendJSON never panics.
//
// Cost: one pass over js (strings with escapes or invalid UTF-8 are read
// twice); an array or object of 16 elements or more moves its encoded
// elements up by 2 or 4 bytes once its count is known, and an object with
// array-index or duplicate keys is rebuilt from a copy. So hostile input
// that nests such containers costs O(depth × size): 1 MiB nested 1000
// deep took 0.19 s on the 2-core dev VM, against 7 ms back through
// AppendToJSON, which never moves anything. sio hands over packets that
// packet.Decode accepted, at most packet.MaxDepth (32) deep. No allocation
// when dst has room, except for objects of more than 16 members (their
// member list outgrows its inline array) and the rebuilt objects.
func AppendJSON(dst, js []byte, atts [][]byte) ([]byte, error) {
	start := len(dst)
	e := fromJSON{js: js, atts: atts}
	dst, i, err := e.value(dst, skipSpace(js, 0), 0)
	if err == nil && skipSpace(js, i) != len(js) {
		err = ErrJSON
	}
	if err == nil && e.bad > 0 {
		err = ErrPlaceholder
	}
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// keyEntry is one member of an object being written.
type keyEntry struct {
	off, end int // dst[off:end] is the member's key, a msgpack string
	bad      int // fromJSON.bad before the member's value was written
}

type fromJSON struct {
	js   []byte
	atts [][]byte
	// bad counts the invalid placeholders in what is written and kept: a
	// placeholder or a dropped duplicate takes its members' back out.
	bad int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (e *fromJSON) value(dst []byte, i, depth int) ([]byte, int, error) {
	js := e.js
	if i >= len(js) {
		return dst, i, ErrJSON
	}
	switch c := js[i]; c {
	case '{':
		return e.object(dst, i, depth+1)
	case '[':
		return e.array(dst, i, depth+1)
	case '"':
		return e.str(dst, i)
	case 't':
		return literal(dst, js, i, "true", 0xc3)
	case 'f':
		return literal(dst, js, i, "false", 0xc2)
	case 'n':
		return literal(dst, js, i, "null", 0xc0)
	default:
		if c == '-' || isDigit(c) {
			return e.number(dst, i)
		}
	}
	return dst, i, ErrJSON
}

func literal(dst, js []byte, i int, lit string, code byte) ([]byte, int, error) {
	if len(js)-i < len(lit) || string(js[i:i+len(lit)]) != lit {
		return dst, i, ErrJSON
	}
	return append(dst, code), i + len(lit), nil
}

// fixCount writes the header of the array (fix 0x90, c16 0xdc) or map
// (0x80, 0xde) that starts at dst[start], where one header byte was
// reserved, now that its count n is known. Beyond 15 elements the header
// grows and the elements move up by 2 or 4 bytes.
func fixCount(dst []byte, start, n int, fix, c16 byte) ([]byte, error) {
	if n < 16 {
		dst[start] = fix | byte(n)
		return dst, nil
	}
	if uint64(n) > math.MaxUint32 {
		return dst, ErrTooLarge
	}
	grow := 2
	if n > math.MaxUint16 {
		grow = 4
	}
	dst = append(dst, 0, 0, 0, 0)[:len(dst)+grow]
	copy(dst[start+1+grow:], dst[start+1:len(dst)-grow])
	appendCount(dst[start:start], uint32(n), fix, c16)
	return dst, nil
}

func (e *fromJSON) array(dst []byte, i, depth int) ([]byte, int, error) {
	if depth > MaxDepth {
		return dst, i, ErrDepth
	}
	js := e.js
	start := len(dst)
	dst = append(dst, 0x90)
	i = skipSpace(js, i+1)
	if i < len(js) && js[i] == ']' {
		return dst, i + 1, nil
	}
	n := 0
	for {
		var err error
		if dst, i, err = e.value(dst, i, depth); err != nil {
			return dst, i, err
		}
		n++
		i = skipSpace(js, i)
		if i >= len(js) {
			return dst, i, ErrJSON
		}
		if js[i] == ',' {
			i = skipSpace(js, i+1)
			continue
		}
		if js[i] != ']' {
			return dst, i, ErrJSON
		}
		dst, err = fixCount(dst, start, n, 0x90, 0xdc)
		return dst, i + 1, err
	}
}

func (e *fromJSON) object(dst []byte, i, depth int) ([]byte, int, error) {
	if depth > MaxDepth {
		return dst, i, ErrDepth
	}
	js := e.js
	start := len(dst)
	dst = append(dst, 0x80)
	i = skipSpace(js, i+1)
	if i < len(js) && js[i] == '}' {
		return dst, i + 1, nil
	}
	// The members, in the frame for the first 16: objects with more keys
	// allocate.
	var inline [16]keyEntry
	keys := inline[:0]
	badBefore := e.bad
	phVal, numVal := -1, -1 // dst offsets of the last "_placeholder" and "num" values
	rebuild := false        // an array-index key or a duplicate: reorder
	for {
		if i >= len(js) || js[i] != '"' {
			return dst, i, ErrJSON
		}
		keyOff := len(dst)
		var err error
		if dst, i, err = e.str(dst, i); err != nil {
			return dst, i, err
		}
		key := strBody(dst[keyOff:])
		keyEnd := len(dst)
		isPH, isNum := string(key) == "_placeholder", string(key) == "num"
		if !rebuild {
			_, rebuild = arrayIndex(key)
		}
		keys = append(keys, keyEntry{off: keyOff, end: keyEnd, bad: e.bad})
		i = skipSpace(js, i)
		if i >= len(js) || js[i] != ':' {
			return dst, i, ErrJSON
		}
		valOff := len(dst)
		if dst, i, err = e.value(dst, skipSpace(js, i+1), depth); err != nil {
			return dst, i, err
		}
		switch {
		case isPH:
			phVal = valOff
		case isNum:
			numVal = valOff
		}
		i = skipSpace(js, i)
		if i >= len(js) {
			return dst, i, ErrJSON
		}
		if js[i] == ',' {
			i = skipSpace(js, i+1)
			continue
		}
		if js[i] != '}' {
			return dst, i, ErrJSON
		}
		i++
		break
	}
	badEnd := e.bad
	if len(e.atts) > 0 && phVal >= 0 && dst[phVal] == 0xc3 {
		if num, ok := attIndex(dst, numVal, len(e.atts)); ok {
			e.bad = badBefore
			return AppendBin(dst[:start], e.atts[num]), i, nil
		}
		e.bad++
	}
	if !rebuild {
		rebuild = e.hasDuplicate(dst, keys)
	}
	var err error
	if rebuild {
		dst, err = e.rebuild(dst, start, keys, badEnd)
	} else {
		dst, err = fixCount(dst, start, len(keys), 0x80, 0xde)
	}
	return dst, i, err
}

// strBody returns the body of s, one whole msgpack string that this
// package wrote.
func strBody(s []byte) []byte {
	switch s[0] {
	case 0xd9:
		return s[2:]
	case 0xda:
		return s[3:]
	case 0xdb:
		return s[5:]
	}
	return s[1:]
}

func encodedKey(dst []byte, k keyEntry) []byte { return dst[k.off:k.end] }

// arrayIndex reports whether key is a JS array index: the canonical decimal
// of an integer from 0 to 2^32-2. Such keys come first in property order.
func arrayIndex(key []byte) (uint32, bool) {
	if len(key) == 0 || len(key) > 10 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	var v uint64
	for _, c := range key {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxUint32-1 {
		return 0, false
	}
	return uint32(v), true
}

// attIndex reports whether the msgpack number at dst[off] (off < 0: none)
// is an attachment index below n. AppendNumber wrote it, so an integral
// number is an int form; a float is a fraction, ±Inf or beyond 2^64.
func attIndex(dst []byte, off, n int) (int, bool) {
	if off < 0 {
		return 0, false
	}
	h, err := readHead(dst[off:])
	if err != nil || h.typ != Int {
		return 0, false
	}
	v := readNumber(dst[off:], h)
	if v.kind != numInt || v.i < 0 || v.i >= int64(n) {
		return 0, false
	}
	return int(v.i), true
}

// hasDuplicate reports whether two of an object's keys are equal. The
// encoded keys are compared whole: this package writes canonical headers.
func (e *fromJSON) hasDuplicate(dst []byte, keys []keyEntry) bool {
	if len(keys) <= 16 {
		for a := 1; a < len(keys); a++ {
			ka := encodedKey(dst, keys[a])
			for b := 0; b < a; b++ {
				if bytes.Equal(ka, encodedKey(dst, keys[b])) {
					return true
				}
			}
		}
		return false
	}
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, func(a, b keyEntry) int {
		return bytes.Compare(encodedKey(dst, a), encodedKey(dst, b))
	})
	for j := 1; j < len(sorted); j++ {
		if bytes.Equal(encodedKey(dst, sorted[j-1]), encodedKey(dst, sorted[j])) {
			return true
		}
	}
	return false
}

// rebuild rewrites the map at dst[start] (one reserved header byte, then
// the members that keys lists) in JS property order without duplicates. It
// allocates a copy of the members; objects that need it are rare.
func (e *fromJSON) rebuild(dst []byte, start int, keys []keyEntry, badEnd int) ([]byte, error) {
	type member struct {
		key, val []byte
		index    uint32
		isIndex  bool
		bad      int // invalid placeholders in val
	}
	body := slices.Clone(dst[start:])
	members := make([]member, 0, len(keys))
	pos := make(map[string]int, len(keys))
	for j, k := range keys {
		key := encodedKey(dst, k)
		valEnd, badAfter := len(dst), badEnd
		if j+1 < len(keys) {
			valEnd, badAfter = keys[j+1].off, keys[j+1].bad
		}
		m := member{
			key: body[k.off-start : k.off-start+len(key)],
			val: body[k.off-start+len(key) : valEnd-start],
			bad: badAfter - k.bad,
		}
		if p, dup := pos[string(key)]; dup {
			e.bad -= members[p].bad
			members[p].val, members[p].bad = m.val, m.bad
			continue
		}
		m.index, m.isIndex = arrayIndex(strBody(m.key))
		pos[string(key)] = len(members)
		members = append(members, m)
	}
	slices.SortStableFunc(members, func(a, b member) int {
		switch {
		case a.isIndex && b.isIndex:
			return int(int64(a.index) - int64(b.index))
		case a.isIndex:
			return -1
		case b.isIndex:
			return 1
		}
		return 0
	})
	if uint64(len(members)) > math.MaxUint32 {
		return dst, ErrTooLarge
	}
	dst = AppendMapHeader(dst[:start], uint32(len(members)))
	for _, m := range members {
		dst = append(dst, m.key...)
		dst = append(dst, m.val...)
	}
	return dst, nil
}

// str writes the JSON string at js[i] (the opening quote) as a msgpack
// string. The common string, without escapes and with valid UTF-8, is
// copied as it is; others are decoded into a header reserved for the raw
// length, which moves the body only when the decoded length needs another
// header size.
func (e *fromJSON) str(dst []byte, i int) ([]byte, int, error) {
	js := e.js
	j := i + 1
	plain := true
	for {
		for len(js)-j >= 8 && plainJSONChunk(leUint64(js[j:])) {
			j += 8
		}
		if j >= len(js) {
			return dst, j, ErrJSON
		}
		c := js[j]
		switch {
		case c == '"':
			raw := js[i+1 : j]
			if plain {
				if uint64(len(raw)) > math.MaxUint32 {
					return dst, j, ErrTooLarge
				}
				return AppendStringBytes(dst, raw), j + 1, nil
			}
			dst, err := decodeString(dst, raw)
			return dst, j + 1, err
		case c == '\\':
			plain = false
			j += 2 // the escape itself is checked by decodeString
		case c < 0x20:
			return dst, j, ErrJSON
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(js[j:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			j += size
		}
	}
}

func leUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// decodeString appends the msgpack string of the JSON string body raw
// (between the quotes; str checked that it holds no raw control
// characters and that every backslash is followed by a byte).
func decodeString(dst, raw []byte) ([]byte, error) {
	hdrAt := len(dst)
	guess := strHeaderLen(len(raw))
	dst = append(dst, 0, 0, 0, 0, 0)[:hdrAt+guess]
	body := len(dst)
	for k := 0; k < len(raw); {
		c := raw[k]
		if c == '\\' {
			if k+1 >= len(raw) {
				return dst, ErrJSON
			}
			k += 2
			if b, ok := jsonstr.Unescape(raw[k-1]); ok {
				dst = append(dst, b)
				continue
			}
			if raw[k-1] != 'u' {
				return dst, ErrJSON
			}
			r, ok := jsonstr.Hex4(raw[k:])
			if !ok {
				return dst, ErrJSON
			}
			k += 4
			if r >= 0xd800 && r < 0xdc00 && len(raw)-k >= 6 && raw[k] == '\\' && raw[k+1] == 'u' {
				if lo, ok := jsonstr.Hex4(raw[k+2:]); ok && lo >= 0xdc00 && lo < 0xe000 {
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
					k += 6
				}
			}
			// A surrogate left alone here is lone; utf8 writes U+FFFD.
			dst = utf8.AppendRune(dst, r)
			continue
		}
		if c < utf8.RuneSelf {
			run := k + 1
			for run < len(raw) && raw[run] != '\\' && raw[run] < utf8.RuneSelf {
				run++
			}
			dst = append(dst, raw[k:run]...)
			k = run
			continue
		}
		r, size := utf8.DecodeRune(raw[k:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
			k += maximalSubpart(raw[k:])
			continue
		}
		dst = append(dst, raw[k:k+size]...)
		k += size
	}
	n := len(dst) - body
	if uint64(n) > math.MaxUint32 {
		return dst, ErrTooLarge
	}
	if need := strHeaderLen(n); need != guess {
		if need > guess {
			dst = append(dst, 0, 0, 0, 0)[:len(dst)+need-guess]
		}
		copy(dst[hdrAt+need:], dst[body:body+n])
		dst = dst[:hdrAt+need+n]
		guess = need
	}
	putStrHeader(dst[hdrAt:hdrAt+guess], n)
	return dst, nil
}

// number writes the JSON number at js[i]. Integers of up to 15 digits are
// exact doubles and are converted directly; others go through
// strconv.ParseFloat, which rounds correctly, as JSON.parse does.
func (e *fromJSON) number(dst []byte, i int) ([]byte, int, error) {
	js := e.js
	j := i
	neg := js[j] == '-'
	if neg {
		j++
	}
	digits := j
	switch {
	case j < len(js) && js[j] == '0':
		j++
	case j < len(js) && isDigit(js[j]):
		for j < len(js) && isDigit(js[j]) {
			j++
		}
	default:
		return dst, j, ErrJSON
	}
	integer := true
	ndigits := j - digits
	if j < len(js) && js[j] == '.' {
		integer = false
		j++
		if j >= len(js) || !isDigit(js[j]) {
			return dst, j, ErrJSON
		}
		for j < len(js) && isDigit(js[j]) {
			j++
		}
	}
	if j < len(js) && (js[j] == 'e' || js[j] == 'E') {
		integer = false
		j++
		if j < len(js) && (js[j] == '+' || js[j] == '-') {
			j++
		}
		if j >= len(js) || !isDigit(js[j]) {
			return dst, j, ErrJSON
		}
		for j < len(js) && isDigit(js[j]) {
			j++
		}
	}
	if integer && ndigits <= 15 {
		var v int64
		for _, c := range js[digits:j] {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		return AppendInt(dst, v), j, nil
	}
	tok := js[i:j]
	f, err := strconv.ParseFloat(unsafe.String(&tok[0], len(tok)), 64)
	if err != nil && !math.IsInf(f, 0) {
		return dst, j, ErrJSON // not reached: the syntax was checked
	}
	return AppendNumber(dst, f), j, nil
}
