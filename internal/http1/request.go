package http1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// Get returns the value of the first header field named name (compared
// case-insensitively), or nil if there is none. The result aliases the
// parsed buffer. An empty field value is returned as a non-nil empty slice
// only if the buffer had one; test presence with Has.
func (r *Request) Get(name string) []byte {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// Has reports whether a header field named name is present, even with an
// empty value.
func (r *Request) Has(name string) bool {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return true
		}
	}
	return false
}

// AppendValues appends the value of every header field named name, in
// arrival order, to dst and returns it. The values alias the parsed buffer;
// with a reused dst this does not allocate.
func (r *Request) AppendValues(dst [][]byte, name string) [][]byte {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			dst = append(dst, r.Headers[i].Value)
		}
	}
	return dst
}

// Values returns the values of every header field named name in arrival
// order, or nil. It allocates the outer slice; see AppendValues.
func (r *Request) Values(name string) [][]byte {
	return r.AppendValues(nil, name)
}

// HasToken reports whether any header field named name holds token as an
// element of its comma-separated list, both compared case-insensitively. It
// is the check for "Connection: keep-alive, Upgrade" or "Upgrade: websocket"
// and handles repeated fields.
func (r *Request) HasToken(name, token string) bool {
	for i := range r.Headers {
		if !equalFold(r.Headers[i].Name, name) {
			continue
		}
		for v := r.Headers[i].Value; ; {
			tok, rest, ok := nextToken(v)
			if !ok {
				break
			}
			if equalFold(tok, token) {
				return true
			}
			v = rest
		}
	}
	return false
}

// Query returns the percent-decoded value of the first query parameter whose
// decoded key is key, with '+' read as a space. It agrees with
// url.ParseQuery(string(r.RawQuery)) followed by Get/Has: a pair with a
// malformed escape ("%zz", a trailing "%") or a ';' is skipped, never
// decoded partially, so "sid=%zz" reports ("", false). It allocates the
// returned string; AppendQuery does not.
func (r *Request) Query(key string) (string, bool) {
	v, ok := r.queryValue(key)
	if !ok {
		return "", false
	}
	if bytes.IndexByte(v, '%') < 0 && bytes.IndexByte(v, '+') < 0 {
		return string(v), true
	}
	var buf [64]byte
	return string(appendUnescape(buf[:0], v)), true
}

// AppendQuery is Query that appends the decoded value to dst instead of
// allocating a string. On false dst is returned unchanged.
func (r *Request) AppendQuery(dst []byte, key string) ([]byte, bool) {
	v, ok := r.queryValue(key)
	if !ok {
		return dst, false
	}
	return appendUnescape(dst, v), true
}

// queryValue returns the still-encoded value of the first well-formed pair
// whose decoded key equals key.
func (r *Request) queryValue(key string) ([]byte, bool) {
	return lookupQuery(r.RawQuery, key)
}

// lookupQuery returns the still-encoded value of the first well-formed pair
// of the raw query q whose decoded key equals key.
func lookupQuery[S text](q S, key string) (S, bool) {
	for len(q) > 0 {
		pair := q
		if i := indexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			q = q[len(q):]
		}
		// url.ParseQuery rejects ';' since Go 1.17 because proxies
		// disagreed about it as a separator; skip such pairs the same way.
		if len(pair) == 0 || indexByte(pair, ';') >= 0 {
			continue
		}
		k, v := pair, pair[len(pair):]
		if i := indexByte(pair, '='); i >= 0 {
			k, v = pair[:i], pair[i+1:]
		}
		if validEscapes(k) && validEscapes(v) && keyEqual(k, key) {
			return v, true
		}
	}
	var none S
	return none, false
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validEscapes reports whether every '%' in s starts a two-digit hex escape.
func validEscapes[S text](s S) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) {
			return false
		}
		if _, ok := unhex(s[i+1]); !ok {
			return false
		}
		if _, ok := unhex(s[i+2]); !ok {
			return false
		}
		i += 2
	}
	return true
}

// keyEqual compares the query-decoded form of enc, whose escapes are known
// to be valid, with key, without materialising the decoded bytes.
func keyEqual[S text](enc S, key string) bool {
	j := 0
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			hi, _ := unhex(enc[i+1])
			lo, _ := unhex(enc[i+2])
			c = hi<<4 | lo
			i += 2
		}
		if j == len(key) || key[j] != c {
			return false
		}
		j++
	}
	return j == len(key)
}

// appendUnescape appends the query-decoded form of s, whose escapes are
// known to be valid, to dst.
func appendUnescape[S text](dst []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			hi, _ := unhex(s[i+1])
			lo, _ := unhex(s[i+2])
			c = hi<<4 | lo
			i += 2
		}
		dst = append(dst, c)
	}
	return dst
}

// errUnparsed is returned by ToStd for a Request that Parse did not fill.
var errUnparsed = errors.New("http1: ToStd on a request without a complete head")

// ToStd copies r into a new *http.Request for code that wants net/http
// types. Nothing in the result aliases the parsed buffer. It mirrors what a
// net/http server hands its handlers: URL parsed from Target (CONNECT's
// authority form included), Header keys canonicalised with Host removed into
// Host, repeated identical Content-Length values folded into one,
// "Pragma: no-cache" copied to a missing Cache-Control, Close set from KeepAlive, RequestURI set to Target, ContentLength 0
// when absent, and Body reading a copy of r.Body (http.NoBody when empty).
// The request carries context.Background. A target url.ParseRequestURI
// rejects gives an error matching ErrBadRequest.
func (r *Request) ToStd(remoteAddr string) (*http.Request, error) {
	if r.HeaderLen == 0 || r.Major != 1 {
		return nil, errUnparsed
	}
	method, target := string(r.Method), string(r.Target)
	rawURL := target
	justAuthority := method == http.MethodConnect && !strings.HasPrefix(target, "/")
	if justAuthority {
		rawURL = "http://" + rawURL
	}
	u, err := url.ParseRequestURI(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTarget, err)
	}
	if justAuthority {
		u.Scheme = ""
	}

	hdr := make(http.Header, len(r.Headers))
	for _, f := range r.Headers {
		k := textproto.CanonicalMIMEHeaderKey(string(f.Name))
		hdr[k] = append(hdr[k], string(f.Value))
	}
	// Parse allows repeated Content-Length only with identical values;
	// net/http folds those into one, and so does ToStd.
	if cl := hdr["Content-Length"]; len(cl) > 1 {
		hdr["Content-Length"] = cl[:1]
	}
	// net/http maps the HTTP/1.0 "Pragma: no-cache" onto Cache-Control
	// (RFC 9111 §5.4) for handlers that only look there.
	if p := hdr["Pragma"]; len(p) > 0 && p[0] == "no-cache" && hdr["Cache-Control"] == nil {
		hdr["Cache-Control"] = []string{"no-cache"}
	}
	// RFC 9112 §3.2.2: an absolute-form target overrides Host.
	host := u.Host
	if host == "" {
		host = hdr.Get("Host")
	}
	delete(hdr, "Host")

	var body io.ReadCloser = http.NoBody
	if len(r.Body) > 0 {
		body = io.NopCloser(bytes.NewReader(bytes.Clone(r.Body)))
	}
	return &http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/1." + strconv.Itoa(r.Minor),
		ProtoMajor:    r.Major,
		ProtoMinor:    r.Minor,
		Header:        hdr,
		Body:          body,
		ContentLength: max(r.ContentLength, 0),
		Close:         !r.KeepAlive,
		Host:          host,
		RemoteAddr:    remoteAddr,
		RequestURI:    target,
	}, nil
}
