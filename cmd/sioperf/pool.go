package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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
	IO               string        `json:"io,omitempty"`            // ioLoop (default) or ioGoroutine
	SndBuf           int           `json:"sndbuf,omitempty"`        // SO_SNDBUF of each connection; 0: the kernel's autotuning
	RcvBuf           int           `json:"rcvbuf,omitempty"`        // SO_RCVBUF of each connection; 0: the kernel's autotuning
	Transport        string        `json:"transport,omitempty"`     // transportWebSocket (default), transportUpgrade or transportPolling
	EchoInterval     time.Duration `json:"echo_interval,omitempty"` // echo: each client's own schedule (paced.go); 0: closed loop
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
	pollURL string   // -transport upgrade: the polling handshake's request path
	dialers []*net.Dialer
	padding []byte

	mu    sync.Mutex   // guards conns, ld and bg
	conns []*conn      // connections whose handshake completed (-io loop), or dialed ones
	ld    *loop.Dialer // -io loop: created by the first Open, stopped by Close
	// bg is the life of -transport polling clients: an Open's context
	// bounds their handshakes only; Close cancels bg.
	bg       context.Context
	bgCancel context.CancelFunc

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
	echoPaced  atomic.Bool  // the run follows the clients' schedules (paced.go)
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
	sndbuf, rcvbuf := p.spec.SndBuf, p.spec.RcvBuf
	control := func(bind bool) func(network, address string, c syscall.RawConn) error {
		return func(network, address string, c syscall.RawConn) error {
			if bind {
				if err := bindNoPort(network, address, c); err != nil {
					return err
				}
			}
			return setBuffers(c, sndbuf, rcvbuf)
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
	switch p.spec.Transport {
	case "":
		p.spec.Transport = transportWebSocket
	case transportWebSocket:
	case transportUpgrade, transportPolling:
		if p.spec.Raw {
			return fmt.Errorf("sioperf: -transport %s needs -proto sio", transportUpgrade)
		}
		pp, err := pollingPath(p.spec.Path)
		if err != nil {
			return err
		}
		p.pollURL = pp
	default:
		return fmt.Errorf("sioperf: -transport must be %s, %s or %s, not %q", transportWebSocket, transportUpgrade, transportPolling, p.spec.Transport)
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
	polling := p.spec.Transport == transportPolling
	if polling {
		p.mu.Lock()
		if p.bg == nil {
			p.bg, p.bgCancel = context.WithCancel(context.Background())
		}
		p.mu.Unlock()
	} else if p.spec.IO == ioLoop {
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
		if polling {
			go c.runPolling(p.bg)
		} else if ld != nil {
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
	p.echoBad.Store(0)
	d0 := p.disconnects.Load()
	cpu0 := selfCPUNs()
	start := time.Now()
	p.echoEndUs.Store(start.Add(dur).UnixMicro())
	p.mu.Lock()
	conns := append([]*conn(nil), p.conns...)
	p.mu.Unlock()
	p.echoPaced.Store(p.spec.EchoInterval > 0)
	pacing := make(chan struct{})
	if p.spec.EchoInterval > 0 {
		for _, c := range conns {
			c.echoBusy.Store(false) // a late answer of an earlier run never cleared it
			c.echoOwed.Store(false)
		}
		go func() {
			defer close(pacing)
			pace(ctx, conns, start, dur, p.spec.EchoInterval)
		}()
	} else {
		close(pacing)
		for _, c := range conns {
			c.sendEcho(time.Now().UnixMicro())
		}
	}
	defer func() { <-pacing }()
	t := time.NewTimer(time.Until(start.Add(dur)))
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	p.echoEndUs.Store(0)
	// The round trips completed are those the snapshot holds: a reader
	// may still be recording one that passed the end check, and counting
	// it apart would let the count and the histogram disagree.
	snap := h.Snapshot()
	var completed uint64
	for _, b := range snap.Buckets {
		completed += b[1]
	}
	return echoReply{
		Completed:   completed,
		Mismatched:  p.echoBad.Load(),
		Hist:        snap,
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
	if p.bgCancel != nil {
		p.bgCancel()
	}
	for _, c := range conns {
		if c.poll != nil {
			c.poll.close()
		} else if c.viaLoop {
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
	stProbe          // -transport upgrade: "2probe" sent, waiting for "3probe"
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
