package wsframe

import (
	"encoding/binary"
	"slices"

	"github.com/gobwas/ws"
)

// The client end of a connection: a WebSocket client masks every frame it
// sends with a fresh key (RFC 6455 §5.3) and reads the server's frames
// unmasked, with a Decoder whose Client field is set.

// MaxClientHeaderSize is the header room a client frame can need: the
// server frame's MaxHeaderSize plus the 4-byte masking key.
const MaxClientHeaderSize = MaxHeaderSize + 4

// errMasked is Decode's error, in Client mode, for a masked server frame.
var errMasked = &CloseError{ws.StatusProtocolError, "MASK must be clear"}

// ClientHeaderSize returns the size of a masked frame header for a payload
// of payloadLen bytes: 6, 8 or 14.
func ClientHeaderSize(payloadLen int) int { return HeaderSize(payloadLen) + 4 }

// AppendClientFrame appends a final frame with opcode op carrying payload,
// masked with key, to dst. The payload is copied and masked in the copy;
// payload itself is not modified. dst grows at most once.
//
// key must be unpredictable to the network (RFC 6455 §10.3): draw a fresh
// one per frame from a strong source. (A load tool that wants to spend no
// CPU on masking passes the all-zero key, which leaves the payload as is.)
func AppendClientFrame(dst []byte, op ws.OpCode, payload []byte, key [4]byte) []byte {
	h := HeaderSize(len(payload))
	dst = slices.Grow(dst, h+4+len(payload))
	at := len(dst)
	dst = dst[:at+h]
	PutHeader(dst, at+h, op, len(payload))
	dst[at+1] |= maskBit
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	if key != ([4]byte{}) { // masking with zeros changes nothing
		ws.Cipher(dst[start:], key, 0)
	}
	return dst
}

// AppendClientClose appends a close frame masked with key to dst; code and
// reason follow AppendClose (0 or 1005: empty payload; the reason is cut to
// fit a control frame).
func AppendClientClose(dst []byte, code ws.StatusCode, reason string, key [4]byte) []byte {
	if code == 0 || code == ws.StatusNoStatusRcvd {
		return AppendClientFrame(dst, ws.OpClose, nil, key)
	}
	var body [maxCtlLen]byte
	p := binary.BigEndian.AppendUint16(body[:0], uint16(code))
	p = append(p, truncateReason(reason)...)
	return AppendClientFrame(dst, ws.OpClose, p, key)
}

// truncateReason cuts a close reason to what fits a control frame, at a
// whole UTF-8 character.
func truncateReason(reason string) string {
	if len(reason) <= maxCloseReason {
		return reason
	}
	// Reuse AppendClose's rule so both ends agree on the cut.
	f := AppendClose(nil, ws.StatusNormalClosure, reason)
	return string(f[4:])
}
