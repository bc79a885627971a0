package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// maxSteps bounds the step numbers a pool tracks; "s" values at or above it
// are counted as stray deliveries.
const maxSteps = 64

// maxFrame bounds one incoming frame (the socket.io default maxPayload).
const maxFrame = 1 << 20

// openSpec tells a pool which connections to open. It crosses the worker pipe
// as JSON.
type openSpec struct {
	Addr             string        `json:"addr"`
	Path             string        `json:"path"`
	Raw              bool          `json:"raw"`
	Count            int           `json:"count"`
	First            int           `json:"first"` // global index of the first connection
	Rooms            int           `json:"rooms"` // 0: no join; else join "r"+(index%Rooms+1)
	Srcs             []string      `json:"srcs,omitempty"`
	Concurrency      int           `json:"concurrency"`
	HandshakeTimeout time.Duration `json:"handshake_timeout"`
	RBufMax          int           `json:"rbuf_max"`
	Pad              int           `json:"pad"`
}

// openResult reports how opening went.
type openResult struct {
	Opened       int          `json:"opened"`
	Failed       int          `json:"failed"`
	Errors       []string     `json:"errors,omitempty"` // the first few distinct errors
	FirstStartUs int64        `json:"first_start_us"`
	LastReadyUs  int64        `json:"last_ready_us"`
	Handshake    HistSnapshot `json:"handshake"`
}

// statsReply is a pool's view of one step plus its global counters.
type statsReply struct {
	Step        int           `json:"step"`
	Delivered   uint64        `json:"delivered"`
	LastUs      int64         `json:"last_us"`
	Hist        *HistSnapshot `json:"hist,omitempty"`
	Total       uint64        `json:"total"`
	Stray       uint64        `json:"stray"`
	Disconnects int64         `json:"disconnects"`
	ProtoErrors int64         `json:"proto_errors"`
	CPUNs       int64         `json:"cpu_ns"`
}

// echoReply reports a closed-loop echo run.
type echoReply struct {
	Completed   uint64       `json:"completed"`
	Mismatched  uint64       `json:"mismatched"`
	Hist        HistSnapshot `json:"hist"`
	Disconnects int64        `json:"disconnects"`
	CPUNs       int64        `json:"cpu_ns"`
}

// stepStats accumulates deliveries of one ladder step; readers of every
// connection update it concurrently.
type stepStats struct {
	delivered atomic.Uint64
	lastUs    atomic.Int64
	hist      *Hist
}

// pool holds one process's share of connections. Each connection has one
// reader goroutine that blocks in Read with a buffer that grows only while
// reads fill it, so thousands of idle connections cost little and a busy one
// parses many frames per read(2); no goroutine is ever started per message.
type pool struct {
	spec    openSpec
	u       *url.URL
	dialers []*net.Dialer
	padding []byte

	mu    sync.Mutex // guards conns
	conns []*conn

	readers sync.WaitGroup
	closing atomic.Bool

	steps       [maxSteps]atomic.Pointer[stepStats]
	total       atomic.Uint64
	stray       atomic.Uint64
	disconnects atomic.Int64
	protoErrors atomic.Int64

	echoEndUs  atomic.Int64 // 0 when no echo run is active
	echoDone   atomic.Uint64
	echoBad    atomic.Uint64
	echoHist   atomic.Pointer[Hist]
	handshakes *Hist
}

func newPool(spec openSpec) (*pool, error) {
	p := &pool{spec: spec, handshakes: newHist(), padding: pad(spec.Pad)}
	if err := p.prepare(); err != nil {
		return nil, err
	}
	return p, nil
}

// prepare parses the address and the source addresses of p.spec.
func (p *pool) prepare() error {
	u, err := url.ParseRequestURI("ws://" + p.spec.Addr + p.spec.Path)
	if err != nil {
		return fmt.Errorf("sioperf: bad address: %w", err)
	}
	p.u = u
	p.dialers = p.dialers[:0]
	for _, s := range p.spec.Srcs {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("sioperf: bad source address %q", s)
		}
		p.dialers = append(p.dialers, &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Control: bindNoPort})
	}
	if len(p.dialers) == 0 {
		p.dialers = append(p.dialers, &net.Dialer{})
	}
	if p.spec.RBufMax < 4096 {
		p.spec.RBufMax = 64 << 10
	}
	if p.spec.HandshakeTimeout <= 0 {
		p.spec.HandshakeTimeout = 10 * time.Second
	}
	if p.spec.Concurrency <= 0 {
		p.spec.Concurrency = 256
	}
	p.padding = pad(p.spec.Pad)
	return nil
}

