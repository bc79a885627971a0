package wsframe

import (
	"encoding/binary"
	"math"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// DefaultMaxMessageSize is the default message limit, the ws npm
// package's as engine.io configures it (maxHttpBufferSize, 1e6, passed as
// ws maxPayload).
const DefaultMaxMessageSize int64 = 1_000_000

// maxLimit keeps hsize+length within int on 32-bit platforms too: a client
// frame header is at most 14 bytes.
const maxLimit = int64(math.MaxInt - 14)

// Frame header bits (RFC 6455 §5.2).
const (
	finBit    = 0x80
	rsvBits   = 0x70
	opBits    = 0x0F
	maskBit   = 0x80
	lenBits   = 0x7F
	maxCtlLen = 125
)

// Kind says what a decoded Message is.
type Kind uint8

// Message kinds. The zero Kind is not used, so an unset Message is never
// mistaken for a text message.
const (
	KindText Kind = iota + 1
	KindBinary
	KindPing
	KindPong
	KindClose
)

var kindNames = [...]string{"invalid", "text", "binary", "ping", "pong", "close"}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Message is a complete data message or one control frame.
//
// Payload is unmasked. For a single-frame message or a control frame it
// aliases the b given to Decode; for a fragmented message it aliases the
// Decoder's scratch buffer. Either way it is valid until the next Decode
// call or Release, whichever comes first: copy what must live longer.
type Message struct {
	Kind    Kind
	Payload []byte
	// CloseCode is the status code of a KindClose message, or
	// ws.StatusNoStatusRcvd (1005) when the peer sent none.
	CloseCode ws.StatusCode
	// CloseReason is the valid UTF-8 reason of a KindClose message; it
	// aliases Payload.
	CloseReason []byte
	// Compressed is set on a data message whose first frame had RSV1 set
	// while Decoder.Deflate was on: Payload is then the compressed
	// payload, to be inflated (Inflater), and a text message's UTF-8 is
	// not checked yet.
	Compressed bool
}

// scratchPool holds the buffers fragmented messages are assembled in. It
// serves this purpose only, so bytebufferpool's size calibration sees one
// distribution.
var scratchPool bytebufferpool.Pool

// Decoder turns client-to-server WebSocket frames into messages, one frame
// per Decode call, over input the caller keeps buffering (see Decode).
//
// The zero value is ready to use with the default limits. A Decoder belongs
// to one connection and is not safe for concurrent use; on a gnet loop it
// is loop-only state. Unless Deflate is set, any RSV bit is an error.
type Decoder struct {
	// MaxMessageSize caps the total payload of one data message (the sum
	// of its fragments), in bytes. 0 or negative means
	// DefaultMaxMessageSize (1e6); there is no unlimited setting. A frame
	// that would cross it fails with 1009 as soon as its header is read.
	MaxMessageSize int64
	// MaxFragments caps the number of frames of one data message.
	// Exceeding it fails with 1008. 0 or negative means the effective
	// MaxMessageSize plus one: a message within the size limit is then
	// accepted however it is fragmented, down to 1-byte fragments closed
	// by an empty final frame (RFC 6455 §5.4 lets any fragmentation
	// through), while empty fragments, which the size limit does not
	// count, stay bounded too. (The ws npm package caps fragments at a
	// fixed 16384 since 8.21.1, which refuses a 4 MiB message sent in
	// 64-byte fragments whatever its size limit.) A fragment costs O(1)
	// work and state besides its payload bytes.
	MaxFragments int
	// Client makes the Decoder read server-to-client frames, for the
	// client end of a connection: frames must then be unmasked, and a
	// masked one fails with 1002 (RFC 6455 §5.1). The zero value decodes
	// client frames, which must be masked.
	Client bool
	// Deflate accepts RSV1 on the first frame of a data message, the
	// mark of a message compressed with permessage-deflate (RFC 7692
	// §6): set it on a connection that negotiated the extension. RSV1 on
	// a continuation or a control frame, and RSV2 and RSV3, stay errors
	// (1002). MaxMessageSize then bounds the compressed size; the
	// inflater bounds the decompressed one.
	Deflate bool

	err error // sticky: after a protocol error the connection is done

	// State of the fragmented message under way; fragOp is 0 when none is.
	frags   int
	msgLen  int64
	scratch *bytebufferpool.ByteBuffer

	// Validation of a text frame that has arrived only in part, so that
	// invalid UTF-8 fails the connection before the rest of the frame is
	// waited for. pendLen payload bytes of the frame at the start of b have
	// been checked (on an unmasked copy: b is not touched until the frame is
	// whole), ending in pendUTF8.
	pendLen int

	// The one-byte fields sit together: a Decoder lives in every
	// connection, and padding would cost a word for each.
	fragOp   ws.OpCode
	fragComp bool // the message under way is compressed
	msgUTF8  utf8State
	pendUTF8 utf8State
	// completed is set when the last Message aliased scratch; the buffer
	// goes back to the pool at the next Decode call.
	completed bool
}

// Decode consumes at most one frame from the start of b.
//
// b must hold every byte received and not yet consumed, starting at the
// first byte after the previous frame; it may end anywhere. Decode returns:
//
//   - n == 0, err == nil: b holds no whole frame yet; call again with more.
//   - n > 0, ok == false: a non-final fragment of a data message was
//     consumed (its payload is copied into the Decoder's scratch).
//   - n > 0, ok == true: msg is a complete data message or a control frame.
//   - err != nil (a *CloseError, n == 0): the peer broke the protocol; close
//     the connection with err's Code. The Decoder then returns the same
//     error until Release.
//
// Decode unmasks the frame's payload in place, so b is modified. Header
// problems, including a declared length past MaxMessageSize or >= 2^63,
// are reported as soon as the header is in b, before the payload arrives.
// Invalid UTF-8 in a text message is reported as soon as the bytes that
// make it invalid are in b, whether or not their frame is complete.
//
// Decode does not allocate except to grow the pooled scratch buffer of a
// fragmented message.
func (d *Decoder) Decode(b []byte) (n int, msg Message, ok bool, err error) {
	if d.err != nil {
		return 0, Message{}, false, d.err
	}
	if d.completed {
		d.releaseScratch()
	}
	if len(b) < 2 {
		return 0, Message{}, false, nil
	}
	b0, b1 := b[0], b[1]
	// Checks that need only the first two bytes, in the ws npm order.
	fin := b0&finBit != 0
	op := ws.OpCode(b0 & opBits)
	comp := false
	if b0&rsvBits != 0 {
		if b0&rsvBits != rsv1Bit || !d.Deflate || (op != ws.OpText && op != ws.OpBinary) {
			return d.fail(errRSV)
		}
		comp = true
	}
	l7 := int(b1 & lenBits)
	switch op {
	case ws.OpContinuation:
		if d.fragOp == 0 {
			return d.fail(errUnexpectedContinue)
		}
	case ws.OpText, ws.OpBinary:
		if d.fragOp != 0 {
			return d.fail(errExpectedContinuation)
		}
	case ws.OpClose, ws.OpPing, ws.OpPong:
		if !fin {
			return d.fail(errControlFragmented)
		}
		if l7 > maxCtlLen {
			return d.fail(errControlTooLong)
		}
	default:
		return d.fail(errReservedOpcode)
	}
	masked := b1&maskBit != 0
	if masked == d.Client {
		if d.Client {
			return d.fail(errMasked)
		}
		return d.fail(errUnmasked)
	}

	hsize := 2
	var length uint64
	switch l7 {
	case 126:
		if len(b) < 4 {
			return 0, Message{}, false, nil
		}
		length = uint64(binary.BigEndian.Uint16(b[2:4]))
		hsize = 4
	case 127:
		if len(b) < 10 {
			return 0, Message{}, false, nil
		}
		length = binary.BigEndian.Uint64(b[2:10])
		hsize = 10
		if length >= 1<<63 {
			return d.fail(errLength63)
		}
	default:
		length = uint64(l7)
	}

	// Limits, from the header alone: nothing is buffered or converted to
	// int before they pass.
	if !op.IsControl() {
		var sofar int64
		if op == ws.OpContinuation {
			sofar = d.msgLen
		}
		if length > uint64(d.limit()-sofar) {
			return d.fail(errTooBig)
		}
		if op == ws.OpContinuation || !fin {
			frags := 1
			if op == ws.OpContinuation {
				frags = d.frags + 1
			}
			if frags > d.fragmentLimit() {
				return d.fail(errTooManyFragments)
			}
		}
	}

	var mask [4]byte // all zero for unmasked server frames: XOR is then a no-op
	if masked {
		hsize += 4 // the masking key
		if len(b) < hsize {
			return 0, Message{}, false, nil
		}
		mask = [4]byte(b[hsize-4 : hsize])
	}
	total := hsize + int(length)

	// A compressed text message is checked once inflated.
	text := (op == ws.OpText && !comp) || (op == ws.OpContinuation && d.fragOp == ws.OpText && !d.fragComp)
	var start utf8State // UTF-8 state at the start of this frame's payload
	if op == ws.OpContinuation {
		start = d.msgUTF8
	}
	if len(b) < total {
		if text {
			if e := d.prevalidate(b[hsize:], mask, start); e != nil {
				return d.fail(e)
			}
		}
		return 0, Message{}, false, nil
	}

	payload := b[hsize:total]
	if masked {
		ws.Cipher(payload, mask, 0)
	}
	checked, checkedState := d.pendLen, d.pendUTF8
	if checked > len(payload) { // only if the caller broke the contract on b
		checked = 0
	}
	if checked == 0 {
		checkedState = start
	}
	d.pendLen, d.pendUTF8 = 0, utf8State{}

	switch op {
	case ws.OpPing:
		return total, Message{Kind: KindPing, Payload: payload}, true, nil
	case ws.OpPong:
		return total, Message{Kind: KindPong, Payload: payload}, true, nil
	case ws.OpClose:
		return d.decodeClose(total, payload)
	}

	st := start
	if text {
		var valid bool
		st, valid = checkedState.validate(payload[checked:])
		if !valid || (fin && !st.boundary()) {
			return d.fail(errInvalidUTF8)
		}
	}

	if op != ws.OpContinuation {
		if fin {
			return total, Message{Kind: kindOf(op), Payload: payload, Compressed: comp}, true, nil
		}
		// First fragment: from here on the message lives in scratch.
		d.fragOp, d.frags, d.msgLen, d.msgUTF8 = op, 1, int64(length), st
		d.fragComp = comp
		d.scratch = scratchPool.Get()
		d.scratch.B = append(d.scratch.B[:0], payload...)
		return total, Message{}, false, nil
	}

	d.frags++
	d.msgLen += int64(length)
	d.msgUTF8 = st
	d.scratch.B = append(d.scratch.B, payload...)
	if !fin {
		return total, Message{}, false, nil
	}
	kind, comp := kindOf(d.fragOp), d.fragComp
	d.fragOp, d.frags, d.msgLen, d.msgUTF8, d.fragComp = 0, 0, 0, utf8State{}, false
	d.completed = true
	return total, Message{Kind: kind, Payload: d.scratch.B, Compressed: comp}, true, nil
}

// prevalidate checks the UTF-8 of the part of a text frame's payload that
// has arrived. b must stay masked (a gnet Peek may hand over a copy, so an
// in-place change could be lost or applied twice), hence the unmasked copy
// in chunks on the stack. Only bytes past pendLen are looked at, so a frame
// trickling in costs O(frame) in total.
func (d *Decoder) prevalidate(p []byte, mask [4]byte, start utf8State) *CloseError {
	if d.pendLen == 0 || d.pendLen > len(p) {
		d.pendLen, d.pendUTF8 = 0, start
	}
	st := d.pendUTF8
	var chunk [256]byte
	for off := d.pendLen; off < len(p); {
		c := copy(chunk[:], p[off:])
		ws.Cipher(chunk[:c], mask, off)
		var valid bool
		if st, valid = st.validate(chunk[:c]); !valid {
			return errInvalidUTF8
		}
		off += c
	}
	d.pendLen, d.pendUTF8 = len(p), st
	return nil
}

// decodeClose validates a close frame's payload (RFC 6455 §5.5.1, §7.4).
func (d *Decoder) decodeClose(n int, p []byte) (int, Message, bool, error) {
	m := Message{Kind: KindClose, Payload: p, CloseCode: ws.StatusNoStatusRcvd}
	switch {
	case len(p) == 0:
		return n, m, true, nil
	case len(p) == 1:
		return d.fail(errCloseLength)
	}
	m.CloseCode = ws.StatusCode(binary.BigEndian.Uint16(p))
	if !ValidCloseCode(m.CloseCode) {
		return d.fail(errCloseCode)
	}
	m.CloseReason = p[2:]
	if !utf8.Valid(m.CloseReason) {
		return d.fail(errCloseUTF8)
	}
	return n, m, true, nil
}

// ValidCloseCode reports whether a peer may send code in a close frame: the
// codes RFC 6455 and IANA define for the wire (1000-1003, 1007-1014) and the
// application and private ranges 3000-4999. 1004, 1005, 1006 and 1015 are
// reserved, and 1016-2999 and >= 5000 unassigned; like the ws npm package
// we answer those with 1002.
func ValidCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1014:
		return code != 1004 && code != ws.StatusNoStatusRcvd && code != ws.StatusAbnormalClosure
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// Between reports whether d holds nothing that the next frames depend on:
// no fragmented message under way and no error. (A frame received in part
// is only checked ahead; a fresh Decoder checks it again from its start.)
// A Decoder that is Between can be Released and replaced by a fresh one
// with the same limits without changing what is decoded next, so a
// connection need not keep a Decoder while it is idle.
func (d *Decoder) Between() bool {
	return d.err == nil && d.fragOp == 0
}

// Release returns the scratch buffer to its pool and resets the Decoder to
// its zero state, keeping the limits. Call it when the connection closes;
// Message views into scratch are invalid afterwards. It is safe to call
// more than once.
func (d *Decoder) Release() {
	d.releaseScratch()
	d.err = nil
	d.fragOp, d.frags, d.msgLen, d.msgUTF8, d.fragComp = 0, 0, 0, utf8State{}, false
	d.pendLen, d.pendUTF8 = 0, utf8State{}
}

func (d *Decoder) releaseScratch() {
	if d.scratch != nil {
		poison(d.scratch.B)
		scratchPool.Put(d.scratch)
		d.scratch = nil
	}
	d.completed = false
}

// fail makes err sticky and frees the scratch: the connection is closing.
func (d *Decoder) fail(err *CloseError) (int, Message, bool, error) {
	d.err = err
	d.releaseScratch()
	return 0, Message{}, false, err
}

func (d *Decoder) limit() int64 {
	m := d.MaxMessageSize
	if m <= 0 {
		return DefaultMaxMessageSize
	}
	return min(m, maxLimit)
}

func (d *Decoder) fragmentLimit() int {
	if d.MaxFragments <= 0 {
		return int(d.limit()) + 1 // limit() <= MaxInt-14
	}
	return d.MaxFragments
}

func kindOf(op ws.OpCode) Kind {
	if op == ws.OpText {
		return KindText
	}
	return KindBinary
}
