package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
)

// conn is one client WebSocket connection. Its reader (the reader goroutine
// with -io goroutine, the event loop's OnMessage with -io loop) owns the
// handshake state and the delivery batch; only one runs at a time.
type conn struct {
	p       *pool
	nc      net.Conn // -io goroutine
	idx     int
	room    string
	viaLoop bool      // -io loop
	poll    *pollConn // -transport polling; set before the reader starts

	start time.Time                     // handshake start
	done  func(*conn, time.Time, error) // called once when the handshake ends
	phase atomic.Int32                  // phHandshake, phReady or phFailed
	timer atomic.Pointer[time.Timer]    // -io loop: handshake deadline

	wmu  sync.Mutex // guards wbuf, ebuf, wsc and writes to nc
	wbuf []byte
	ebuf []byte     // echo payload scratch
	wsc  eio.WSConn // -io loop: the connection, once known

	// Reader-owned state.
	state   int
	joinID  uint64
	rbuf    []byte
	frag    []byte
	fragOp  ws.OpCode
	pbuf    []byte     // scratch for payloads the reader sends
	pending int        // bytes left in rbuf by the upgrade's buffered reader
	lw      eio.WSConn // -io loop: the connection, as OnMessage received it
	failed  error      // -io loop: the protocol error that closed it

	echoID atomic.Uint64 // id of the echo in flight
	// -echo-interval: an echo is in flight, and a tick of the client's
	// schedule came meanwhile (paced.go).
	echoBusy, echoOwed atomic.Bool

	// Delivery counts of the current read batch, added to the shared
	// counters once per batch rather than once per message (reader-owned).
	bst    *stepStats
	bn     uint64
	btotal uint64
}

var (
	errPoolClosing      = errors.New("sioperf: pool closing")
	errHandshakeTimeout = errors.New("sioperf: handshake timed out")
)

// finish ends the handshake with err (nil: ready) and reports it to done,
// unless it has already ended; it reports whether this call ended it.
func (c *conn) finish(err error) bool {
	ph := phReady
	if err != nil {
		ph = phFailed
	}
	if !c.phase.CompareAndSwap(phHandshake, ph) {
		return false
	}
	if t := c.timer.Load(); t != nil {
		t.Stop()
	}
	c.done(c, c.start, err)
	return true
}

