package loop

import (
	"errors"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/wsframe"
)

// frameSink is what a WebSocket connection (server side, client side on a
// loop, client side on goroutines) does with the frames its decoder
// returns; dispatchFrames is the one loop that drives it.
type frameSink interface {
	// readMore reports whether to decode another frame: false once the
	// connection is closing, or while its reading is paused (a goroutine
	// connection waits there instead).
	readMore() bool
	// message handles a complete text or binary message.
	message(msg wsframe.Message)
	// pong answers a ping.
	pong(payload []byte)
	// protocolError sends a close frame with code and closes; err is what
	// the frame handler will see.
	protocolError(code ws.StatusCode, err error)
	// peerClosed answers the peer's close frame, echoing its code (0:
	// none), and closes cleanly.
	peerClosed(code ws.StatusCode)
}

// dispatchFrames decodes the complete frames at the start of buf while
// sink.readMore holds, hands each to sink, and returns the bytes consumed
// and whether it stopped because the connection is closing (a protocol
// error or the peer's close frame).
func dispatchFrames(dec *wsframe.Decoder, buf []byte, sink frameSink) (off int, closed bool) {
	for off < len(buf) && sink.readMore() {
		n, msg, ok, err := dec.Decode(buf[off:])
		if err != nil {
			code := ws.StatusProtocolError
			var ce *wsframe.CloseError
			if errors.As(err, &ce) {
				code = ce.Code
			}
			sink.protocolError(code, err)
			return off, true
		}
		if n == 0 {
			break
		}
		off += n
		if !ok {
			continue
		}
		switch msg.Kind {
		case wsframe.KindText, wsframe.KindBinary:
			sink.message(msg)
		case wsframe.KindPing:
			sink.pong(msg.Payload)
		case wsframe.KindClose:
			// Echo the peer's code (none for none), then close.
			code := msg.CloseCode
			if code == ws.StatusNoStatusRcvd {
				code = 0
			}
			sink.peerClosed(code)
			return off, true
		}
	}
	return off, false
}

// messageOp is the opcode of a data message: binary or text.
func messageOp(binary bool) ws.OpCode {
	if binary {
		return ws.OpBinary
	}
	return ws.OpText
}
