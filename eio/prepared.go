package eio

import (
	"encoding/base64"
	"slices"
	"sync"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/wsframe"
)

// Prepared is a message (one text packet and optional binary attachments)
// encoded once, to be sent to many sessions. It is immutable after Prepare
// and safe to share between goroutines.
//
// Only the WebSocket frames are built at once, since most recipients take
// those; the polling form is built from them by the first polling
// recipient, and the deflated frames by the first recipient that
// negotiated permessage-deflate.
type Prepared struct {
	frames []byte   // WebSocket frames, header and payload, back to back
	text   []byte   // payload of the text frame ("4" and the text), in frames; nil for PrepareBinary
	bins   [][]byte // payloads of the binary frames, in frames

	pollOnce sync.Once
	poll     []byte   // polling records separated by 0x1E
	recs     []record // ends of the records in poll

	dflOnce  sync.Once
	dfl      []byte
	dflThres int
	dflLevel int
}

// BuildReserve is the room at the front of a buffer in which a text
// message is built for SendBuilt or PrepareBuilt: the largest WebSocket
// frame header and the Engine.IO packet type. The caller appends the
// message's text after it, and the session frames the message in place,
// so that the text is written once by its encoder and copied once, into
// the connection's output.
const BuildReserve = wsframe.MaxHeaderSize + 1

// BeginBuild returns dst extended by BuildReserve bytes, after which the
// caller appends a text message's text. The reserved bytes are the
// session's to overwrite.
func BeginBuild(dst []byte) []byte {
	dst = slices.Grow(dst, BuildReserve)
	return dst[:len(dst)+BuildReserve]
}

// BuildCap is the capacity a buffer needs for PrepareBuilt to frame a
// message of textLen bytes of text and these binaries where it was built,
// without moving the text.
func BuildCap(textLen int, binaries [][]byte) int {
	return BuildReserve + textLen + framesSize(binaries)
}

// Prepare encodes an Engine.IO message: text (without the type byte), then
// each binary attachment. The inputs are copied.
func Prepare(text []byte, binaries ...[]byte) *Prepared {
	m := BeginBuild(make([]byte, 0, BuildCap(len(text), binaries)))
	return PrepareBuilt(append(m, text...), binaries...)
}

// PrepareBuilt is Prepare of a text message built after BeginBuild: m is
// BeginBuild's result with the text appended. It takes m, whose text is not
// copied again: the caller must not use m afterwards, nor hand PrepareBuilt
// a buffer that goes back to a pool. The binaries are copied; the text
// is moved once if m has less capacity than BuildCap.
func PrepareBuilt(m []byte, binaries ...[]byte) *Prepared {
	m[wsframe.MaxHeaderSize] = typeMessage
	h := wsframe.PutHeader(m, wsframe.MaxHeaderSize, ws.OpText, len(m)-wsframe.MaxHeaderSize)
	p := &Prepared{frames: m[h:]}
	if len(binaries) > 0 {
		p.frames = slices.Grow(p.frames, framesSize(binaries))
		p.bins = make([][]byte, len(binaries))
		for i, b := range binaries {
			p.frames = wsframe.AppendFrame(p.frames, ws.OpBinary, b)
			p.bins[i] = p.frames[len(p.frames)-len(b):]
		}
	}
	p.text = p.frames[wsframe.MaxHeaderSize-h : len(m)-h]
	return p
}

// framesSize is the most the frames of binaries take.
func framesSize(binaries [][]byte) int {
	n := 0
	for _, b := range binaries {
		n += wsframe.MaxHeaderSize + len(b)
	}
	return n
}

// PrepareBinary encodes one binary Engine.IO message (a packet of a binary
// parser such as msgpack) once for every transport. b is copied.
func PrepareBinary(b []byte) *Prepared {
	p := &Prepared{frames: wsframe.AppendFrame(make([]byte, 0, wsframe.MaxHeaderSize+len(b)), ws.OpBinary, b)}
	p.bins = [][]byte{p.frames[len(p.frames)-len(b):]}
	return p
}

// pollForm returns the polling records, building them on first use.
func (p *Prepared) pollForm() (poll []byte, recs []record) {
	p.pollOnce.Do(func() {
		n := len(p.text)
		for _, b := range p.bins {
			n += 2 + base64.StdEncoding.EncodedLen(len(b))
		}
		p.poll = make([]byte, 0, n)
		if p.text != nil {
			p.poll = append(p.poll, p.text...)
			p.recs = append(p.recs, record{end: len(p.poll)})
		}
		for _, b := range p.bins {
			if len(p.poll) > 0 {
				p.poll = append(p.poll, recordSep)
			}
			p.poll = base64.StdEncoding.AppendEncode(append(p.poll, 'b'), b)
			p.recs = append(p.recs, record{end: len(p.poll), binary: true})
		}
	})
	return p.poll, p.recs
}

// Frames returns the WebSocket encoding. Do not modify it.
func (p *Prepared) Frames() []byte { return p.frames }

// DeflatedFrames returns the WebSocket encoding for a connection that
// negotiated permessage-deflate with the given threshold and
// compress/flate level (DeflateConn): the frames of at least threshold
// payload bytes compressed. The first call builds it and keeps it, so a
// broadcast is compressed once for all its recipients; a call with other
// parameters than the first (connections of servers configured
// differently) compresses anew each time. Safe for concurrent use; do not
// modify the result.
func (p *Prepared) DeflatedFrames(threshold, level int) []byte {
	p.dflOnce.Do(func() {
		p.dflThres, p.dflLevel = threshold, level
		p.dfl = wsframe.AppendDeflatedFrames(nil, p.frames, threshold, level)
	})
	if p.dflThres == threshold && p.dflLevel == level {
		return p.dfl
	}
	return wsframe.AppendDeflatedFrames(nil, p.frames, threshold, level)
}

// writeTo writes p to l's connection in the encoding it needs.
func (p *Prepared) writeTo(l *liveWS) {
	if l.deflate {
		threshold, level, _ := l.c.(DeflateConn).Deflate()
		l.c.WriteFrames(p.DeflatedFrames(threshold, level))
		return
	}
	l.c.WriteFrames(p.frames)
}

// deflates reports whether c negotiated permessage-deflate.
func deflates(c WSConn) bool {
	d, ok := c.(DeflateConn)
	if !ok {
		return false
	}
	_, _, on := d.Deflate()
	return on
}
