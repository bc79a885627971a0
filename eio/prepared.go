package eio

import (
	"encoding/base64"
	"sync"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/wsframe"
)

// Prepared is a message (one text packet and optional binary attachments)
// encoded once for every transport, to be sent to many sessions. It is
// immutable after Prepare and safe to share between goroutines.
type Prepared struct {
	frames []byte   // WebSocket frames, header and payload, back to back
	poll   []byte   // polling records separated by 0x1E
	recs   []record // ends of the records in poll

	// The frames for connections that negotiated permessage-deflate,
	// built by the first such recipient (deflated).
	dflOnce  sync.Once
	dfl      []byte
	dflThres int
	dflLevel int
}

// Prepare encodes an Engine.IO message: text (without the type byte), then
// each binary attachment. The inputs are copied.
func Prepare(text []byte, binaries ...[]byte) *Prepared {
	p := &Prepared{}
	n := wsframe.MaxHeaderSize + 1 + len(text)
	pn := 1 + len(text)
	for _, b := range binaries {
		n += wsframe.MaxHeaderSize + len(b)
		pn += 2 + base64.StdEncoding.EncodedLen(len(b))
	}
	p.frames = make([]byte, 0, n)
	p.frames = appendMessageFrame(p.frames, text)
	for _, b := range binaries {
		p.frames = wsframe.AppendFrame(p.frames, ws.OpBinary, b)
	}
	p.poll = make([]byte, 0, pn)
	p.poll = append(append(p.poll, typeMessage), text...)
	p.recs = append(p.recs, record{end: len(p.poll)})
	for _, b := range binaries {
		p.poll = append(p.poll, recordSep, 'b')
		p.poll = base64.StdEncoding.AppendEncode(p.poll, b)
		p.recs = append(p.recs, record{end: len(p.poll), binary: true})
	}
	return p
}

// PrepareBinary encodes one binary Engine.IO message (a packet of a binary
// parser such as msgpack) once for every transport. b is copied.
func PrepareBinary(b []byte) *Prepared {
	p := &Prepared{}
	p.frames = wsframe.AppendFrame(make([]byte, 0, wsframe.MaxHeaderSize+len(b)), ws.OpBinary, b)
	p.poll = make([]byte, 0, 1+base64.StdEncoding.EncodedLen(len(b)))
	p.poll = base64.StdEncoding.AppendEncode(append(p.poll, 'b'), b)
	p.recs = append(p.recs, record{end: len(p.poll), binary: true})
	return p
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

// appendMessageFrame appends a text frame holding "4"+text.
func appendMessageFrame(dst, text []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, wsframe.MaxHeaderSize)...)
	dst = append(dst, typeMessage)
	dst = append(dst, text...)
	end := start + wsframe.MaxHeaderSize
	h := wsframe.PutHeader(dst, end, ws.OpText, 1+len(text))
	if h != start {
		// Close the gap left by a header shorter than the reserve.
		n := copy(dst[start:], dst[h:])
		dst = dst[:start+n]
	}
	return dst
}
