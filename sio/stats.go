package sio

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// Activity counters, for metrics (package metrics exports them to
// Prometheus). Nothing is counted until the first call to Server.Stats:
// a server nobody observes pays one atomic load per counted step. Counters
// are sharded by event loop, so that loops counting at once do not share
// a cache line.

// Stats is a snapshot of a server's activity on this node.
type Stats struct {
	// Connections counts the open Engine.IO sessions by transport name.
	Connections map[string]int
	// Sockets counts the connected sockets by namespace; Rooms the rooms
	// of this node's adapter by namespace, the sockets' own rooms excepted.
	Sockets, Rooms map[string]int
	// EventsReceived and EventsSent count packets, BytesReceived and
	// BytesSent their encoded size with attachments, since counting began.
	// A broadcast counts once per recipient.
	EventsReceived, EventsSent uint64
	BytesReceived, BytesSent   uint64
	// Broadcasts counts the broadcasts this node delivered, and
	// BroadcastRecipients the sockets they reached.
	Broadcasts, BroadcastRecipients uint64
	// VolatileDropped counts volatile packets not sent to a busy socket.
	VolatileDropped uint64
	// SlowConsumerDisconnects counts connections closed because they did
	// not read what they were sent (Config.MaxOutboundBytes), from the
	// server's start.
	SlowConsumerDisconnects uint64
	// Handler is the time event handlers took, as a histogram.
	Handler Histogram
	// LoopBacklog is the broadcast work queued on each event loop, in
	// recipient visits, and LoopOutboundBytes the output each holds for
	// slow readers (nil when the server runs no loops).
	LoopBacklog, LoopOutboundBytes []int64
	// MailboxQueue is the number of connections waiting for a worker.
	MailboxQueue int
	// RefusedRequests counts the refused Engine.IO requests by error code
	// (0 unknown transport, 1 unknown session id, 2 bad handshake method,
	// 3 bad request, 4 forbidden or over a bound, 5 unsupported version).
	RefusedRequests map[int]uint64
}

// Histogram is a cumulative histogram: Counts[i] observations took at most
// Bounds[i]; Count is every observation and Sum their total.
type Histogram struct {
	Bounds []time.Duration
	Counts []uint64
	Count  uint64
	Sum    time.Duration
}

// handlerBounds are the handler histogram's bucket bounds.
var handlerBounds = []time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// counter is one count per event loop, each on a cache line of its own.
type counter []paddedCount

type paddedCount struct {
	n atomic.Uint64
	_ [56]byte
}

func (c counter) add(group int32, n uint64) { c[int(group)%len(c)].n.Add(n) }

func (c counter) sum() uint64 {
	var t uint64
	for i := range c {
		t += c[i].n.Load()
	}
	return t
}

// counters are the server's counters once Stats was called.
type counters struct {
	eventsIn, eventsOut, bytesIn, bytesOut counter
	broadcasts, recipients, volatile       counter

	handlerCounts []atomic.Uint64 // per bucket, not cumulative; last: above every bound
	handlerSum    atomic.Int64    // nanoseconds
}

func newCounters(groups int) *counters {
	mk := func() counter { return make(counter, groups) }
	return &counters{
		eventsIn: mk(), eventsOut: mk(), bytesIn: mk(), bytesOut: mk(),
		broadcasts: mk(), recipients: mk(), volatile: mk(),
		handlerCounts: make([]atomic.Uint64, len(handlerBounds)+1),
	}
}

// countSend counts one packet sent to one socket.
func (c *counters) countSend(group int32, text []byte, atts [][]byte) {
	n := len(text)
	for _, a := range atts {
		n += len(a)
	}
	c.eventsOut.add(group, 1)
	c.bytesOut.add(group, uint64(n))
}

// countBroadcast counts what one walk of a broadcast did in a group: sent
// recipients each got msgs packets of frameBytes bytes in all; dropped
// volatile ones got nothing.
func (c *counters) countBroadcast(group int32, sent, dropped, msgs, frameBytes int) {
	if sent > 0 {
		c.recipients.add(group, uint64(sent))
		c.eventsOut.add(group, uint64(sent*msgs))
		c.bytesOut.add(group, uint64(sent*frameBytes))
	}
	if dropped > 0 {
		c.volatile.add(group, uint64(dropped*msgs))
	}
}

// observeHandler records a handler's duration.
func (c *counters) observeHandler(d time.Duration) {
	i := sort.Search(len(handlerBounds), func(i int) bool { return d <= handlerBounds[i] })
	c.handlerCounts[i].Add(1)
	c.handlerSum.Add(int64(d))
}

// queued is the number of mailboxes waiting for a worker.
func (p *workerPool) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue) - p.head
}

// namespaces returns the server's namespaces, dynamic ones included.
func (s *Server) namespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, ns := range s.nsps {
		out = append(out, ns)
	}
	return out
}

// count is the number of connected sockets.
func (n *Namespace) count() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// LocalRoomCount is the number of rooms this node's sockets are in, their
// own rooms excepted.
func (a *MemoryAdapter) LocalRoomCount() int { return a.hub.RoomCount() }

// Stats returns a snapshot of the server's activity and, on the first
// call, starts counting it.
func (s *Server) Stats() Stats {
	c := s.stats.Load()
	if c == nil {
		s.stats.CompareAndSwap(nil, newCounters(s.groups))
		c = s.stats.Load()
	}
	st := Stats{
		Connections: map[string]int{eio.Polling: 0, eio.WebSocket: 0},
		Sockets:     map[string]int{},
		Rooms:       map[string]int{},

		EventsReceived: c.eventsIn.sum(), EventsSent: c.eventsOut.sum(),
		BytesReceived: c.bytesIn.sum(), BytesSent: c.bytesOut.sum(),
		Broadcasts: c.broadcasts.sum(), BroadcastRecipients: c.recipients.sum(),
		VolatileDropped: c.volatile.sum(),

		MailboxQueue:    s.workers.queued(),
		RefusedRequests: s.engine.RefusedByCode(),
	}
	for t, n := range s.engine.CountByTransport() {
		st.Connections[t] = n
	}
	st.SlowConsumerDisconnects = s.engine.SlowConsumers()
	for _, ns := range s.namespaces() {
		st.Sockets[ns.name] = ns.count()
		if m, ok := ns.adapter.(interface{ LocalRoomCount() int }); ok {
			st.Rooms[ns.name] = m.LocalRoomCount()
		}
	}
	s.mu.Lock()
	ls := s.ls
	s.mu.Unlock()
	if ls != nil {
		st.SlowConsumerDisconnects += ls.SlowConsumers()
		for i := 0; i < s.groups; i++ {
			l := ls.Loop(i)
			if l == nil { // not started yet
				break
			}
			b, _ := l.OutboundQueued()
			st.LoopBacklog = append(st.LoopBacklog, l.Backlog())
			st.LoopOutboundBytes = append(st.LoopOutboundBytes, b)
		}
	}
	h := Histogram{Bounds: handlerBounds, Counts: make([]uint64, len(handlerBounds))}
	var cum uint64
	for i := range handlerBounds {
		cum += c.handlerCounts[i].Load()
		h.Counts[i] = cum
	}
	h.Count = cum + c.handlerCounts[len(handlerBounds)].Load()
	h.Sum = time.Duration(c.handlerSum.Load())
	st.Handler = h
	return st
}
