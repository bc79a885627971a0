package http1

import "math"

// Default limits, applied by Parse to every Limits field that is zero or
// negative. Zero never means "unlimited".
const (
	// DefaultMaxHeaderBytes is Node's historical 8 KiB header limit; an
	// Engine.IO handshake with cookies is well under 2 KiB.
	DefaultMaxHeaderBytes = 8192
	// DefaultMaxHeaders is generous for browsers, which send about 20.
	DefaultMaxHeaders = 100
	// DefaultMaxBodyBytes is Engine.IO's maxHttpBufferSize default (1e6).
	DefaultMaxBodyBytes = 1_000_000
)

// Limits bounds what Parse accepts. The zero value (or a nil *Limits) means
// the defaults above.
type Limits struct {
	// MaxHeaderBytes caps the request line plus all header lines, counting
	// every CRLF including the final empty line (and any empty lines before
	// the request line). Default DefaultMaxHeaderBytes. Exceeding it gives
	// ErrHeaderTooLarge (431), even while the head is still incomplete.
	MaxHeaderBytes int
	// MaxHeaders caps the number of header fields. Default
	// DefaultMaxHeaders. Exceeding it gives a 431 error.
	MaxHeaders int
	// MaxBodyBytes caps Content-Length, in bytes. Default
	// DefaultMaxBodyBytes. Exceeding it gives ErrBodyTooLarge (413) as soon
	// as the head is complete, before the body arrives.
	MaxBodyBytes int64
}

func (l *Limits) values() (head, headers int, body int64) {
	head, headers, body = DefaultMaxHeaderBytes, DefaultMaxHeaders, DefaultMaxBodyBytes
	if l == nil {
		return
	}
	if l.MaxHeaderBytes > 0 {
		head = l.MaxHeaderBytes
	}
	if l.MaxHeaders > 0 {
		headers = l.MaxHeaders
	}
	if l.MaxBodyBytes > 0 {
		body = l.MaxBodyBytes
	}
	return
}

// Header is one header field. Name and Value alias the parsed buffer; Value
// has surrounding whitespace removed.
type Header struct {
	Name, Value []byte
}

// Request is a parsed request head plus its Content-Length body. Every []byte
// field aliases the buffer given to Parse and is valid only while the caller
// keeps that buffer unchanged. A Request is meant to be reused: Parse resets
// it but keeps the capacity of Headers, which is what makes steady-state
// parsing allocation-free. It is not safe for concurrent use.
type Request struct {
	// Method is the request method, a token such as "GET"; case-sensitive.
	Method []byte
	// Target is the raw request-target, still percent-encoded.
	Target []byte
	// Path is Target before the first '?' (for the absolute form it still
	// holds the scheme and authority).
	Path []byte
	// RawQuery is Target after the first '?', without the '?'; nil if
	// Target has none.
	RawQuery []byte
	// Major and Minor are the HTTP version; Major is always 1 on success.
	Major, Minor int
	// Headers holds the header fields in arrival order.
	Headers []Header
	// ContentLength is the declared body length, or -1 if absent.
	ContentLength int64
	// Chunked is set when the final transfer coding is chunked; Parse then
	// returns ErrChunked.
	Chunked bool
	// KeepAlive reports whether the connection may carry another request:
	// for HTTP/1.1 unless Connection has "close"; for HTTP/1.0 only when
	// Connection has "keep-alive" and not "close".
	KeepAlive bool
	// Upgrade is set when Connection lists "upgrade" and a non-empty Upgrade
	// header is present, on HTTP/1.1 or later (RFC 9110 §7.8 says to ignore
	// Upgrade in HTTP/1.0).
	Upgrade bool
	// HeaderLen is the byte length of the head, through the final CRLFCRLF.
	// It is 0 while the head is incomplete.
	HeaderLen int
	// Body is exactly ContentLength bytes, nil when there is no body.
	Body []byte
}

// Reset empties r for reuse, keeping the capacity of Headers but dropping
// every view into the previous buffer, so that a Request kept for later
// (in a sync.Pool, say) does not keep that buffer alive. Parse resets r
// itself; call Reset when putting r away.
func (r *Request) Reset() { r.reset() }

func (r *Request) reset() {
	// Clearing the used entries drops references to the previous buffer so
	// the reused slice does not keep it alive.
	clear(r.Headers)
	*r = Request{Headers: r.Headers[:0], ContentLength: -1}
}

