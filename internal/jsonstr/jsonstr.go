package jsonstr

// SWAR constants: one bit or the top bit of each of 8 bytes.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasLess reports, as a non-zero word, whether a byte of x is below n;
// exact for n <= 0x80.
func hasLess(x uint64, n byte) uint64 { return (x - lsb*uint64(n)) & ^x & msb }

// Stop reports whether the 8 bytes in x (little-endian) hold a quote, a
// backslash or a control character: a byte that ends a run of string
// content kept as it is. Bytes from 0x80 up are not stops; callers that
// must look at UTF-8 test them with NonASCII.
func Stop(x uint64) bool {
	return hasLess(x, 0x20)|hasLess(x^(lsb*'"'), 1)|hasLess(x^(lsb*'\\'), 1) != 0
}

// NonASCII reports whether one of the 8 bytes in x is 0x80 or above.
func NonASCII(x uint64) bool { return x&msb != 0 }

const hexDigits = "0123456789abcdef"

// AppendEscape appends the escape of c, which is '"', '\\' or a control
// character: \" \\ \b \f \n \r \t, else \u00xx (lower-case hex), as both
// encoding/json and JSON.stringify write it.
func AppendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// Unescape returns the byte the escape \e stands for, for the one-letter
// escapes of JSON (" \ / b f n r t); false for any other e, 'u' included.
func Unescape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// Hex4 decodes the 4 hex digits (either case) at the start of b, the XXXX
// of \uXXXX; false when b is shorter or holds another byte.
func Hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// AppendQuoted appends s to dst as a JSON string literal, in quotes. ASCII
// is written as JSON requires: '"', '\\' and the control characters
// escaped (AppendEscape), the rest as it is, 8 bytes at a time where it
// can. At each byte of 0x80 or above, nonASCII(s[i:]) decides: it returns
// how many bytes it takes and repl, the text that stands for them, or ""
// to keep them as they are. That is where the two writers differ: U+2028,
// U+2029 and invalid UTF-8. A rule should take a whole run of bytes it
// keeps in one call (it is called through a function value, once per
// call, not inlined).
func AppendQuoted[T string | []byte](dst []byte, s T, nonASCII func(rest T) (n int, repl string)) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		for len(s)-i >= 8 {
			x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if NonASCII(x) || Stop(x) {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		if c := s[i]; c < 0x80 {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = AppendEscape(dst, c)
			i++
			start = i
			continue
		}
		n, repl := nonASCII(s[i:])
		if repl != "" {
			dst = append(dst, s[start:i]...)
			dst = append(dst, repl...)
			start = i + n
		}
		i += n
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