func (p *pool) step(s int) *stepStats {
	if s < 0 || s >= maxSteps {
		return nil
	}
	if st := p.steps[s].Load(); st != nil {
		return st
	}
	st := &stepStats{hist: newHist()}
	if p.steps[s].CompareAndSwap(nil, st) {
		return st
	}
	return p.steps[s].Load()
}

// Open dials spec.Count connections with at most spec.Concurrency handshakes
// in flight and waits until each is ready or failed, or ctx ends.
func (p *pool) Open(ctx context.Context, spec openSpec) (openResult, error) {
	p.spec = spec
	if err := p.prepare(); err != nil {
		return openResult{}, err
	}
	var (
		res     openResult
		resMu   sync.Mutex
		wg      sync.WaitGroup
		sem     = make(chan struct{}, p.spec.Concurrency)
		errSeen = map[string]bool{}
	)
	res.FirstStartUs = time.Now().UnixMicro()
	hs := newHist()
	done := func(c *conn, start time.Time, err error) {
		now := time.Now()
		resMu.Lock()
		if err != nil {
			res.Failed++
			msg := err.Error()
			if !errSeen[msg] && len(res.Errors) < 5 {
				errSeen[msg] = true
				res.Errors = append(res.Errors, msg)
			}
		} else {
			res.Opened++
			if us := now.UnixMicro(); us > res.LastReadyUs {
				res.LastReadyUs = us
			}
			hs.Record(now.Sub(start).Microseconds())
		}
		resMu.Unlock()
		<-sem
		wg.Done()
	}
loop:
	for i := 0; i < p.spec.Count; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		if p.closing.Load() {
			<-sem
			break
		}
		idx := p.spec.First + i
		c := &conn{p: p, idx: idx}
		if p.spec.Rooms > 0 {
			c.room = "r" + strconv.Itoa(idx%p.spec.Rooms+1)
		}
		wg.Add(1)
		p.readers.Add(1)
		go c.run(ctx, done)
	}
	waitCh := make(chan struct{})
	go func() { wg.Wait(); close(waitCh) }()
	select {
	case <-waitCh:
	case <-ctx.Done():
		// Handshakes still in flight end at their own deadline; report what
		// is known now.
	}
	resMu.Lock()
	defer resMu.Unlock()
	if res.Opened == 0 {
		res.LastReadyUs = res.FirstStartUs
	}
	res.Handshake = hs.Snapshot()
	p.handshakes.Merge(res.Handshake)
	return res, ctx.Err()
}

// Stats reports step s (hist only when withHist) and the pool's counters.
func (p *pool) Stats(_ context.Context, s int, withHist bool) (statsReply, error) {
	r := statsReply{
		Step:        s,
		Total:       p.total.Load(),
		Stray:       p.stray.Load(),
		Disconnects: p.disconnects.Load(),
		ProtoErrors: p.protoErrors.Load(),
		CPUNs:       selfCPUNs(),
	}
	if s >= 0 && s < maxSteps {
		if st := p.steps[s].Load(); st != nil {
			r.Delivered = st.delivered.Load()
			r.LastUs = st.lastUs.Load()
			if withHist {
				h := st.hist.Snapshot()
				r.Hist = &h
			}
		}
	}
	return r, nil
}