// Parse parses one request (head plus Content-Length body) from the start of
// b into req. Bytes after the request, such as a pipelined request, are left
// alone.
//
// It returns n == 0 and a nil error when b holds only a prefix of a valid
// request: call again with more bytes. Once the head is complete but the body
// is not, every head field of req is already set: req.Len() tells how many
// bytes to wait for, and the caller may answer "Expect: 100-continue". On success n is req.Len() and every view
// in req aliases b. On failure err is an *Error whose Status the caller should
// answer (see AppendError) before closing; n is 0.
//
// The result depends only on the bytes: splitting a request anywhere and
// calling Parse on each growing prefix yields "need more" until the request is
// complete, then the same result as a single call. Parse inspects at most
// Limits.MaxHeaderBytes bytes of b and never the body, so each call is linear
// in the head length and allocates nothing once req.Headers has grown.
func Parse(b []byte, req *Request, lim *Limits) (n int, err error) {
	maxHead, maxHeaders, maxBody := lim.values()
	req.reset()

	// Only the first maxHead bytes can belong to the head. Running out of h
	// therefore means "need more" if b is shorter than the limit, and 431 if
	// it is not.
	h := b
	if len(h) > maxHead {
		h = h[:maxHead]
	}
	more := func() (int, error) {
		if len(b) >= maxHead {
			return 0, ErrHeaderTooLarge
		}
		return 0, nil
	}

	i := 0
	// RFC 9112 §2.2: a server SHOULD ignore empty lines before the request
	// line; some clients send a stray CRLF after a POST body.
	for i < len(h) && h[i] == '\r' {
		if i+1 == len(h) {
			return more()
		}
		if h[i+1] != '\n' {
			return 0, errLineEnd
		}
		i += 2
	}

	// method SP
	start := i
	for i < len(h) && charClass[h[i]]&classToken != 0 {
		i++
	}
	if i == len(h) {
		return more()
	}
	if h[i] != ' ' || i == start {
		return 0, errRequestLine
	}
	req.Method = h[start:i:i]
	i++

	// request-target SP
	start = i
	for i < len(h) && charClass[h[i]]&classTarget != 0 {
		i++
	}
	if i == len(h) {
		return more()
	}
	if h[i] != ' ' {
		if h[i] == '\r' || h[i] == '\n' {
			// "GET /\r\n" is an HTTP/0.9 request line.
			return 0, errRequestLine
		}
		return 0, errTarget
	}
	if i == start {
		return 0, errRequestLine
	}
	req.Target = h[start:i:i]
	req.Path = req.Target
	for j, c := range req.Target {
		if c == '?' {
			req.Path, req.RawQuery = req.Target[:j:j], req.Target[j+1:]
			break
		}
	}
	i++

	// HTTP-version CRLF, checked byte by byte so that a prefix is judged
	// exactly as the full line would be.
	const version = "HTTP/d.d\r\n"
	for k := 0; k < len(version); k++ {
		if i+k == len(h) {
			return more()
		}
		c := h[i+k]
		switch want := version[k]; {
		case want == 'd':
			if c < '0' || c > '9' {
				return 0, errVersionSyntax
			}
		case want == '\n' && c != '\n', want == '\r' && c == '\n':
			return 0, errLineEnd
		case c != want:
			return 0, errVersionSyntax
		}
	}
	req.Major, req.Minor = int(h[i+5]-'0'), int(h[i+7]-'0')
	if req.Major != 1 {
		return 0, ErrVersion
	}
	i += len(version)

	// header-field CRLF ... CRLF
	for {
		if i == len(h) {
			return more()
		}
		switch h[i] {
		case '\r':
			if i+1 == len(h) {
				return more()
			}
			if h[i+1] != '\n' {
				return 0, errLineEnd
			}
			i += 2
			req.HeaderLen = i
			return finish(b, req, maxBody)
		case ' ', '\t':
			// A line starting with whitespace continues the previous one
			// (obs-fold, RFC 9112 §5.2) or, right after the request line,
			// is the smuggling vector of RFC 9112 §2.2. Both are rejected.
			return 0, errObsFold
		}
		if len(req.Headers) == maxHeaders {
			return 0, errTooMany
		}

		start = i
		for i < len(h) && charClass[h[i]]&classToken != 0 {
			i++
		}
		if i == len(h) {
			return more()
		}
		// No whitespace is allowed between the name and the colon
		// (RFC 9112 §5.1).
		if h[i] != ':' || i == start {
			return 0, errHeaderName
		}
		name := h[start:i:i]
		i++

		for i < len(h) && isOWS(h[i]) {
			i++
		}
		start = i
		for i < len(h) && charClass[h[i]]&classValue != 0 {
			i++
		}
		if i == len(h) {
			return more()
		}
		if h[i] != '\r' {
			// A control character, or a bare LF.
			return 0, errHeaderValue
		}
		if i+1 == len(h) {
			return more()
		}
		if h[i+1] != '\n' {
			return 0, errLineEnd
		}
		end := i
		for end > start && isOWS(h[end-1]) {
			end--
		}
		req.Headers = append(req.Headers, Header{Name: name, Value: h[start:end:end]})
		i += 2
	}
}

