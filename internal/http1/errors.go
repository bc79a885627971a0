package http1

// Error is a request the parser rejects, with the HTTP status the server
// should answer before closing the connection. Parse returns only
// preallocated *Error values, so rejecting a request never allocates.
type Error struct {
	// Status is the HTTP status code for the response (400, 413, 431, 501
	// or 505 from Parse).
	Status int
	// Msg is a short lower-case English description, safe to show the peer.
	Msg string
}

// Error returns the message with the package prefix.
func (e *Error) Error() string { return "http1: " + e.Msg }

// Is reports whether target is an *Error with the same Status. Parse returns
// more specific values than the exported sentinels (for example "obsolete
// line folding" rather than plain "bad request") so that logs say what was
// wrong; Is lets callers still write errors.Is(err, ErrBadRequest) for every
// 400 rejection.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status
}

// Exported sentinels. Compare with errors.Is, which matches on Status.
var (
	// ErrBadRequest (400) covers every syntax or framing error.
	ErrBadRequest = &Error{Status: 400, Msg: "bad request"}
	// ErrHeaderTooLarge (431) is returned once the head exceeds
	// Limits.MaxHeaderBytes or Limits.MaxHeaders, even before the blank line
	// ending the head has arrived, so a peer cannot make the caller buffer an
	// unbounded head.
	ErrHeaderTooLarge = &Error{Status: 431, Msg: "request header fields too large"}
	// ErrBodyTooLarge (413) is returned as soon as the head declares a
	// Content-Length above Limits.MaxBodyBytes, before any body byte arrives.
	ErrBodyTooLarge = &Error{Status: 413, Msg: "request body too large"}
	// ErrVersion (505) is returned for a well-formed HTTP version other than
	// 1.x, including the HTTP/2 connection preface "PRI * HTTP/2.0".
	ErrVersion = &Error{Status: 505, Msg: "HTTP version not supported"}
	// ErrChunked (501) is returned for a request whose final transfer coding
	// is chunked. Engine.IO clients always send Content-Length on polling
	// POSTs, so chunked request bodies are deliberately not implemented; see
	// the package documentation.
	ErrChunked = &Error{Status: 501, Msg: "chunked request bodies are not implemented"}
)

// Specific rejections. They match the exported sentinel of the same Status
// under errors.Is and exist so that logs and tests can tell causes apart.
var (
	errRequestLine   = &Error{Status: 400, Msg: "malformed request line"}
	errTarget        = &Error{Status: 400, Msg: "malformed request target"}
	errVersionSyntax = &Error{Status: 400, Msg: "malformed HTTP version"}
	errLineEnd       = &Error{Status: 400, Msg: "line not terminated by CRLF"}
	errHeaderName    = &Error{Status: 400, Msg: "malformed header field name"}
	errHeaderValue   = &Error{Status: 400, Msg: "invalid character in header field value"}
	errObsFold       = &Error{Status: 400, Msg: "obsolete line folding is not allowed"}
	errContentLength = &Error{Status: 400, Msg: "invalid Content-Length"}
	errDupLength     = &Error{Status: 400, Msg: "conflicting Content-Length headers"}
	errLengthAndTE   = &Error{Status: 400, Msg: "both Content-Length and Transfer-Encoding"}
	errTE            = &Error{Status: 400, Msg: "unsupported Transfer-Encoding"}
	errTE10          = &Error{Status: 400, Msg: "Transfer-Encoding in an HTTP/1.0 request"}
	errDupHost       = &Error{Status: 400, Msg: "multiple Host headers"}
	errTooMany       = &Error{Status: 431, Msg: "too many header fields"}
)