// Echo runs the closed echo loop on every open connection for dur: each
// connection keeps exactly one request in flight and sends the next one from
// its reader as soon as the ack arrives. Acks arriving after dur are not
// counted.
func (p *pool) Echo(ctx context.Context, dur time.Duration) (echoReply, error) {
	h := newHist()
	p.echoHist.Store(h)
	p.echoDone.Store(0)
	p.echoBad.Store(0)
	d0 := p.disconnects.Load()
	cpu0 := selfCPUNs()
	start := time.Now()
	p.echoEndUs.Store(start.Add(dur).UnixMicro())
	p.mu.Lock()
	conns := append([]*conn(nil), p.conns...)
	p.mu.Unlock()
	for _, c := range conns {
		c.sendEcho(time.Now().UnixMicro())
	}
	t := time.NewTimer(time.Until(start.Add(dur)))
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	p.echoEndUs.Store(0)
	return echoReply{
		Completed:   p.echoDone.Load(),
		Mismatched:  p.echoBad.Load(),
		Hist:        h.Snapshot(),
		Disconnects: p.disconnects.Load() - d0,
		CPUNs:       selfCPUNs() - cpu0,
	}, ctx.Err()
}

// Close closes every connection and waits (bounded) for the readers.
func (p *pool) Close() error {
	p.closing.Store(true)
	p.mu.Lock()
	for _, c := range p.conns {
		c.nc.Close()
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.readers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("sioperf: readers did not exit within 10s")
	}
}

// conns returns the open connections (used for publishers).
func (p *pool) list() []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*conn(nil), p.conns...)
}

// Connection states during the handshake.
const (
	stOpen    = iota // waiting for the Engine.IO open packet "0{…}"
	stConnect        // "40" sent, waiting for "40{…}"
	stJoin           // join sent, waiting for its ack
	stReady
)

// conn is one client WebSocket connection.
type conn struct {
	p    *pool
	nc   net.Conn
	idx  int
	room string

	wmu  sync.Mutex // guards wbuf, ebuf and writes to nc
	wbuf []byte
	ebuf []byte // echo payload scratch

	// Reader-owned state.
	state   int
	joinID  uint64
	rbuf    []byte
	frag    []byte
	fragOp  ws.OpCode
	pbuf    []byte // scratch for payloads the reader sends
	pending int    // bytes left in rbuf by the upgrade's buffered reader
	ready   func(error)

	echoID atomic.Uint64 // id of the echo in flight

	// Delivery counts of the current read batch, added to the shared
	// counters once per batch rather than once per message (reader-owned).
	bst    *stepStats
	bn     uint64
	btotal uint64
}

// run dials, performs the handshake and then reads until the connection
// ends. done is called exactly once, when the handshake completes or fails.
func (c *conn) run(ctx context.Context, done func(*conn, time.Time, error)) {
	p := c.p
	defer p.readers.Done()
	start := time.Now()
	c.ready = func(err error) {
		if c.ready == nil {
			return
		}
		c.ready = nil
		done(c, start, err)
	}
	err := c.dial(ctx, start)
	if err != nil {
		c.ready(err)
		return
	}
	p.mu.Lock()
	if p.closing.Load() {
		p.mu.Unlock()
		c.nc.Close()
		c.ready(errors.New("sioperf: pool closing"))
		return
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	if p.spec.Raw {
		c.becomeReady()
	}
	err = c.readLoop()
	if c.ready != nil {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		c.ready(fmt.Errorf("sioperf: handshake: %w", err))
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
	nc, err := d.DialContext(dctx, "tcp", p.spec.Addr)
	if err != nil {
		return err
	}
	nc.SetDeadline(start.Add(p.spec.HandshakeTimeout))
	br, _, err := ws.Dialer{}.Upgrade(nc, p.u)
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
	return nil
}

func (c *conn) becomeReady() {
	c.state = stReady
	c.nc.SetDeadline(time.Time{})
	c.ready(nil)
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
	st := p.step(int(s))
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
	p.echoDone.Add(1)
	c.sendEcho(nowUs)
}

// sendEcho sends the next echo request. It is called from the reader, or
// once from the Echo driver to start the loop.
func (c *conn) sendEcho(nowUs int64) {
	id := c.echoID.Add(1)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ebuf = appendEcho(c.ebuf[:0], c.p.spec.Raw, id, nowUs, c.p.padding)
	c.wbuf = appendFrame(c.wbuf[:0], ws.OpText, true, c.ebuf)
	c.nc.Write(c.wbuf)
}

// writeFrame writes one client frame; write errors surface as read errors.
func (c *conn) writeFrame(op ws.OpCode, payload []byte) {
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
