package http1

// Character classes, one bit each in charClass. A table lookup per byte keeps
// the scanners branch-light and obviously linear.
const (
	classToken  = 1 << iota // tchar of RFC 9110 §5.6.2: header names and methods
	classValue              // field-vchar, SP or HTAB (RFC 9110 §5.5), obs-text included
	classTarget             // visible ASCII allowed in a request-target
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c == '\t' || (c >= 0x20 && c != 0x7f) {
			t[c] |= classValue
		}
		if c > 0x20 && c < 0x7f {
			t[c] |= classTarget
		}
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= classToken
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= classToken
		t[c-'a'+'A'] |= classToken
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] |= classToken
	}
	return t
}()

// lower folds an ASCII upper-case letter to lower case and leaves every other
// byte alone; header names are ASCII tokens, so this is all the folding HTTP
// needs.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// text is a byte sequence that the lookups accept either as the parsed
// buffer ([]byte) or as an owned copy of a head (string).
type text interface{ ~string | ~[]byte }

// indexByte returns the index of the first c in s, or -1.
func indexByte[S text](s S, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// equalFold reports whether b and s are equal under ASCII case folding.
func equalFold[S text](b S, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// isOWS reports whether c is optional whitespace (SP or HTAB).
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS[S text](b S) S {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nextToken splits a comma-separated list element off v (RFC 9110 §5.6.1).
// Empty elements are skipped, as the list syntax requires. tok is trimmed;
// ok is false when v holds no further element.
func nextToken(v []byte) (tok, rest []byte, ok bool) {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		tok = trimOWS(v[:i])
		if i < len(v) {
			v = v[i+1:]
		} else {
			v = v[i:]
		}
		if len(tok) > 0 {
			return tok, v, true
		}
	}
	return nil, nil, false
}
