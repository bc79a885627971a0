package http1

import "strings"

// Head is an owned copy of a request head that Parse accepted: the bytes
// b[:req.HeaderLen], request line through the empty line that ends the
// header section (empty lines before the request line, which Parse skips,
// may be included). Code that must keep a request after the parse buffer is
// reused copies the head once,
//
//	head := http1.Head(buf[:req.HeaderLen])
//
// and reads it with the methods below, from any goroutine. They allocate
// nothing unless documented otherwise: every string they return is a
// substring of the Head. They rescan the head on each call (a few hundred
// bytes), and they rely on Parse's checks: on bytes Parse did not accept
// they give unspecified answers (but never panic).
type Head string

// requestLine returns the method and request-target, and the header lines
// that follow the request line.
func (h Head) requestLine() (method, target, fields string) {
	s := string(h)
	for strings.HasPrefix(s, "\r\n") {
		s = s[2:]
	}
	line, fields, _ := strings.Cut(s, "\r\n")
	method, rest, _ := strings.Cut(line, " ")
	target, _, _ = strings.Cut(rest, " ")
	return method, target, fields
}

// Method is the request method, as Request.Method.
func (h Head) Method() string {
	m, _, _ := h.requestLine()
	return m
}

// Target is the raw request-target, as Request.Target.
func (h Head) Target() string {
	_, t, _ := h.requestLine()
	return t
}

// Path is the Target before the first '?', still percent-encoded, as
// Request.Path.
func (h Head) Path() string {
	p, _, _ := strings.Cut(h.Target(), "?")
	return p
}

// RawQuery is the Target after the first '?', as Request.RawQuery; "" when
// there is none.
func (h Head) RawQuery() string {
	_, q, _ := strings.Cut(h.Target(), "?")
	return q
}

// nextField splits the first header line off fields. ok is false at the
// empty line that ends the head.
func nextField(fields string) (name, value, rest string, ok bool) {
	line, rest, found := strings.Cut(fields, "\r\n")
	if !found || line == "" {
		return "", "", "", false
	}
	name, value, found = strings.Cut(line, ":")
	if !found {
		return "", "", "", false
	}
	return name, trimOWS(value), rest, true
}

// Get returns the value of the first header field named name (compared
// case-insensitively) and whether there is one, as Request.Get.
func (h Head) Get(name string) (string, bool) {
	_, _, fields := h.requestLine()
	for {
		n, v, rest, ok := nextField(fields)
		if !ok {
			return "", false
		}
		if equalFold(n, name) {
			return v, true
		}
		fields = rest
	}
}

// Combined returns the values of every header field named name (compared
// case-insensitively), in arrival order, joined with ", " into the one
// field value RFC 9110 §5.3 says they are equivalent to; "" when there is
// none. It allocates only when the field is repeated. The combined value
// is what comma-separated list fields such as Connection are read from;
// for a singleton field sent twice it is not a valid value, but neither was
// the request.
func (h Head) Combined(name string) string {
	_, _, fields := h.requestLine()
	var (
		first   string
		count   int
		joined  []byte
		scanned = fields
	)
	for {
		n, v, rest, ok := nextField(scanned)
		if !ok {
			break
		}
		scanned = rest
		if !equalFold(n, name) {
			continue
		}
		switch count {
		case 0:
			first = v
		case 1:
			joined = append(append(append(joined, first...), ", "...), v...)
		default:
			joined = append(append(joined, ", "...), v...)
		}
		count++
	}
	if count <= 1 {
		return first
	}
	return string(joined)
}

// Query returns the percent-decoded value of the first query parameter
// whose decoded key is key, with '+' read as a space, and whether there is
// one, with the semantics of Request.Query. It allocates only when the
// value holds an escape or a '+'.
func (h Head) Query(key string) (string, bool) {
	v, ok := lookupQuery(h.RawQuery(), key)
	if !ok {
		return "", false
	}
	if strings.IndexByte(v, '%') < 0 && strings.IndexByte(v, '+') < 0 {
		return v, true
	}
	var buf [64]byte
	return string(appendUnescape(buf[:0], v)), true
}
