package wsframe

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gobwas/ws"
)

// The tests build client frames with gobwas's encoder (ws.WriteHeader,
// ws.Cipher), not ours, so encoder and decoder bugs cannot cancel out.

// frameSpec describes one client frame; fields left zero give a final,
// masked frame with no RSV bits.
type frameSpec struct {
	op       ws.OpCode
	data     []byte
	more     bool // FIN clear
	rsv      byte // ws.Rsv(r1, r2, r3)
	unmasked bool
}

// testMask is not all zero, so a missing or doubled unmask shows.
var testMask = [4]byte{0x37, 0xFA, 0x21, 0x3D}

func (f frameSpec) bytes() []byte {
	h := ws.Header{
		Fin:    !f.more,
		Rsv:    f.rsv,
		OpCode: f.op,
		Masked: !f.unmasked,
		Mask:   testMask,
		Length: int64(len(f.data)),
	}
	var buf bytes.Buffer
	if err := ws.WriteHeader(&buf, h); err != nil {
		panic(err)
	}
	p := slices.Clone(f.data)
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	buf.Write(p)
	return buf.Bytes()
}

func textF(s string) frameSpec { return frameSpec{op: ws.OpText, data: []byte(s)} }
func binF(p []byte) frameSpec  { return frameSpec{op: ws.OpBinary, data: p} }
func pingF(s string) frameSpec { return frameSpec{op: ws.OpPing, data: []byte(s)} }
func pongF(s string) frameSpec { return frameSpec{op: ws.OpPong, data: []byte(s)} }
func firstF(op ws.OpCode, s string) frameSpec {
	return frameSpec{op: op, data: []byte(s), more: true}
}
func contF(s string, last bool) frameSpec {
	return frameSpec{op: ws.OpContinuation, data: []byte(s), more: !last}
}
func closeF(code ws.StatusCode, reason string) frameSpec {
	if code == 0 {
		return frameSpec{op: ws.OpClose}
	}
	return frameSpec{op: ws.OpClose, data: closeBody(code, reason)}
}

// fragmentsF splits s into frames of at most size bytes (the last one final).
func fragmentsF(op ws.OpCode, s string, size int) []frameSpec {
	var fs []frameSpec
	for first := true; first || s != ""; first = false {
		n := min(size, len(s))
		f := frameSpec{op: ws.OpContinuation, data: []byte(s[:n]), more: n < len(s)}
		if first {
			f.op = op
		}
		fs = append(fs, f)
		s = s[n:]
	}
	return fs
}

func streamOf(fs ...frameSpec) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.bytes()...)
	}
	return b
}

// event is a decoded message, copied out of the Decoder's views.
type event struct {
	kind    Kind
	payload string
	code    ws.StatusCode
	reason  string
}

func (e event) String() string {
	p := e.payload
	if len(p) > 40 {
		p = fmt.Sprintf("%q...(%d bytes)", p[:40], len(p))
	} else {
		p = fmt.Sprintf("%q", p)
	}
	if e.kind == KindClose {
		return fmt.Sprintf("close(%d,%q)", e.code, e.reason)
	}
	return e.kind.String() + "(" + p + ")"
}

func textE(s string) event { return event{kind: KindText, payload: s} }
func binE(s string) event  { return event{kind: KindBinary, payload: s} }
func pingE(s string) event { return event{kind: KindPing, payload: s} }
func pongE(s string) event { return event{kind: KindPong, payload: s} }
func closeE(code ws.StatusCode, reason string) event {
	e := event{kind: KindClose, code: code, reason: reason}
	if code != ws.StatusNoStatusRcvd {
		e.payload = string(closeBody(code, reason))
	}
	return e
}

// outcome is what a connection saw: messages in order, then the close code
// of a protocol error (0 if none) and how many input bytes had been fed
// when it happened.
type outcome struct {
	events  []event
	errCode ws.StatusCode
	errAt   int
}

func (o outcome) String() string {
	var sb strings.Builder
	for _, e := range o.events {
		sb.WriteString(e.String())
		sb.WriteByte(' ')
	}
	if o.errCode != 0 {
		fmt.Fprintf(&sb, "error %d", o.errCode)
	}
	return sb.String()
}

func (o outcome) equal(p outcome) bool {
	return slices.Equal(o.events, p.events) && o.errCode == p.errCode
}

// run plays the event loop: it appends each chunk to the unconsumed input,
// decodes until Decode asks for more, and stops at a close message (a
// server stops reading then) or a protocol error.
func run(d *Decoder, chunks ...[]byte) outcome {
	var out outcome
	var pending []byte
	fed := 0
	for _, c := range chunks {
		pending = append(pending, c...)
		fed += len(c)
		for {
			n, m, ok, err := d.Decode(pending)
			if err != nil {
				var ce *CloseError
				if !errors.As(err, &ce) {
					panic(fmt.Sprintf("Decode returned %T, want *CloseError", err))
				}
				if n != 0 || ok {
					panic("Decode returned n or ok with an error")
				}
				out.errCode, out.errAt = ce.Code, fed
				return out
			}
			if n < 0 || n > len(pending) {
				panic(fmt.Sprintf("Decode consumed %d of %d bytes", n, len(pending)))
			}
			if ok {
				out.events = append(out.events, event{
					kind:    m.Kind,
					payload: string(m.Payload),
					code:    m.CloseCode,
					reason:  string(m.CloseReason),
				})
				if m.Kind == KindClose {
					return out
				}
			}
			if n == 0 {
				break
			}
			pending = pending[n:]
		}
	}
	return out
}

// chop splits b into pieces of size bytes.
func chop(b []byte, size int) [][]byte {
	var cs [][]byte
	for len(b) > 0 {
		n := min(size, len(b))
		cs = append(cs, b[:n])
		b = b[n:]
	}
	return cs
}

// closeBody is a close payload; unlike ws.NewCloseFrameBody it never
// shortens the reason, so tests can send an oversized one.
func closeBody(code ws.StatusCode, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

// staticGet is a valid handshake's header lookup that does not allocate
// itself (headers.get lower-cases), for allocation counts and benchmarks.
func staticGet(name string) string {
	switch name {
	case "Upgrade":
		return "websocket"
	case "Connection":
		return "Upgrade"
	case "Sec-WebSocket-Key":
		return "dGhlIHNhbXBsZSBub25jZQ=="
	case "Sec-WebSocket-Version":
		return "13"
	}
	return ""
}
