package wsframe

import (
	"strconv"

	"github.com/gobwas/ws"
)

// CloseError is a protocol violation found by Decoder.Decode. Code is the
// status code the server should put in its close frame; Reason is a short
// English description for logs (ws npm does not send its reason to the
// peer, and neither need we). Decode returns one of a fixed set of
// preallocated *CloseError values, so an error costs no allocation.
type CloseError struct {
	Code   ws.StatusCode
	Reason string
}

// Error formats the reason and code, e.g. "wsframe: MASK must be set (close 1002)".
func (e *CloseError) Error() string {
	return "wsframe: " + e.Reason + " (close " + strconv.Itoa(int(e.Code)) + ")"
}

// The sentinels below are what Decode returns. Reasons follow the wording of
// the ws npm package where it has one, so logs read the same as the
// reference's.
var (
	errRSV                  = &CloseError{ws.StatusProtocolError, "RSV bits must be clear"}
	errReservedOpcode       = &CloseError{ws.StatusProtocolError, "invalid opcode"}
	errUnmasked             = &CloseError{ws.StatusProtocolError, "MASK must be set"}
	errControlFragmented    = &CloseError{ws.StatusProtocolError, "FIN must be set on control frames"}
	errControlTooLong       = &CloseError{ws.StatusProtocolError, "control frame payload longer than 125 bytes"}
	errUnexpectedContinue   = &CloseError{ws.StatusProtocolError, "continuation frame without a message to continue"}
	errExpectedContinuation = &CloseError{ws.StatusProtocolError, "new data frame inside a fragmented message"}
	errLength63             = &CloseError{ws.StatusMessageTooBig, "payload length >= 2^63"}
	errTooBig               = &CloseError{ws.StatusMessageTooBig, "Max payload size exceeded"}
	errTooManyFragments     = &CloseError{ws.StatusPolicyViolation, "Too many message fragments"}
	errInvalidUTF8          = &CloseError{ws.StatusInvalidFramePayloadData, "invalid UTF-8 sequence"}
	errCloseLength          = &CloseError{ws.StatusProtocolError, "invalid close frame payload length 1"}
	errCloseCode            = &CloseError{ws.StatusProtocolError, "invalid close status code"}
	errCloseUTF8            = &CloseError{ws.StatusInvalidFramePayloadData, "invalid UTF-8 in close reason"}
)
