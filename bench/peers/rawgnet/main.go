// Command rawgnet is the ceiling peer of the sioloop benchmarks: a raw
// WebSocket fan-out server on gnet v2 with no Engine.IO or Socket.IO work,
// implementing the contract's raw mode (cmd/sioperf -proto raw):
//
//   - any path is upgraded to WebSocket;
//   - a text frame whose payload starts with 'e' is echoed to its sender;
//   - any other text frame is written, byte-identical, to every other
//     connection.
//
// Writes are coalesced: a frame for a connection is appended to that
// connection's pending buffer, and each event loop flushes every pending
// buffer with one Write per connection once per loop wake-up (a flush task
// queued on the loop runs after the I/O events of the current epoll batch).
// That is the lever (BENCHMARKS.md, What limits us): one write(2) costs
// about the same for 1 or 64 frames.
//
// Usage: rawgnet -addr 127.0.0.1:3003 [-loops N]
package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

const (
	// maxHeader bounds the HTTP upgrade request.
	maxHeader = 16 << 10
	// maxPayload bounds one frame (the socket.io default maxPayload).
	maxPayload = 1 << 20
	// wsGUID is the RFC 6455 key suffix.
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

var (
	errBadRequest = errors.New("rawgnet: bad upgrade request")
	errProtocol   = errors.New("rawgnet: WebSocket protocol error")
	errTooLarge   = errors.New("rawgnet: frame too large")
)

// connState is one connection's state; loop-only.
type connState struct {
	c        gnet.Conn
	loop     *loopState
	upgraded bool
	closed   bool
	dirty    bool   // in loop.dirty
	pending  []byte // frames waiting for this wake-up's flush
	frag     []byte // payload of a fragmented message being assembled
	fragOp   ws.OpCode
	scratch  []byte // echo frame scratch; queue copies it
}

// loopState is one event loop's set of upgraded connections and its flush
// list. It is touched only on its loop's goroutine (callbacks and tasks).
type loopState struct {
	el          gnet.EventLoop
	conns       map[*connState]struct{}
	dirty       []*connState
	flushQueued bool
	flushTask   gnet.RunnableFunc
	maxOutbound int
}

// server is the gnet event handler.
type server struct {
	gnet.BuiltinEventEngine
	addr        string
	maxOutbound int

	mu     sync.Mutex // guards byLoop
	byLoop map[gnet.EventLoop]*loopState
	// loops is a copy-on-write snapshot of byLoop's values, read by
	// broadcasts on any loop.
	loops atomic.Pointer[[]*loopState]

	eng    gnet.Engine // guarded by mu
	booted bool        // guarded by mu
}

func (s *server) OnBoot(eng gnet.Engine) gnet.Action {
	s.mu.Lock()
	s.eng = eng
	s.booted = true
	s.mu.Unlock()
	log.Printf("rawgnet listening on %s", s.addr)
	return gnet.None
}

// loopOf returns (creating on first use) the state of c's loop.
func (s *server) loopOf(c gnet.Conn) *loopState {
	el := c.EventLoop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ls, ok := s.byLoop[el]; ok {
		return ls
	}
	ls := &loopState{el: el, conns: map[*connState]struct{}{}, maxOutbound: s.maxOutbound}
	ls.flushTask = func(context.Context) error { ls.flush(); return nil }
	s.byLoop[el] = ls
	all := make([]*loopState, 0, len(s.byLoop))
	for _, l := range s.byLoop {
		all = append(all, l)
	}
	s.loops.Store(&all)
	return ls
}

func (s *server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&connState{c: c, loop: s.loopOf(c)})
	return nil, gnet.None
}

func (s *server) OnClose(c gnet.Conn, _ error) gnet.Action {
	cs, ok := c.Context().(*connState)
	if !ok {
		return gnet.None
	}
	cs.closed = true
	delete(cs.loop.conns, cs)
	return gnet.None
}

func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	cs, ok := c.Context().(*connState)
	if !ok || cs.closed {
		return gnet.Close
	}
	if !cs.upgraded {
		done, err := s.upgrade(cs)
		if err != nil {
			return gnet.Close
		}
		if !done {
			return gnet.None
		}
	}
	for {
		more, err := s.frame(cs)
		if err != nil {
			return gnet.Close
		}
		if !more {
			return gnet.None
		}
	}
}

