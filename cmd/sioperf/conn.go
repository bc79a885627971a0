package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// maxSteps bounds the step numbers a pool tracks; "s" values at or above it
// are counted as stray deliveries.
const maxSteps = 64

// maxSeconds bounds the delivery seconds a pool's timeline tracks (see
// pool.StartTimeline); later deliveries are counted as stray.
const maxSeconds = 256

// maxFrame bounds one incoming frame (the socket.io default maxPayload).
const maxFrame = 1 << 20

// How a pool reads its connections (-io).
const (
	// ioLoop serves connections on the event loops of a loop.Dialer: no
	// goroutine per connection.
	ioLoop = "loop"
	// ioGoroutine gives each connection a reader goroutine blocked in Read.
	ioGoroutine = "goroutine"
)

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
	IO               string        `json:"io,omitempty"`     // ioLoop (default) or ioGoroutine
	SndBuf           int           `json:"sndbuf,omitempty"` // SO_SNDBUF of each connection; 0: the kernel's autotuning
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

// pool holds one process's share of connections. With -io loop (the
// default) they live on the event loops of one loop.Dialer, which reads
// them and calls each connection's OnMessage on a loop goroutine: an open
// connection holds no goroutine. With -io goroutine each connection has one
// reader goroutine that blocks in Read with a buffer that grows only while
// reads fill it. Either way, no goroutine is ever started per message.
type pool struct {
	spec    openSpec
	u       *url.URL
	addrs   []string // spec.Addr split at commas
	urls    []string // the WebSocket URL of each of addrs
	dialers []*net.Dialer
	padding []byte

	mu    sync.Mutex   // guards conns and ld
	conns []*conn      // connections whose handshake completed (-io loop), or dialed ones
	ld    *loop.Dialer // -io loop: created by the first Open, stopped by Close

	// live counts connections that have not ended: reader goroutines
	// (-io goroutine), or connections whose OnClose has not run (-io loop).
	live    sync.WaitGroup
	closing atomic.Bool

	steps [maxSteps]atomic.Pointer[stepStats]
	// timelineUs, when not 0, is the start (unix µs) of a timeline: every
	// delivery then counts in the bin of the second it arrived in
	// (seconds), not in the bin of its step.
	timelineUs  atomic.Int64
	seconds     [maxSeconds]atomic.Pointer[stepStats]
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
	p.addrs = strings.Split(p.spec.Addr, ",")
	p.urls = p.urls[:0]
	for _, a := range p.addrs {
		u, err := url.ParseRequestURI("ws://" + a + p.spec.Path)
		if err != nil {
			return fmt.Errorf("sioperf: bad address: %w", err)
		}
		p.urls = append(p.urls, u.String())
		if len(p.urls) == 1 {
			p.u = u // the goroutine path's Upgrade request (its Host header)
		}
	}
	p.dialers = p.dialers[:0]
	sndbuf := p.spec.SndBuf
	control := func(bind bool) func(network, address string, c syscall.RawConn) error {
		return func(network, address string, c syscall.RawConn) error {
			if bind {
				if err := bindNoPort(network, address, c); err != nil {
					return err
				}
			}
			if sndbuf > 0 {
				return setSndBuf(c, sndbuf)
			}
			return nil
		}
	}
	for _, s := range p.spec.Srcs {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("sioperf: bad source address %q", s)
		}
		p.dialers = append(p.dialers, &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Control: control(true)})
	}
	if len(p.dialers) == 0 {
		p.dialers = append(p.dialers, &net.Dialer{Control: control(false)})
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
	switch p.spec.IO {
	case "":
		p.spec.IO = ioLoop
	case ioLoop, ioGoroutine:
	default:
		return fmt.Errorf("sioperf: -io must be %s or %s, not %q", ioLoop, ioGoroutine, p.spec.IO)
	}
	p.padding = pad(p.spec.Pad)
	return nil
}

// dialer returns the pool's loop.Dialer, starting it on first use.
func (p *pool) dialer() (*loop.Dialer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ld != nil {
		return p.ld, nil
	}
	ld, err := loop.NewDialer(loop.DialerConfig{
		MaxMessageBytes: maxFrame,
		NetDial:         netDial,
		MaskKey:         zeroMask,
	})
	if err != nil {
		return nil, err
	}
	p.ld = ld
	return ld, nil
}

func (p *pool) step(s int) *stepStats {
	if s < 0 || s >= maxSteps {
		return nil
	}
	return statsBin(&p.steps[s])
}

// second returns the timeline bin of delivery second sec, or nil when sec
// is out of range.
func (p *pool) second(sec int64) *stepStats {
	if sec < 0 || sec >= maxSeconds {
		return nil
	}
	return statsBin(&p.seconds[sec])
}

// statsBin returns the stats in slot, creating them on first use.
func statsBin(slot *atomic.Pointer[stepStats]) *stepStats {
	if st := slot.Load(); st != nil {
		return st
	}
	st := &stepStats{hist: newHist()}
	if slot.CompareAndSwap(nil, st) {
		return st
	}
	return slot.Load()
}