// finish interprets the framing and connection headers of a complete head
// and slices the body out of b.
func finish(b []byte, req *Request, maxBody int64) (int, error) {
	var (
		lengthValue          []byte
		haveLength, haveTE   bool
		lastTE               []byte
		hosts                int
		closeTok, keepTok    bool
		upgradeTok, upgradeH bool
	)
	for _, f := range req.Headers {
		switch len(f.Name) {
		case len("host"):
			if equalFold(f.Name, "host") {
				hosts++
			}
		case len("upgrade"):
			if equalFold(f.Name, "upgrade") && len(f.Value) > 0 {
				upgradeH = true
			}
		case len("connection"):
			if !equalFold(f.Name, "connection") {
				break
			}
			for v := f.Value; ; {
				tok, rest, ok := nextToken(v)
				if !ok {
					break
				}
				switch {
				case equalFold(tok, "close"):
					closeTok = true
				case equalFold(tok, "keep-alive"):
					keepTok = true
				case equalFold(tok, "upgrade"):
					upgradeTok = true
				}
				v = rest
			}
		case len("content-length"):
			if !equalFold(f.Name, "content-length") {
				break
			}
			// RFC 9110 §8.6 allows repeats only with identical values;
			// anything else is a request-smuggling signal.
			if haveLength && string(lengthValue) != string(f.Value) {
				return 0, errDupLength
			}
			haveLength, lengthValue = true, f.Value
		case len("transfer-encoding"):
			if equalFold(f.Name, "transfer-encoding") {
				haveTE = true
				lastTE = f.Value
			}
		}
	}

	if hosts > 1 {
		// RFC 9112 §3.2 requires 400 for more than one Host.
		return 0, errDupHost
	}
	if haveTE {
		if haveLength {
			// RFC 9112 §6.1: such a request is a smuggling attempt.
			return 0, errLengthAndTE
		}
		if req.Minor == 0 {
			// RFC 9112 §6.1: faulty framing in HTTP/1.0.
			return 0, errTE10
		}
		// Only the final coding decides the framing (RFC 9112 §6.3).
		var final []byte
		for v := lastTE; ; {
			tok, rest, ok := nextToken(v)
			if !ok {
				break
			}
			final, v = tok, rest
		}
		if !equalFold(final, "chunked") {
			return 0, errTE
		}
		req.Chunked = true
		return 0, ErrChunked
	}

	if haveLength {
		if len(lengthValue) == 0 {
			return 0, errContentLength
		}
		var cl int64
		tooBig := false
		for _, c := range lengthValue {
			if c < '0' || c > '9' {
				return 0, errContentLength
			}
			if cl > (math.MaxInt64-9)/10 {
				// Keep validating the syntax, but the value is far
				// above any body limit; never let it overflow.
				tooBig = true
				continue
			}
			cl = cl*10 + int64(c-'0')
		}
		if tooBig || cl > maxBody {
			return 0, ErrBodyTooLarge
		}
		req.ContentLength = cl
	}

	if req.Minor == 0 {
		req.KeepAlive = keepTok && !closeTok
	} else {
		req.KeepAlive = !closeTok
		req.Upgrade = upgradeTok && upgradeH
	}

	n := req.HeaderLen
	if req.ContentLength > 0 {
		// ContentLength <= maxBody, so this stays far from overflow.
		if int64(len(b)-n) < req.ContentLength {
			return 0, nil
		}
		end := n + int(req.ContentLength)
		req.Body = b[n:end:end]
		n = end
	}
	return n, nil
}

// Len returns the total length of the request, head plus declared body, once
// the head is complete, and 0 before. After Parse returned "need more" with
// Len() > 0, no new call can succeed until that many bytes are buffered.
func (r *Request) Len() int {
	if r.HeaderLen == 0 {
		return 0
	}
	if r.ContentLength > 0 {
		return r.HeaderLen + int(r.ContentLength)
	}
	return r.HeaderLen
}
