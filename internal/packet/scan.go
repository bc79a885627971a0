package packet

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sioloop/sioloop/internal/jsonstr"
)

// MaxDepth is the deepest nesting of JSON arrays and objects that Decode,
// SplitArgs and the placeholder functions accept. V8 accepts 5 000 levels and
// encoding/json 10 000; a cap keeps the recursive scanner's stack small and
// bounds the work per byte. The top-level argument array counts as one
// level.
const MaxDepth = 32

// The JSON scanner below validates RFC 8259 syntax without allocating. Like
// encoding/json (and unlike a strict UTF-8 check) it does not validate the
// UTF-8 of string contents; that is the transport's job for WebSocket text
// frames. Functions take the index of the first byte of a value (no leading
// whitespace) and return the index just after it.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// Valid reports whether b is exactly one JSON value (surrounding whitespace
// allowed) nested at most MaxDepth deep. It does not allocate.
func Valid(b []byte) bool {
	_, err := trimValue(b)
	return err == nil
}

// scanValue scans the value starting at b[i]; depth is the number of
// containers already open around it. A non-nil w is told of every
// placeholder object (binary.go).
func scanValue(b []byte, i, depth int, w *walker) (int, error) {
	if i >= len(b) {
		return i, ErrJSON
	}
	switch c := b[i]; c {
	case '"':
		return scanString(b, i)
	case '[':
		return scanArray(b, i, depth+1, w)
	case '{':
		return scanObject(b, i, depth+1, w)
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	default:
		if c == '-' || isDigit(c) {
			return scanNumber(b, i)
		}
		return i, ErrJSON
	}
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, ErrJSON
	}
	return i + len(lit), nil
}

func isHex(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// scanString scans a string literal; b[i] is the opening quote.
func scanString(b []byte, i int) (int, error) {
	i++
	for {
		for len(b)-i >= 8 && !jsonstr.Stop(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			return i, ErrJSON
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, ErrJSON
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, ErrJSON
				}
				i += 6
			default:
				return i, ErrJSON
			}
		case c < 0x20:
			return i, ErrJSON
		default:
			i++
		}
	}
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. The caller
// checks that a delimiter follows.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return i, ErrJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, ErrJSON
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, ErrJSON
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i, nil
}

// scanArray scans an array; b[i] is '[' and depth already counts it.
func scanArray(b []byte, i, depth int, w *walker) (int, error) {
	if depth > MaxDepth {
		return i, ErrDepth
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = scanValue(b, i, depth, w); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, ErrJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, ErrJSON
		}
	}
}

// scanObject scans an object; b[i] is '{' and depth already counts it.
// With w, it notes the "_placeholder" and "num" members (the last of
// duplicate keys wins) and hands a placeholder to w once it is closed.
func scanObject(b []byte, i, depth int, w *walker) (int, error) {
	if depth > MaxDepth {
		return i, ErrDepth
	}
	start := i
	var saved walkState
	if w != nil {
		saved = w.save()
	}
	isPH := false
	var num []byte
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		var err error
		if i >= len(b) || b[i] != '"' {
			return i, ErrJSON
		}
		keyStart := i
		if i, err = scanString(b, i); err != nil {
			return i, err
		}
		key := b[keyStart:i]
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, ErrJSON
		}
		valStart := skipSpace(b, i+1)
		if i, err = scanValue(b, valStart, depth, w); err != nil {
			return i, err
		}
		if w != nil {
			switch {
			case jsonStringIs(key, "_placeholder"):
				isPH = string(b[valStart:i]) == "true"
			case jsonStringIs(key, "num"):
				num = b[valStart:i]
			}
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, ErrJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			if isPH {
				w.placeholder(start, i+1, saved, num)
			}
			return i + 1, nil
		default:
			return i, ErrJSON
		}
	}
}

// jsonStringIs reports whether the valid JSON string literal raw (with its
// quotes) decodes to s. It does not allocate when raw has no escapes and is
// valid UTF-8, nor otherwise for s up to 16 bytes.
func jsonStringIs(raw []byte, s string) bool {
	body := raw[1 : len(raw)-1]
	plain := true // no escapes, all ASCII
	for _, c := range body {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain || (bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body)) {
		return string(body) == s
	}
	// An escape is at most 6 bytes ("\uXXXX") for at least one byte of output.
	if len(body) > 6*len(s) {
		return false
	}
	var buf [96]byte
	dec, err := AppendUnquote(buf[:0], raw)
	return err == nil && string(dec) == s
}

// getU4 decodes the XXXX of "\uXXXX" at b[i:], or returns -1.
func getU4(b []byte, i int) rune {
	if len(b)-i < 6 || b[i] != '\\' || b[i+1] != 'u' {
		return -1
	}
	r, ok := jsonstr.Hex4(b[i+2:])
	if !ok {
		return -1
	}
	return r
}

// AppendUnquote appends the decoded contents of the JSON string literal raw
// (including its quotes, surrounding whitespace allowed) to dst. It decodes
// exactly like encoding/json: invalid UTF-8 and unpaired surrogates become
// U+FFFD. It returns ErrJSON if raw is not a single string literal.
func AppendUnquote(dst, raw []byte) ([]byte, error) {
	start := skipSpace(raw, 0)
	if start >= len(raw) || raw[start] != '"' {
		return dst, ErrJSON
	}
	end, err := scanString(raw, start)
	if err != nil || skipSpace(raw, end) != len(raw) {
		return dst, ErrJSON
	}
	s := raw[start+1 : end-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && s[i+1] != 'u':
			e, _ := jsonstr.Unescape(s[i+1]) // scanString let only valid escapes through
			dst = append(dst, e)
			i += 2
		case c == '\\':
			r := getU4(s, i)
			i += 6
			if utf16.IsSurrogate(r) {
				if r2 := getU4(s, i); r2 >= 0 {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst, nil
}

// AppendQuote appends s as a JSON string literal to dst, byte for byte as
// encoding/json does with HTML escaping off: '"', '\\' and control characters
// are escaped, invalid UTF-8 becomes \ufffd, and U+2028/U+2029 are escaped
// because JavaScript source cannot hold them raw.
func AppendQuote(dst []byte, s string) []byte {
	return jsonstr.AppendQuoted(dst, s, quoteNonASCII)
}

// quoteNonASCII is AppendQuote's rule for the non-ASCII bytes at the
// start of s: the run of valid runes other than U+2028 and U+2029 stays as
// it is; those two and each invalid byte are escaped.
func quoteNonASCII(s string) (int, string) {
	n := 0
	for n < len(s) && s[n] >= utf8.RuneSelf {
		r, size := utf8.DecodeRuneInString(s[n:])
		repl := ""
		switch {
		case r == utf8.RuneError && size == 1:
			repl = `\ufffd`
		case r == '\u2028':
			repl = `\u2028`
		case r == '\u2029':
			repl = `\u2029`
		}
		if repl != "" {
			if n > 0 {
				return n, "" // the run before it first
			}
			return size, repl
		}
		n += size
	}
	return n, ""
}
