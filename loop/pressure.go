package loop

import "time"

// Outbound pressure is the second half of a loop's overload signal, beside
// its backlog (backlog.go): the bytes its connections have queued in gnet's
// outbound buffers because the kernel would not take them.
//
// The backlog bounds the work not yet run; it says nothing once the work
// has run and its output waits for readers that cannot keep up. When most
// of a loop's recipients read slower than the loop writes (an overloaded
// network, or a consumer machine at its limit), every broadcast run adds to
// every recipient's buffer: measured at twice the sustainable rate to
// 10,000 subscribers, 3 GB of queued output and a p99 of 14 s, growing
// until each connection reached MaxOutboundBytes. Counted here, that queue
// makes the loop Overloaded like a long backlog does, and publishers are
// slowed to the rate the readers take.
//
// One slow reader, or a few, must not slow everyone else: they are cut at
// MaxOutboundBytes. So the bytes count only while at least a quarter of the
// loop's connections are stalled (pressureShare); below that, however much
// a minority holds, the loop is not under pressure.
//
// gnet drains its buffers when sockets turn writable and tells no one, so
// the count is read again at each flush of a connection, and while it is
// above half the bound a refresh op reads every stalled connection's buffer
// every pressureRefresh, so that waiting publishers are released as soon
// as the readers catch up even when no new write comes.

// DefaultMaxLoopOutboundBytes is a loop's default bound on queued outbound
// bytes (Config.MaxLoopOutboundBytes): 64 MiB, about 0.2 s of output at
// 2.5 million deliveries of 135 bytes per second.
const DefaultMaxLoopOutboundBytes = 64 << 20

// pressureShare is the share of a loop's connections (1/pressureShare)
// that must be stalled before their queued bytes count as pressure.
const pressureShare = 4

// pressureRefresh is how often a loop under pressure reads its stalled
// connections' buffers again.
const pressureRefresh = 20 * time.Millisecond

// trackOutbound records that gnet's buffer for c went from old to n bytes
// (c.ob.backlog already holds n; 0 once c has closed) and arms a refresh
// when the loop's queued output passes half its bound. Loop-only.
func (l *Loop) trackOutbound(c *conn, old, n int64) {
	l.recordOutbound(c, old, n)
	if len(l.stalled) > 64 && int64(len(l.stalled)) > 2*l.nStalled.Load() {
		l.compactStalled()
	}
	l.armRefresh()
}

// recordOutbound counts a change of c's buffered bytes and lists c among
// the stalled connections when it has some. A connection whose buffer
// emptied stays listed until compactStalled: listing costs no field but
// one bool in the conn's padding, and connections that stall and recover
// over and over are not re-listed each time. Loop-only.
func (l *Loop) recordOutbound(c *conn, old, n int64) {
	l.outBytes.Add(n - old)
	switch {
	case old == 0 && n > 0:
		l.nStalled.Add(1)
		if !c.listed {
			c.listed = true
			l.stalled = append(l.stalled, c)
		}
	case old > 0 && n == 0:
		l.nStalled.Add(-1)
	}
}

// compactStalled drops the listed connections whose buffer is empty
// (closed ones included: their count was zeroed at close). Loop-only.
func (l *Loop) compactStalled() {
	keep := l.stalled[:0]
	for _, c := range l.stalled {
		if c.ob.backlog.Load() > 0 {
			keep = append(keep, c)
		} else {
			c.listed = false
		}
	}
	clear(l.stalled[len(keep):])
	l.stalled = keep
}

// armRefresh schedules refreshOutbound while the queued output is above
// half the bound. Loop-only.
func (l *Loop) armRefresh() {
	if !l.refreshArmed && l.outBytes.Load() > l.maxOutboundBytes()/2 {
		l.refreshArmed = true
		time.AfterFunc(pressureRefresh, l.postRefresh)
	}
}

func (l *Loop) postRefresh() { l.Post(l.refreshOutbound) }

// refreshOutbound reads every stalled connection's buffer again, wakes the
// publishers waiting in WaitBacklog if the pressure fell, and arms the next
// refresh while it has not. Loop-only.
func (l *Loop) refreshOutbound() {
	l.refreshArmed = false
	for _, c := range l.stalled {
		old := c.ob.backlog.Load()
		if old == 0 {
			continue // recovered or closed
		}
		n := int64(c.gc.OutboundBuffered())
		c.ob.backlog.Store(n)
		l.recordOutbound(c, old, n)
	}
	l.compactStalled()
	l.armRefresh()
	l.mu.Lock()
	l.notifyDrainedLocked()
	l.mu.Unlock()
}

// maxOutboundBytes is the loop's bound: Config.MaxLoopOutboundBytes for a
// server's loops, DefaultMaxLoopOutboundBytes for a dialer's.
func (l *Loop) maxOutboundBytes() int64 {
	if l.maxOutbound > 0 {
		return l.maxOutbound
	}
	return DefaultMaxLoopOutboundBytes
}

// stalledShare reports whether enough of the loop's connections are
// stalled for their bytes to count.
func (l *Loop) stalledShare() bool {
	return l.nStalled.Load()*pressureShare >= l.nConns.Load()
}

// underPressure reports whether the queued outbound bytes are above limit
// and held by a large enough share of the loop's connections.
func (l *Loop) underPressure(limit int64) bool {
	return l.outBytes.Load() > limit && l.stalledShare()
}

// OutboundQueued reports the bytes the loop's connections hold in gnet's
// buffers, as last read, and how many connections hold them.
func (l *Loop) OutboundQueued() (bytes, conns int64) {
	return l.outBytes.Load(), l.nStalled.Load()
}
