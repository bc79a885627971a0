package eio

import "strconv"

// RequestError is a refused request, answered with HTTP status Status and
// the JSON body {"code":Code,"message":Message}, exactly as engine.io does.
type RequestError struct {
	Status  int
	Code    int
	Message string
}

// Error implements error.
func (e *RequestError) Error() string { return "eio: " + e.Message }

func (e *RequestError) body() []byte {
	b := make([]byte, 0, 48+len(e.Message))
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	return append(b, '}')
}

// The engine.io error codes.
var (
	ErrUnknownTransport   = &RequestError{400, 0, "Transport unknown"}
	ErrUnknownSID         = &RequestError{400, 1, "Session ID unknown"}
	ErrBadHandshakeMethod = &RequestError{400, 2, "Bad handshake method"}
	ErrBadRequest         = &RequestError{400, 3, "Bad request"}
	ErrForbidden          = &RequestError{403, 4, "Forbidden"}
	ErrUnsupportedVersion = &RequestError{400, 5, "Unsupported protocol version"}
	// ErrTooManyPending refuses a handshake past Config.MaxPendingSessions
	// or MaxPendingSessionsPerIP (not an engine.io error: the reference
	// has no such bound).
	ErrTooManyPending = &RequestError{503, 4, "Too many pending sessions"}
	// ErrServerBusy refuses a request whose callbacks would run past
	// Config.MaxBlockingRequests (not an engine.io error either).
	ErrServerBusy = &RequestError{503, 4, "Server busy"}
)

// Close reasons reported to Session.OnClose, as engine.io names them.
const (
	ReasonTransportClose = "transport close"
	ReasonTransportError = "transport error"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
	ReasonForcedClose    = "forced close"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string without HTML escaping, the
// way JSON.stringify writes it.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