// run (-io goroutine) dials, performs the handshake and then reads until
// the connection ends.
func (c *conn) run(ctx context.Context) {
	p := c.p
	defer p.live.Done()
	err := c.dial(ctx, c.start)
	if err != nil {
		c.finish(err)
		return
	}
	p.mu.Lock()
	if p.closing.Load() {
		p.mu.Unlock()
		c.nc.Close()
		c.finish(errPoolClosing)
		return
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	if p.spec.Raw {
		c.becomeReady()
	}
	err = c.readLoop()
	if c.phase.Load() == phHandshake {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		c.finish(fmt.Errorf("sioperf: handshake: %w", err))
		c.nc.Close()
		return
	}
	if !p.closing.Load() {
		p.disconnects.Add(1)
	}
	c.nc.Close()
}

func (c *conn) dial(ctx context.Context, start time.Time) error {
	p := c.p
	d := p.dialers[c.idx%len(p.dialers)]
	dctx, cancel := context.WithDeadline(ctx, start.Add(p.spec.HandshakeTimeout))
	defer cancel()
	// Connection i goes to node i mod n of a comma-separated -addr.
	nc, err := d.DialContext(dctx, "tcp", p.addrs[c.idx%len(p.addrs)])
	if err != nil {
		return err
	}
	nc.SetDeadline(start.Add(p.spec.HandshakeTimeout))
	u := p.u
	if p.pollURL != "" {
		sid, err := pollingHandshake(dctx, d, p.addrs[c.idx%len(p.addrs)], p.pollURL)
		if err != nil {
			nc.Close()
			return err
		}
		uc := *p.u
		uc.RawQuery += "&sid=" + sid
		u = &uc
	}
	br, _, err := ws.Dialer{}.Upgrade(nc, u)
	if err != nil {
		nc.Close()
		return err
	}
	c.rbuf = make([]byte, 2048)
	if br != nil {
		// The server wrote frames right behind the 101 response; keep them.
		n := br.Buffered()
		for len(c.rbuf) < n {
			c.rbuf = make([]byte, 2*len(c.rbuf))
		}
		b, _ := br.Peek(n)
		copy(c.rbuf, b)
		c.rbuf = c.rbuf[:cap(c.rbuf)]
		c.pending = n
		ws.PutReader(br)
	}
	c.nc = nc
	if p.pollURL != "" {
		c.state = stProbe
		c.writeFrame(ws.OpText, probe)
	}
	return nil
}

// probe is the upgrade's probe ping (-transport upgrade).
var probe = []byte("2probe")

// becomeReady ends a successful handshake. Called by the reader (in raw
// mode, with -io goroutine, by run before it starts reading).
func (c *conn) becomeReady() {
	c.state = stReady
	if c.viaLoop {
		c.readyLoop()
		return
	}
	if c.poll != nil {
		c.finish(nil)
		return
	}
	c.nc.SetDeadline(time.Time{})
	c.finish(nil)
}

// readLoop reads and dispatches frames until an error. Each Read is followed
// by one clock reading shared by every frame it delivered: they all arrived
// at once, and it keeps time.Now off the per-message path.
func (c *conn) readLoop() error {
	end := c.pending
	c.pending = 0
	for {
		if end > 0 {
			off, err := c.consume(c.rbuf[:end], time.Now().UnixMicro())
			if err != nil {
				c.p.protoErrors.Add(1)
				return err
			}
			end = copy(c.rbuf, c.rbuf[off:end])
		}
		if end == len(c.rbuf) {
			// A frame larger than the buffer, or a read that filled it:
			// grow, up to the frame limit.
			if len(c.rbuf) >= maxFrame+14 {
				c.p.protoErrors.Add(1)
				return errFrameTooLarge
			}
			nb := make([]byte, 2*len(c.rbuf))
			copy(nb, c.rbuf[:end])
			c.rbuf = nb
		}
		n, err := c.nc.Read(c.rbuf[end:])
		if n > 0 {
			filled := end+n == len(c.rbuf)
			end += n
			if filled && len(c.rbuf) < c.p.spec.RBufMax {
				// Reads fill the buffer: the peer is ahead of us, so read
				// more per system call.
				nb := make([]byte, 2*len(c.rbuf))
				copy(nb, c.rbuf[:end])
				c.rbuf = nb
			}
			continue
		}
		if err != nil {
			return err
		}
	}
}

// consume parses whole frames from b and returns how many bytes it used.
func (c *conn) consume(b []byte, nowUs int64) (int, error) {
	defer c.flushBatch(nowUs)
	off := 0
	for off < len(b) {
		f, n, err := parseFrame(b[off:], maxFrame)
		if err != nil {
			return off, err
		}
		if n == 0 {
			break
		}
		off += n
		switch f.op {
		case ws.OpText, ws.OpBinary:
			if !f.fin {
				c.fragOp = f.op
				c.frag = append(c.frag[:0], f.payload...)
				continue
			}
			if err := c.onMessage(f.payload, nowUs); err != nil {
				return off, err
			}
		case ws.OpContinuation:
			if c.fragOp == 0 {
				return off, errors.New("sioperf: continuation without a start")
			}
			c.frag = append(c.frag, f.payload...)
			if f.fin {
				c.fragOp = 0
				if err := c.onMessage(c.frag, nowUs); err != nil {
					return off, err
				}
			}
		case ws.OpPing:
			c.writeFrame(ws.OpPong, f.payload)
		case ws.OpClose:
			c.writeFrame(ws.OpClose, nil)
			return off, errors.New("sioperf: server closed the WebSocket")
		}
	}
	return off, nil
}

var (
	errServerClose = errors.New("sioperf: server closed the session")
	errConnectErr  = errors.New("sioperf: socket.io connect error")
)

// onMessage handles one Engine.IO packet (or, in raw mode, one raw frame).
func (c *conn) onMessage(m []byte, nowUs int64) error {
	if len(m) == 0 {
		return nil
	}
	p := c.p
	if p.spec.Raw {
		switch {
		case m[0] == 'e':
			c.onEcho(m, 0, false, nowUs)
		case hasPrefix(m, msgPrefix):
			c.onDelivery(m, nowUs)
		}
		return nil
	}
	switch m[0] {
	case '0':
		if c.state == stOpen {
			c.state = stConnect
			c.writeFrame(ws.OpText, []byte("40"))
		}
	case '1':
		return errServerClose
	case '2':
		c.writeFrame(ws.OpText, []byte("3"))
	case '3':
		if c.state == stProbe && string(m) == "3probe" {
			// The probe answered: finish the upgrade, then connect over
			// the WebSocket.
			c.state = stConnect
			c.writeFrame(ws.OpText, []byte("5"))
			c.writeFrame(ws.OpText, []byte("40"))
		}
	case '4':
		if len(m) < 2 {
			return nil
		}
		switch m[1] {
		case '0':
			if c.state == stConnect {
				if c.room == "" {
					c.becomeReady()
					return nil
				}
				c.state = stJoin
				c.joinID = 1
				c.pbuf = appendJoin(c.pbuf[:0], c.joinID, c.room)
				c.writeFrame(ws.OpText, c.pbuf)
			}
		case '1':
			return errServerClose
		case '2':
			if hasPrefix(m, msgPrefix) {
				c.onDelivery(m, nowUs)
			}
		case '3':
			id, ok := ackID(m)
			if !ok {
				return nil
			}
			if c.state == stJoin && id == c.joinID {
				c.becomeReady()
				return nil
			}
			c.onEcho(m, id, true, nowUs)
		case '4':
			return errConnectErr
		}
	}
	return nil
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

// onDelivery records one delivered broadcast. Counts are batched per read
// (flushBatch); the latency goes straight into the step's histogram.
func (c *conn) onDelivery(m []byte, nowUs int64) {
	p := c.p
	c.btotal++
	s, ok1 := intField(m, keyS)
	t, ok2 := intField(m, keyT)
	if !ok1 || !ok2 || s >= maxSteps {
		p.stray.Add(1)
		return
	}
	var st *stepStats
	if start := p.timelineUs.Load(); start != 0 {
		st = p.second(timelineSecond(nowUs, start))
	} else {
		st = p.step(int(s))
	}
	if st == nil {
		p.stray.Add(1)
		return
	}
	if st != c.bst {
		c.flushBatch(nowUs)
		c.bst = st
	}
	c.bn++
	st.hist.Record(nowUs - t)
}

// flushBatch adds the batched delivery counts to the shared counters and
// advances the step's last-delivery time.
func (c *conn) flushBatch(nowUs int64) {
	if c.btotal > 0 {
		c.p.total.Add(c.btotal)
		c.btotal = 0
	}
	st := c.bst
	if st == nil || c.bn == 0 {
		return
	}
	st.delivered.Add(c.bn)
	c.bn = 0
	for {
		cur := st.lastUs.Load()
		if nowUs <= cur || st.lastUs.CompareAndSwap(cur, nowUs) {
			break
		}
	}
}

// onEcho records an echo reply and sends the next request while the run
// lasts.
func (c *conn) onEcho(m []byte, id uint64, checkID bool, nowUs int64) {
	p := c.p
	end := p.echoEndUs.Load()
	if end == 0 || nowUs > end {
		return
	}
	if checkID && id != c.echoID.Load() {
		p.echoBad.Add(1)
		return
	}
	t, ok := intField(m, keyT)
	if !ok {
		p.echoBad.Add(1)
		return
	}
	if h := p.echoHist.Load(); h != nil {
		h.Record(nowUs - t)
	}
	if p.echoPaced.Load() {
		c.pacedReply(nowUs)
		return
	}
	c.sendEcho(nowUs)
}

// sendEcho sends the next echo request. It is called from the reader, or
// once from the Echo driver to start the loop.
func (c *conn) sendEcho(nowUs int64) {
	id := c.echoID.Add(1)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ebuf = appendEcho(c.ebuf[:0], c.p.spec.Raw, id, nowUs, c.p.padding)
	if c.poll != nil {
		c.poll.send(c.ebuf)
		return
	}
	if c.viaLoop {
		c.wsc.WriteMessage(false, c.ebuf)
		return
	}
	c.wbuf = appendFrame(c.wbuf[:0], ws.OpText, true, c.ebuf)
	c.nc.Write(c.wbuf)
}

// writeFrame writes one client frame; write errors surface as read errors.
// With -io loop it is called from OnMessage only, and sends a data message
// (the loop answers pings and close frames itself).
func (c *conn) writeFrame(op ws.OpCode, payload []byte) {
	if c.poll != nil {
		c.poll.send(payload)
		return
	}
	if c.viaLoop {
		c.lw.WriteMessage(op == ws.OpBinary, payload)
		return
	}
	c.wmu.Lock()
	c.wbuf = appendFrame(c.wbuf[:0], op, true, payload)
	c.nc.Write(c.wbuf)
	c.wmu.Unlock()
}

// writeBatch builds frames with build and writes them in one system call,
// bounded by a write deadline so a server that stopped reading cannot hang
// the publisher.
func (c *conn) writeBatch(build func(dst []byte) []byte, timeout time.Duration) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = build(c.wbuf[:0])
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.nc.Write(c.wbuf)
	return err
}

// selfCPUNs returns this process's user+system CPU time.
func selfCPUNs() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
