package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// The -io loop receive path. Connections are dialed and upgraded on a
// short-lived goroutine by loop.Dialer.DialWebSocket and then live on the
// Dialer's gnet event loops, which decode their frames (and answer pings and
// close frames) and hand each message to conn.OnMessage on the loop
// goroutine. OnMessage runs the same onMessage as the goroutine path; it
// never blocks: its writes (the handshake, the join, pongs, the next echo)
// are queued by the loop and leave in one write(2) per wake-up. Like the
// goroutine path (appendFrame), the Dialer masks them with the contract's
// all-zero key (zeroMask).

// zeroMask is the benchmark contract's masking key for every client frame.
func zeroMask() [4]byte { return [4]byte{} }

// srcDialerKey is the context key under which dialLoop passes the source
// address dialer of one connection to netDial.
type srcDialerKey struct{}

// netDial is the pool Dialer's loop.DialerConfig.NetDial: it opens the TCP
// connection with the *net.Dialer (source address) the context carries.
func netDial(ctx context.Context, network, addr string) (net.Conn, error) {
	d, _ := ctx.Value(srcDialerKey{}).(*net.Dialer)
	if d == nil {
		d = &net.Dialer{}
	}
	return d.DialContext(ctx, network, addr)
}

// dialLoop (-io loop) connects and upgrades on the calling goroutine, then
// leaves the connection to the event loop and returns. The rest of the
// handshake (Engine.IO open, Socket.IO connect, join) runs in OnMessage,
// bounded by a timer at start+HandshakeTimeout.
func (c *conn) dialLoop(ctx context.Context, ld *loop.Dialer) {
	p := c.p
	deadline := c.start.Add(p.spec.HandshakeTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	dctx = context.WithValue(dctx, srcDialerKey{}, p.dialers[c.idx%len(p.dialers)])
	// Connection i goes to node i mod n of a comma-separated -addr.
	u := p.urls[c.idx%len(p.urls)]
	if p.pollURL != "" {
		sid, err := pollingHandshake(dctx, p.dialers[c.idx%len(p.dialers)], p.addrs[c.idx%len(p.addrs)], p.pollURL)
		if err != nil {
			cancel()
			c.finish(err)
			p.live.Done()
			return
		}
		u += "&sid=" + sid
		c.state = stProbe // before the dial: OnMessage may run before it returns
	}
	w, err := ld.DialWebSocket(dctx, u, nil, c)
	cancel()
	if err != nil {
		// No OnClose follows a failed dial.
		c.finish(err)
		p.live.Done()
		return
	}
	c.wmu.Lock()
	c.wsc = w
	if p.pollURL != "" {
		w.WriteMessage(false, probe)
	}
	c.wmu.Unlock()
	if p.spec.Raw {
		c.readyLoop()
		return
	}
	t := time.AfterFunc(time.Until(deadline), func() {
		if c.finish(errHandshakeTimeout) {
			w.Close(1000)
		}
	})
	c.timer.Store(t)
	if c.phase.Load() != phHandshake {
		// finish ran before the timer was stored and could not stop it.
		t.Stop()
	}
}

// readyLoop (-io loop) ends a successful handshake: the connection joins
// p.conns (for Echo and Close) before done reports it ready, so a caller of
// Open sees every ready connection there.
func (c *conn) readyLoop() {
	p := c.p
	p.mu.Lock()
	if p.closing.Load() {
		p.mu.Unlock()
		if c.finish(errPoolClosing) {
			c.wmu.Lock()
			w := c.wsc
			c.wmu.Unlock()
			w.Close(1000)
		}
		return
	}
	if !c.phase.CompareAndSwap(phHandshake, phReady) {
		p.mu.Unlock()
		return // timed out meanwhile
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	if t := c.timer.Load(); t != nil {
		t.Stop()
	}
	c.done(c, c.start, nil)
}

// OnMessage implements eio.FrameHandler: one Engine.IO packet (or raw
// frame), on the connection's event loop. The clock is read once per
// message and the delivery counters are published at once, as no call
// marks the end of the loop's read.
func (c *conn) OnMessage(w eio.WSConn, _ bool, m []byte) {
	if c.lw == nil {
		// The first message can arrive before DialWebSocket returns.
		c.lw = w
		c.wmu.Lock()
		c.wsc = w
		c.wmu.Unlock()
	}
	if c.failed != nil {
		return
	}
	nowUs := clockUs()
	err := c.onMessage(m, nowUs)
	c.flushBatch(nowUs)
	if err != nil {
		c.p.protoErrors.Add(1)
		c.failed = err
		w.Close(1000)
	}
}

// OnClose implements eio.FrameHandler: the connection ended (on the loop,
// once).
func (c *conn) OnClose(_ eio.WSConn, err error) {
	p := c.p
	defer p.live.Done()
	if c.phase.Load() == phHandshake {
		cause := c.failed
		if cause == nil {
			cause = err
		}
		if cause == nil {
			cause = io.ErrUnexpectedEOF
		}
		c.finish(fmt.Errorf("sioperf: handshake: %w", cause))
		return
	}
	if c.phase.Load() == phReady && !p.closing.Load() {
		p.disconnects.Add(1)
	}
}

// clockBase anchors clockUs: a wall clock reading with its monotonic one.
var (
	clockBase   = time.Now()
	clockBaseUs = clockBase.UnixMicro()
)

// clockUs returns the wall clock in Unix microseconds, as publishers stamp
// "t", computed from the monotonic clock alone: time.Since reads one clock
// where time.Now reads two, which halves the per-message cost of the -io
// loop path. NTP slews both clocks alike, so the two differ only after a
// step of the wall clock, which would corrupt latencies anyway.
func clockUs() int64 {
	return clockBaseUs + int64(time.Since(clockBase)/time.Microsecond)
}