// StartTimeline makes every later delivery count in the bin of the second
// (since startUs, unix µs) it arrived in, read back with SecondStats. It is
// for the overload scenario, whose per-second rows must show when the
// server delivered, not when the tool published.
func (p *pool) StartTimeline(_ context.Context, startUs int64) error {
	if startUs <= 0 {
		return errors.New("timeline start must be a positive unix time")
	}
	p.timelineUs.Store(startUs)
	return nil
}

// timelineSecond is the second of a timeline started at startUs that nowUs
// falls in; -1 before the start.
func timelineSecond(nowUs, startUs int64) int64 {
	if nowUs < startUs {
		return -1
	}
	return (nowUs - startUs) / 1e6
}

// SecondStats reports delivery second sec of the timeline (hist only when
// withHist) and the pool's counters.
func (p *pool) SecondStats(_ context.Context, sec int, withHist bool) (statsReply, error) {
	r := p.counters(sec)
	if sec >= 0 && sec < maxSeconds {
		r.fill(p.seconds[sec].Load(), withHist)
	}
	return r, nil
}

// Open dials spec.Count connections with at most spec.Concurrency handshakes
// in flight and waits until each is ready or failed, or ctx ends. With -io
// loop, a goroutine exists per connection only while it dials; done, which
// frees the handshake slot, then runs on the connection's event loop.
func (p *pool) Open(ctx context.Context, spec openSpec) (openResult, error) {
	p.spec = spec
	if err := p.prepare(); err != nil {
		return openResult{}, err
	}
	var ld *loop.Dialer
	if p.spec.IO == ioLoop {
		var err error
		if ld, err = p.dialer(); err != nil {
			return openResult{}, err
		}
	}
	var (
		res     openResult
		resMu   sync.Mutex
		wg      sync.WaitGroup // handshakes not yet done
		dialing sync.WaitGroup // -io loop: dialing goroutines not yet ended
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
		c := &conn{p: p, idx: idx, viaLoop: ld != nil, start: time.Now(), done: done}
		if p.spec.Rooms > 0 {
			c.room = "r" + strconv.Itoa(idx%p.spec.Rooms+1)
		}
		if p.spec.Raw {
			c.state = stReady // raw mode has no handshake past the upgrade
		}
		wg.Add(1)
		p.live.Add(1)
		if ld != nil {
			dialing.Add(1)
			go func() {
				defer dialing.Done()
				c.dialLoop(ctx, ld)
			}()
		} else {
			go c.run(ctx)
		}
	}
	waitCh := make(chan struct{})
	go func() {
		wg.Wait()
		dialing.Wait()
		close(waitCh)
	}()
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
	r := p.counters(s)
	if s >= 0 && s < maxSteps {
		r.fill(p.steps[s].Load(), withHist)
	}
	return r, nil
}

// counters is a stats reply for bin with the pool's global counters only.
func (p *pool) counters(bin int) statsReply {
	return statsReply{
		Step:        bin,
		Total:       p.total.Load(),
		Stray:       p.stray.Load(),
		Disconnects: p.disconnects.Load(),
		ProtoErrors: p.protoErrors.Load(),
		CPUNs:       selfCPUNs(),
	}
}

// fill copies st (nil: nothing delivered yet) into r.
func (r *statsReply) fill(st *stepStats, withHist bool) {
	if st == nil {
		return
	}
	r.Delivered = st.delivered.Load()
	r.LastUs = st.lastUs.Load()
	if withHist {
		h := st.hist.Snapshot()
		r.Hist = &h
	}
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

// Close closes every connection and waits (bounded) for them to end. With
// -io loop, ready connections get a close frame; after a grace period the
// Dialer is stopped, which ends the rest (those still in their handshake).
func (p *pool) Close() error {
	p.closing.Store(true)
	p.mu.Lock()
	conns := append([]*conn(nil), p.conns...)
	ld := p.ld
	p.mu.Unlock()
	for _, c := range conns {
		if c.viaLoop {
			c.wmu.Lock()
			w := c.wsc
			c.wmu.Unlock()
			w.Close(1000)
		} else {
			c.nc.Close()
		}
	}
	done := make(chan struct{})
	go func() { p.live.Wait(); close(done) }()
	if ld != nil {
		t := time.NewTimer(2 * time.Second)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
		ld.Close()
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return errors.New("sioperf: connections did not end within 10s")
	}
}

// list returns the open connections (used for publishers).
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

// Phases of conn.phase: the handshake ends exactly once, ready or failed.
const (
	phHandshake int32 = iota
	phReady
	phFailed
)

// conn is one client WebSocket connection. Its reader (the reader goroutine
// with -io goroutine, the event loop's OnMessage with -io loop) owns the
// handshake state and the delivery batch; only one runs at a time.
type conn struct {
	p       *pool
	nc      net.Conn // -io goroutine
	idx     int
	room    string
	viaLoop bool // -io loop

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

// becomeReady ends a successful handshake. Called by the reader (in raw
// mode, with -io goroutine, by run before it starts reading).
func (c *conn) becomeReady() {
	c.state = stReady
	if c.viaLoop {
		c.readyLoop()
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