// upgrade handles the HTTP request once it has fully arrived. It reports
// done == false while the header is still incomplete.
func (s *server) upgrade(cs *connState) (done bool, err error) {
	c := cs.c
	n := c.InboundBuffered()
	if n == 0 {
		return false, nil
	}
	buf, err := c.Peek(n)
	if err != nil {
		return false, err
	}
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if n > maxHeader {
			return false, errBadRequest
		}
		return false, nil
	}
	if end+4 > maxHeader {
		return false, errBadRequest
	}
	key, ok := upgradeKey(buf[:end])
	if !ok {
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
		return false, errBadRequest
	}
	resp := appendAccept([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "), key)
	resp = append(resp, "\r\n\r\n"...)
	if _, err := c.Discard(end + 4); err != nil {
		return false, err
	}
	if _, err := c.Write(resp); err != nil {
		return false, err
	}
	cs.upgraded = true
	cs.loop.conns[cs] = struct{}{}
	return true, nil
}

// upgradeKey validates a GET WebSocket upgrade request header block and
// returns its Sec-WebSocket-Key.
func upgradeKey(hdr []byte) (key []byte, ok bool) {
	lines := bytes.Split(hdr, []byte("\r\n"))
	if len(lines) == 0 || !bytes.HasPrefix(lines[0], []byte("GET ")) {
		return nil, false
	}
	var upgrade bool
	for _, l := range lines[1:] {
		name, val, found := bytes.Cut(l, []byte(":"))
		if !found {
			return nil, false
		}
		val = bytes.TrimSpace(val)
		switch {
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Key")):
			key = val
		case bytes.EqualFold(name, []byte("Upgrade")):
			upgrade = bytes.EqualFold(val, []byte("websocket"))
		}
	}
	return key, upgrade && len(key) > 0
}

func appendAccept(dst, key []byte) []byte {
	h := sha1.New()
	h.Write(key)
	h.Write([]byte(wsGUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.AppendEncode(dst, h.Sum(sum[:0]))
}

// frame handles one complete frame if the buffer holds one. more reports
// whether a frame was consumed (so the caller loops); a partial frame stays
// buffered untouched until more bytes arrive.
func (s *server) frame(cs *connState) (more bool, err error) {
	c := cs.c
	n := c.InboundBuffered()
	if n < 2 {
		return false, nil
	}
	hb, err := c.Peek(2)
	if err != nil {
		return false, err
	}
	b0, b1 := hb[0], hb[1]
	if b1&0x80 == 0 {
		return false, errProtocol // client frames must be masked
	}
	lsize := 2 // header bytes up to and including the length
	switch b1 & 0x7f {
	case 126:
		lsize += 2
	case 127:
		lsize += 8
	}
	hsize := lsize + 4 // plus the masking key
	if n < lsize {
		return false, nil
	}
	hb, err = c.Peek(lsize)
	if err != nil {
		return false, err
	}
	length := uint64(b1 & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(hb[2:4]))
	case 127:
		length = binary.BigEndian.Uint64(hb[2:10])
	}
	fin := b0&0x80 != 0
	op := ws.OpCode(b0 & 0x0f)
	if b0&0x70 != 0 || (op.IsControl() && (length > 125 || !fin)) {
		return false, errProtocol
	}
	// Reject an oversized frame as soon as its length is known, before its
	// bytes pile up in the inbound buffer.
	if length > maxPayload {
		return false, errTooLarge
	}
	if n < hsize {
		return false, nil
	}
	hb, err = c.Peek(hsize)
	if err != nil {
		return false, err
	}
	var mask [4]byte
	copy(mask[:], hb[hsize-4:hsize])
	total := hsize + int(length)
	if n < total {
		return false, nil // partial frame: wait, keep the bytes
	}
	fb, err := c.Peek(total)
	if err != nil {
		return false, err
	}
	payload := fb[hsize:total]
	ws.Cipher(payload, mask, 0)
	switch op {
	case ws.OpText, ws.OpBinary:
		if !fin {
			cs.fragOp = op
			cs.frag = append(cs.frag[:0], payload...)
			break
		}
		s.message(cs, op, payload)
	case ws.OpContinuation:
		if cs.fragOp == 0 {
			return false, errProtocol
		}
		if len(cs.frag)+len(payload) > maxPayload {
			return false, errTooLarge
		}
		cs.frag = append(cs.frag, payload...)
		if fin {
			s.message(cs, cs.fragOp, cs.frag)
			cs.fragOp = 0
			cs.frag = nil
		}
	case ws.OpPing:
		cs.queue(appendServerFrame(nil, ws.OpPong, payload))
	case ws.OpPong:
	case ws.OpClose:
		c.Write(appendServerFrame(nil, ws.OpClose, nil))
		return false, errors.New("rawgnet: closed by peer")
	default:
		return false, errProtocol
	}
	if _, err := c.Discard(total); err != nil {
		return false, err
	}
	return true, nil
}

// message routes one complete data message.
func (s *server) message(cs *connState, op ws.OpCode, payload []byte) {
	if op != ws.OpText {
		return
	}
	if len(payload) > 0 && payload[0] == 'e' {
		cs.scratch = appendServerFrame(cs.scratch[:0], ws.OpText, payload)
		cs.queue(cs.scratch)
		return
	}
	frame := appendServerFrame(nil, ws.OpText, payload)
	own := cs.loop
	for c := range own.conns {
		if c != cs {
			c.queue(frame)
		}
	}
	// Connections on other loops are written by their own loop: one task
	// per loop carries the frame (the frame slice is not reused after this,
	// so sharing it is safe).
	if ls := s.loops.Load(); ls != nil {
		for _, l := range *ls {
			if l == own {
				continue
			}
			l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				for c := range l.conns {
					c.queue(frame)
				}
				return nil
			}))
		}
	}
}

