package wsframe

import "unicode/utf8"

// utf8State is where a UTF-8 validator stands between two chunks of one
// text message: need is how many continuation bytes the current code point
// still lacks (0 at a code point boundary), and [lo, hi] is the range the
// next byte must fall in. The narrowed ranges after E0, ED, F0 and F4 are
// what rejects overlong forms, surrogates and code points past U+10FFFF as
// soon as their second byte arrives, which is what "fail fast" (Autobahn
// 6.4.x) asks for.
type utf8State struct {
	need, lo, hi uint8
}

// boundary reports whether the bytes seen so far end on a whole code point,
// the condition for a text message to be complete.
func (s utf8State) boundary() bool { return s.need == 0 }

// step feeds one byte. It reports false when no continuation of the bytes
// seen so far can be valid UTF-8 (Unicode 15, table 3-7).
func (s utf8State) step(c byte) (utf8State, bool) {
	if s.need > 0 {
		if c < s.lo || c > s.hi {
			return s, false
		}
		return utf8State{need: s.need - 1, lo: 0x80, hi: 0xBF}, true
	}
	switch {
	case c < 0x80:
		return s, true
	case c < 0xC2: // continuation byte without a lead, or the overlong C0/C1
		return s, false
	case c < 0xE0:
		return utf8State{1, 0x80, 0xBF}, true
	case c == 0xE0:
		return utf8State{2, 0xA0, 0xBF}, true
	case c == 0xED: // U+D800..U+DFFF are surrogates, never valid in UTF-8
		return utf8State{2, 0x80, 0x9F}, true
	case c < 0xF0:
		return utf8State{2, 0x80, 0xBF}, true
	case c == 0xF0:
		return utf8State{3, 0x90, 0xBF}, true
	case c < 0xF4:
		return utf8State{3, 0x80, 0xBF}, true
	case c == 0xF4: // stop at U+10FFFF
		return utf8State{3, 0x80, 0x8F}, true
	}
	return s, false
}

// validate checks the next chunk p of a text message, starting from s. It
// reports false as soon as p makes the message invalid whatever follows,
// and otherwise returns the state to continue from. The bulk of p goes
// through utf8.Valid (which has an ASCII fast path); only the at most three
// bytes of a code point split across chunks go byte by byte.
func (s utf8State) validate(p []byte) (utf8State, bool) {
	ok := true
	i := 0
	for s.need > 0 && i < len(p) {
		if s, ok = s.step(p[i]); !ok {
			return s, false
		}
		i++
	}
	p = p[i:]
	if len(p) == 0 {
		return s, true
	}
	// cut is where a trailing, not yet complete code point starts. Only a
	// lead byte in the last three positions can start one.
	cut := len(p)
	for j := len(p) - 1; j >= 0 && j >= len(p)-3; j-- {
		c := p[j]
		if c < 0x80 {
			break
		}
		if c >= 0xC0 {
			if j+seqLen(c) > len(p) {
				cut = j
			}
			break
		}
	}
	if !utf8.Valid(p[:cut]) {
		return s, false
	}
	for _, c := range p[cut:] {
		if s, ok = s.step(c); !ok {
			return s, false
		}
	}
	return s, true
}

// seqLen is the length of the sequence lead byte c announces; bytes that
// cannot lead (F8..FF) count as 1 so that utf8.Valid rejects them.
func seqLen(c byte) int {
	switch {
	case c >= 0xC0 && c < 0xE0:
		return 2
	case c >= 0xE0 && c < 0xF0:
		return 3
	case c >= 0xF0 && c < 0xF8:
		return 4
	}
	return 1
}
