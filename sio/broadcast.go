package sio

import (
	"context"
	"errors"
	"sync"
	"time"
)

// BroadcastOptions says who receives a broadcast, as socket.io's adapter
// sees it.
type BroadcastOptions struct {
	Rooms        []string // empty: every socket of the namespace
	Except       []string // sockets in any of these rooms are skipped
	ExceptSocket *Socket  // skipped too (socket.broadcast)
	Volatile     bool     // drop for clients that are not writable
	Local        bool     // this server only
}

// BroadcastOperator is an immutable broadcast target built with To, In,
// Except, Volatile and Local (socket.io's BroadcastOperator). Every method
// returns a new value; a BroadcastOperator may be kept and reused.
type BroadcastOperator struct {
	nsp          *Namespace
	rooms        []string
	except       []string
	exceptSocket *Socket
	volatile     bool
	local        bool
	timeout      time.Duration
}

func appendCopy(a []string, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// To adds rooms to the target (union).
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = appendCopy(b.rooms, rooms)
	return b
}

// In is an alias of To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except excludes sockets in rooms.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = appendCopy(b.except, rooms)
	return b
}

// Volatile lets the event be dropped for clients that are not ready.
func (b BroadcastOperator) Volatile() BroadcastOperator {
	b.volatile = true
	return b
}

// Local restricts the broadcast to this server.
func (b BroadcastOperator) Local() BroadcastOperator {
	b.local = true
	return b
}

func (b BroadcastOperator) options() *BroadcastOptions {
	return &BroadcastOptions{Rooms: b.rooms, Except: b.except, ExceptSocket: b.exceptSocket,
		Volatile: b.volatile, Local: b.local}
}

// Emit sends event name with args to every targeted socket, on every
// node of a cluster. The packet is encoded once and the same bytes are
// written to every recipient of this node.
func (b BroadcastOperator) Emit(name string, args ...any) error {
	if reservedEvents[name] {
		return ErrReservedEvent
	}
	p, err := NewPacket(name, args...)
	if err != nil {
		return err
	}
	_, p.sole = b.nsp.adapter.(*MemoryAdapter)
	b.nsp.adapter.Broadcast(p, b.options())
	return nil
}

// ErrAckTimeout is returned by EmitWithAck when some clients did not
// answer before the context ended; the answers received are returned too.
var ErrAckTimeout = errors.New("sio: operation has timed out")

// EmitWithAck sends the event to every targeted socket, on every node of
// a cluster, and gathers one acknowledgement per socket, until all
// answered or ctx ends (then with ErrAckTimeout and the answers that
// came). Sockets that disconnect before answering are not waited for.
func (b BroadcastOperator) EmitWithAck(ctx context.Context, name string, args ...any) ([]Message, error) {
	if reservedEvents[name] {
		return nil, ErrReservedEvent
	}
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	p, err := NewPacket(name, args...)
	if err != nil {
		return nil, err
	}
	g := newAckGather()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the adapter forgets the request once this returns
	b.nsp.adapter.BroadcastWithAck(ctx, p, b.options(), g.count, g.ack)
	// A recipient whose connection handlers still run holds its output
	// (output_hold.go) and cannot answer before they return; one of them
	// may be the caller. Release those holds, as Socket.EmitWithAck does.
	for _, s := range b.LocalSockets() {
		s.releaseOutput()
	}
	servers := 1
	if !b.local {
		// Read after publishing, as socket.io does: a node that joins
		// meanwhile is not waited for.
		if servers, err = b.nsp.adapter.ServerCount(ctx); err != nil {
			<-ctx.Done()
			return g.replies(), errors.Join(ErrAckTimeout, err)
		}
	}
	g.expectServers(servers)
	select {
	case <-g.done:
		return g.replies(), nil
	case <-ctx.Done():
		return g.replies(), ErrAckTimeout
	}
}

// ackGather counts the answers to a broadcast with acks: done once every
// expected node reported its client count and that many answers (or
// disconnections) came.
type ackGather struct {
	mu       sync.Mutex
	servers  int // nodes expected to report; -1 until known
	reported int // nodes that reported their count
	clients  int // sockets that will answer, summed over reports
	answers  []Message
	done     chan struct{}
	closed   bool
}

func newAckGather() *ackGather { return &ackGather{servers: -1, done: make(chan struct{})} }

func (g *ackGather) count(n int) {
	g.mu.Lock()
	g.reported++
	g.clients += n
	g.checkLocked()
	g.mu.Unlock()
}

func (g *ackGather) ack(m Message, err error) {
	g.mu.Lock()
	if err == nil {
		g.answers = append(g.answers, m)
	} else {
		g.clients-- // disconnected: it will not answer
	}
	g.checkLocked()
	g.mu.Unlock()
}

func (g *ackGather) expectServers(n int) {
	g.mu.Lock()
	g.servers = n
	g.checkLocked()
	g.mu.Unlock()
}

func (g *ackGather) checkLocked() {
	if !g.closed && g.servers >= 0 && g.reported >= g.servers && len(g.answers) >= g.clients {
		g.closed = true
		close(g.done)
	}
}

func (g *ackGather) replies() []Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Message(nil), g.answers...)
}

// dropAcks removes ack id from every socket of the namespace, once a
// broadcast stopped waiting: the sockets that never answered would
// otherwise keep its callback (and the replies it holds) until they
// disconnect. Ack ids are unique per namespace, so no other emit is
// touched. It walks the namespace's sockets, O(sockets), but only when a
// broadcast with acks timed out; recipients are not remembered because
// every broadcast with acks would pay for that list.
func (n *Namespace) dropAcks(id int64) {
	for _, s := range n.Sockets() {
		s.takeAck(id)
	}
}

// FetchSockets returns the targeted sockets of every node of a cluster
// (socket.io's fetchSockets); those of this node are also reachable as
// *Socket (RemoteSocket.Local). With a cluster, it waits for the other
// nodes' answers until ctx ends, and returns those that came with an
// error if some did not.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return b.nsp.adapter.FetchSockets(ctx, b.options())
}

// LocalSockets returns the targeted sockets of this node. It never waits.
func (b BroadcastOperator) LocalSockets() []*Socket {
	opts := b.options()
	opts.Local = true
	rs, _ := b.nsp.adapter.FetchSockets(context.Background(), opts)
	out := make([]*Socket, 0, len(rs))
	for _, r := range rs {
		if s := r.Local(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// SocketsJoin makes the targeted sockets of every node join rooms.
func (b BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return b.nsp.adapter.AddSockets(ctx, b.options(), rooms)
}

// SocketsLeave makes the targeted sockets of every node leave rooms.
func (b BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return b.nsp.adapter.DelSockets(ctx, b.options(), rooms)
}

// DisconnectSockets disconnects the targeted sockets of every node.
func (b BroadcastOperator) DisconnectSockets(ctx context.Context, closeConn bool) error {
	return b.nsp.adapter.DisconnectSockets(ctx, b.options(), closeConn)
}
