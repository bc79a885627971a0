package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/wsframe"
)

// Frame parsing errors. They are sentinels so the read path never allocates.
var (
	errFrameRSV      = errors.New("sioperf: frame has reserved bits set")
	errFrameTooLarge = errors.New("sioperf: frame larger than the limit")
	errFrameOpcode   = errors.New("sioperf: reserved opcode")
	errFrameControl  = errors.New("sioperf: bad control frame")
)

// frame is one parsed WebSocket frame. payload aliases the buffer given to
// parseFrame and is valid until that buffer is reused.
type frame struct {
	fin     bool
	op      ws.OpCode
	payload []byte
}

// parseFrame decodes one server-to-client frame at the start of b. It is
// not wsframe.Decoder, which checks what a server must (UTF-8 of every text
// message, among others): BenchmarkConsumeDeliveries measured 148 ns per
// delivery on the Decoder against 108 here, and the tool's CPU is what
// bounds a load test on a machine it shares with the server. It returns
// n == 0 and no error when b holds only part of a frame ("need more", as in a
// bufio.SplitFunc), so the reader keeps the bytes and reads again. A masked
// server frame is unmasked in place: servers must not mask, but tolerating it
// costs nothing and the contract only checks the payload. max bounds the
// payload length so a corrupt length cannot make the reader grow its buffer
// without limit.
func parseFrame(b []byte, max int) (f frame, n int, err error) {
	if len(b) < 2 {
		return f, 0, nil
	}
	b0, b1 := b[0], b[1]
	if b0&0x70 != 0 {
		return f, 0, errFrameRSV
	}
	f.fin = b0&0x80 != 0
	f.op = ws.OpCode(b0 & 0x0f)
	switch f.op {
	case ws.OpContinuation, ws.OpText, ws.OpBinary, ws.OpClose, ws.OpPing, ws.OpPong:
	default:
		return f, 0, errFrameOpcode
	}
	masked := b1&0x80 != 0
	hsize := 2
	length := uint64(b1 & 0x7f)
	switch length {
	case 126:
		hsize += 2
		if len(b) < hsize {
			return f, 0, nil
		}
		length = uint64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		hsize += 8
		if len(b) < hsize {
			return f, 0, nil
		}
		length = binary.BigEndian.Uint64(b[2:10])
	}
	if f.op.IsControl() && (length > 125 || !f.fin) {
		return f, 0, errFrameControl
	}
	if length > uint64(max) {
		return f, 0, errFrameTooLarge
	}
	var mask [4]byte
	if masked {
		if len(b) < hsize+4 {
			return f, 0, nil
		}
		copy(mask[:], b[hsize:hsize+4])
		hsize += 4
	}
	total := hsize + int(length)
	if len(b) < total {
		return f, 0, nil
	}
	f.payload = b[hsize:total]
	if masked {
		ws.Cipher(f.payload, mask, 0)
	}
	return f, total, nil
}

// appendFrame appends one frame: a client frame with the all-zero mask
// (the contract allows it, and the tool then spends no CPU on masking), or
// an unmasked server frame for the tests' servers. Both are wsframe's.
func appendFrame(dst []byte, op ws.OpCode, masked bool, payload []byte) []byte {
	if masked {
		return wsframe.AppendClientFrame(dst, op, payload, [4]byte{})
	}
	return wsframe.AppendFrame(dst, op, payload)
}

// intField finds the first occurrence of key (e.g. `"t":`) in b and parses
// the plain non-negative decimal integer that follows it, as the contract
// prescribes ("extracted by substring search"). ok is false when the key is
// absent or not followed by at least one digit, or when the digits overflow.
func intField(b, key []byte) (v int64, ok bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	return leadingInt(b[i+len(key):])
}

// leadingInt parses the decimal digits at the start of b.
func leadingInt(b []byte) (v int64, ok bool) {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		if n >= 18 { // 19 digits may overflow int64; the contract's values are < 2^53.
			return 0, false
		}
		v = v*10 + int64(b[n]-'0')
		n++
	}
	return v, n > 0
}

// Keys the load tool extracts from delivered messages and acks.
var (
	keyT = []byte(`"t":`)
	keyS = []byte(`"s":`)
)

// msgPrefix starts every delivered broadcast: a Socket.IO EVENT "msg".
var msgPrefix = []byte(`42["msg",`)

// pad returns n bytes of 'x' for the "pad" field.
func pad(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }

// appendBcast appends the Socket.IO payload a publisher sends. With raw set
// it appends the bytes a subscriber would receive instead (`42["msg",…]`),
// which is what the raw ceiling server forwards unchanged.
func appendBcast(dst []byte, raw bool, room string, step int, seq int64, tUs int64, padding []byte) []byte {
	if raw {
		dst = append(dst, `42["msg",{"room":"`...)
	} else {
		dst = append(dst, `42["bcast",{"room":"`...)
	}
	dst = append(dst, room...)
	dst = append(dst, `","s":`...)
	dst = strconv.AppendInt(dst, int64(step), 10)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, tUs, 10)
	dst = append(dst, `,"pad":"`...)
	dst = append(dst, padding...)
	return append(dst, `"}]`...)
}

// appendEcho appends an echo request: `42<id>["echo",{…}]` in Socket.IO mode,
// or `e{…}` in raw mode (the raw server echoes frames starting with 'e').
func appendEcho(dst []byte, raw bool, id uint64, tUs int64, padding []byte) []byte {
	if raw {
		dst = append(dst, 'e')
	} else {
		dst = append(dst, '4', '2')
		dst = strconv.AppendUint(dst, id, 10)
		dst = append(dst, `["echo",`...)
	}
	dst = append(dst, `{"t":`...)
	dst = strconv.AppendInt(dst, tUs, 10)
	dst = append(dst, `,"pad":"`...)
	dst = append(dst, padding...)
	dst = append(dst, `"}`...)
	if !raw {
		dst = append(dst, ']')
	}
	return dst
}

// appendJoin appends `42<id>["join","<room>"]`.
func appendJoin(dst []byte, id uint64, room string) []byte {
	dst = append(dst, '4', '2')
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `["join","`...)
	dst = append(dst, room...)
	return append(dst, `"]`...)
}

// ackID parses a Socket.IO ACK packet `43<id>[…]` (main namespace only, as the
// contract uses). ok is false for anything else.
func ackID(p []byte) (id uint64, ok bool) {
	if len(p) < 3 || p[0] != '4' || p[1] != '3' {
		return 0, false
	}
	v, ok := leadingInt(p[2:])
	if !ok {
		return 0, false
	}
	return uint64(v), true
}

// appendFrameText appends a client text frame (all-zero mask).
func appendFrameText(dst, payload []byte) []byte {
	return appendFrame(dst, ws.OpText, true, payload)
}
