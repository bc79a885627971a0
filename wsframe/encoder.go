package wsframe

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// MaxHeaderSize is the header room a server frame can need in front of its
// payload: 2 bytes plus an 8-byte extended length. Server frames are never
// masked (RFC 6455 §5.1), so the 4 key bytes of gobwas's ws.MaxHeaderSize
// (14) are never used.
const MaxHeaderSize = 10

// maxCloseReason is the longest close reason that fits a control frame:
// 125 bytes of payload minus the 2-byte code.
const maxCloseReason = maxCtlLen - 2

// HeaderSize returns the size of an unmasked frame header for a payload of
// payloadLen bytes: 2, 4 or 10.
func HeaderSize(payloadLen int) int {
	switch {
	case payloadLen <= 125:
		return 2
	case payloadLen <= 0xFFFF:
		return 4
	}
	return 10
}

// PutHeader writes the header of a final (FIN) unmasked frame with opcode op
// and an n-byte payload into buf so that it ends exactly at buf[end], and
// returns the index where it starts. The frame is then buf[start:end+n].
//
// It lets a caller reserve MaxHeaderSize bytes, append the payload after
// them and frame it afterwards without moving it (as lxzan/gws genFrame
// does). It panics if n is negative or end < HeaderSize(n).
func PutHeader(buf []byte, end int, op ws.OpCode, n int) (start int) {
	if n < 0 {
		panic("wsframe: negative payload length")
	}
	b0 := finBit | byte(op)&opBits
	switch {
	case n <= 125:
		start = end - 2
		buf[start+1] = byte(n)
	case n <= 0xFFFF:
		start = end - 4
		buf[start+1] = 126
		binary.BigEndian.PutUint16(buf[start+2:end], uint16(n))
	default:
		start = end - 10
		buf[start+1] = 127
		binary.BigEndian.PutUint64(buf[start+2:end], uint64(n))
	}
	buf[start] = b0
	return start
}

// AppendFrame appends a final unmasked frame with opcode op carrying
// payload to dst. It copies payload and grows dst at most once.
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	h := HeaderSize(len(payload))
	dst = slices.Grow(dst, h+len(payload))
	at := len(dst)
	dst = dst[:at+h]
	PutHeader(dst, at+h, op, len(payload))
	return append(dst, payload...)
}

// AppendClose appends a close frame to dst. A code of 0, or 1005 (which
// means "no status code" and must never be sent, RFC 6455 §7.4.1), gives an
// empty payload; so echoing a decoded Message.CloseCode is always right.
// Otherwise the payload is the code and reason. A reason longer than 123 bytes (what fits
// a control frame) is cut at the last whole UTF-8 character that fits.
func AppendClose(dst []byte, code ws.StatusCode, reason string) []byte {
	if code == 0 || code == ws.StatusNoStatusRcvd {
		return AppendFrame(dst, ws.OpClose, nil)
	}
	if len(reason) > maxCloseReason {
		cut := maxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	n := 2 + len(reason)
	dst = slices.Grow(dst, 2+n)
	at := len(dst)
	dst = dst[:at+2]
	PutHeader(dst, at+2, ws.OpClose, n)
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}