// queue appends a frame to the connection's pending buffer and makes sure
// the loop flushes it after this wake-up.
func (cs *connState) queue(frame []byte) {
	if cs.closed {
		return
	}
	cs.pending = append(cs.pending, frame...)
	if cs.dirty {
		return
	}
	cs.dirty = true
	l := cs.loop
	l.dirty = append(l.dirty, cs)
	if !l.flushQueued {
		l.flushQueued = true
		// The task runs when the loop next drains its task queue, after
		// the I/O events of the current epoll batch, so every frame queued
		// by this batch shares one write per connection.
		l.el.Execute(context.Background(), l.flushTask)
	}
}

// flush writes each dirty connection's pending frames in one Write.
func (l *loopState) flush() {
	l.flushQueued = false
	dirty := l.dirty
	l.dirty = l.dirty[:0]
	for i, cs := range dirty {
		dirty[i] = nil
		cs.dirty = false
		if cs.closed {
			cs.pending = nil
			continue
		}
		if l.maxOutbound > 0 && cs.c.OutboundBuffered() > l.maxOutbound {
			// A consumer this far behind would take the server's memory
			// with it; drop the connection (the load tool reports it).
			cs.pending = nil
			l.el.Close(cs.c)
			continue
		}
		// Write copies whatever the kernel does not take now.
		cs.c.Write(cs.pending)
		if cap(cs.pending) > 64<<10 {
			cs.pending = nil // do not keep a burst's buffer on an idle conn
		} else {
			cs.pending = cs.pending[:0]
		}
	}
}

// appendServerFrame appends an unmasked, unfragmented frame.
func appendServerFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	dst = append(dst, 0x80|byte(op))
	n := len(payload)
	switch {
	case n < 126:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

func newServer(addr string, maxOutbound int) *server {
	return &server{addr: addr, maxOutbound: maxOutbound, byLoop: map[gnet.EventLoop]*loopState{}}
}

// run serves until the engine stops.
func (s *server) run(loops int) error {
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReuseAddr(true),
	}
	if loops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(loops))
	}
	return gnet.Run(s, "tcp://"+s.addr, opts...)
}

// stop stops a booted engine; it reports false before boot.
func (s *server) stop() bool {
	s.mu.Lock()
	eng, booted := s.eng, s.booted
	s.mu.Unlock()
	if !booted {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	eng.Stop(ctx)
	return true
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3003", "listen address")
	loops := flag.Int("loops", 0, "event loops (0: one per CPU this process may use)")
	maxOut := flag.Int("max-outbound", 256<<20, "close a connection whose unsent bytes exceed this")
	flag.Parse()

	s := newServer(*addr, *maxOut)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		if !s.stop() {
			os.Exit(0)
		}
	}()
	if err := s.run(*loops); err != nil {
		fmt.Fprintln(os.Stderr, "rawgnet:", err)
		os.Exit(1)
	}
}
