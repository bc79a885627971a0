// Package http1 is an incremental, zero-copy HTTP/1.1 request parser and a
// small response writer for the event-loop code in loop/.
//
// # Buffer ownership
//
// Parse works on the caller's buffer and copies nothing: every []byte in a
// Request (Method, Target, Path, RawQuery, Header names and values, Body) and
// every slice returned by Get, AppendValues and friends aliases that buffer.
// The views are valid only until the caller discards, overwrites or reuses
// those bytes; for gnet that is until OnTraffic returns or the bytes are
// Discarded, whichever is first. Anything needed later (a query value handed
// to a session, a header kept for a handler) must be copied: Query returns a
// fresh string, AppendQuery copies into the caller's scratch, and ToStd
// builds a fully owned *http.Request. The views carry their length as their
// capacity, so appending to one never writes into the caller's buffer.
//
// # Incremental use
//
// Input may arrive split anywhere and several pipelined requests may share a
// buffer. Parse is stateless: the caller keeps the unconsumed bytes and calls
// it again on the whole of them once more arrive, in the shape of
// bufio.SplitFunc:
//
//	n, err := http1.Parse(buf, &req, &limits)
//	switch {
//	case err != nil: // write http1.AppendError(out, err.(*http1.Error)), then close
//	case n == 0:     // need more bytes; req.Len() > 0 tells how many in total
//	default:         // serve req, then discard buf[:n] and loop for the next one
//	}
//
// The outcome depends only on the bytes, never on where they were split.
// Each call reads at most Limits.MaxHeaderBytes bytes and never scans the
// body, so re-parsing a growing buffer costs at most that much per call and
// memory is bounded: a head that has not ended within the limit is rejected
// with 431 instead of being buffered further.
//
// # What is accepted
//
// The grammar is RFC 9112 without leniency: CRLF line ends (a bare CR or LF
// is a 400), no whitespace before a header colon, no obsolete line folding,
// no control characters other than HTAB in header values, a token method and
// a visible-ASCII request-target. Empty lines before the request line are
// skipped (RFC 9112 §2.2) and counted in HeaderLen. A missing Host is
// accepted; repeated Host headers are not. Content-Length must be plain
// digits, and repeats must be identical.
//
// Chunked request bodies are not implemented: a request whose final
// Transfer-Encoding is chunked gets ErrChunked, 501 Not Implemented (RFC 9110
// §15.6.2, a feature the server does not support), rather than 411 Length
// Required, which would wrongly tell a client that adding Content-Length is
// all that is missing when the request itself is fine. Browsers and
// engine.io-client always send Content-Length on polling POSTs, and
// de-chunking would need per-connection state and a copy. Any other
// Transfer-Encoding, or one combined with Content-Length or sent in HTTP/1.0,
// is a 400, because the body length could not be trusted.
//
// # Concurrency
//
// The functions are pure and may run on any goroutine; a Request belongs to
// one goroutine at a time (in loop/, the connection's event loop).
package http1
