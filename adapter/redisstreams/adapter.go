package redisstreams

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/sio"
)

// nsAdapter is one namespace's adapter: a MemoryAdapter for this node's
// sockets, the namespace's ordered pipeline to the stream, its pub/sub
// channels for requests and answers, and its sessions (session.go).
type nsAdapter struct {
	*sio.MemoryAdapter
	r      *Adapter
	ns     *sio.Namespace
	uid    string
	stream *stream

	public  string // <prefix>#<nsp>#: requests, counted by NUMSUB
	private string // <prefix>#<nsp>#<uid>#: answers to this node

	// recovery is sio's connection state recovery being on: broadcasts
	// then carry offsets, and wait for their XADD to be delivered here.
	recovery   bool
	sessionTTL time.Duration

	pipe pipeline

	// dispatchMu orders this node's deliveries of stream entries (the
	// reader's and the pipeline's) with the restoring of sessions, so
	// that a restored socket gets each missed entry once (session.go).
	dispatchMu sync.Mutex
	restoring  map[string]*restoring // by socket id; guarded by dispatchMu
	lastOwn    entryID               // the last own entry delivered here; guarded by dispatchMu
	inflight   *item                 // the broadcast whose XADD is out; guarded by dispatchMu
	awaiting   []awaited             // own broadcasts appended, for the reader to deliver; guarded by dispatchMu
	awaitIdle  chan struct{}         // closed when awaiting empties; guarded by dispatchMu
	awaitTimer *time.Timer           // delivers what the reader is late for; guarded by dispatchMu
	nRestoring atomic.Int32          // len(restoring), for AddAll's fast path

	reqs   *clusterwire.Table // requests and broadcasts with acks waiting for answers
	mu     sync.Mutex
	closed bool // guarded by mu
}

func newNsAdapter(r *Adapter, ns *sio.Namespace) *nsAdapter {
	a := &nsAdapter{
		MemoryAdapter: sio.NewMemoryAdapter(ns),
		r:             r,
		ns:            ns,
		uid:           randomID(),
		stream:        r.streamOf(ns.Name()),
		public:        r.cfg.ChannelPrefix + "#" + ns.Name() + "#",
		restoring:     map[string]*restoring{},
		reqs:          clusterwire.NewTable(),
	}
	a.private = a.public + a.uid + "#"
	if rc := ns.Server().ConnectionStateRecovery(); rc != nil {
		a.recovery, a.sessionTTL = true, rc.MaxDisconnectionDuration
	}
	a.pipe.init(a)
	return a
}

// Broadcast sends p to the sockets opts selects on every node. It never
// waits for Redis: the broadcast is queued on the namespace's pipeline,
// which appends it to the stream (XADD) and, with connection state
// recovery, then delivers it here with its entry id as offset, in the
// order of the Broadcast calls. Without recovery it is delivered here at
// once. A broadcast that does not fit in the pipeline (MaxQueuedBytes) is
// delivered here at once, without offset, and never reaches other nodes.
func (a *nsAdapter) Broadcast(p *sio.Packet, opts *sio.BroadcastOptions) {
	if opts.Local {
		a.MemoryAdapter.Broadcast(p, opts)
		return
	}
	t := targetOf(opts)
	data, err := streamData(appendBroadcastData(nil, p, t, opts.Volatile, "", 0), p.Attachments)
	if err != nil {
		a.r.failed("encode a broadcast", err)
		a.MemoryAdapter.Broadcast(p, opts)
		return
	}
	it := &item{typ: clusterwire.MsgBroadcast, data: data, p: p, opts: opts, t: t}
	if !a.recovery {
		a.MemoryAdapter.Broadcast(p, opts)
		it.delivered = true
	}
	if !a.pipe.push(it) {
		a.queueFull()
		if !it.delivered {
			a.MemoryAdapter.Broadcast(p, opts)
		}
	}
}

func (a *nsAdapter) queueFull() {
	n := a.r.dropped.Add(1)
	a.r.warn("queue", "redisstreams: pipeline full, delivered on this node only", slog.String("namespace", a.ns.Name()), slog.Uint64("dropped", n))
}

// BroadcastWithAck publishes p with a request id on the namespace's
// channel (pub/sub: other nodes answer with their client count, then each
// client's ack), then delivers it here. Like Node, it is never in the
// stream and carries no offset.
func (a *nsAdapter) BroadcastWithAck(ctx context.Context, p *sio.Packet, opts *sio.BroadcastOptions, onCount func(int), onAck func(sio.Message, error)) {
	if !opts.Local {
		id := randomID()
		timeoutMs := clusterwire.TimeoutMs(ctx)
		data := appendBroadcastData(nil, p, targetOf(opts), opts.Volatile, id, timeoutMs)
		a.reqs.AddAck(ctx, id, &clusterwire.Ack{OnCount: onCount, OnAck: onAck})
		if err := a.publish(a.public, clusterwire.MsgBroadcast, data, p.Attachments); err != nil {
			a.r.failed("publish a broadcast with acks", err)
		}
	}
	a.MemoryAdapter.BroadcastWithAck(ctx, p, opts, onCount, onAck)
}

// publish queues the pub/sub message {typ, data, uid, nsp} on channel.
func (a *nsAdapter) publish(channel string, typ int, data []byte, atts [][]byte) error {
	msg, err := clusterwire.AppendMessage(nil, typ, data, atts, a.uid, a.ns.Name())
	if err != nil {
		return err
	}
	if !a.r.bus.Publish(channel, msg) {
		return errPublishDropped
	}
	return nil
}

var errPublishDropped = fmt.Errorf("redisstreams: publish dropped (Redis down or queue full)")

// respond answers the node requester on its own channel.
func (a *nsAdapter) respond(requester string, typ int, data []byte, atts [][]byte) {
	if err := a.publish(a.r.cfg.ChannelPrefix+"#"+a.ns.Name()+"#"+requester+"#", typ, data, atts); err != nil {
		a.r.failed("answer a request", err)
	}
}

// ServerCount is the number of subscribers of the namespace's channel
// (PUBSUB NUMSUB), one per node.
func (a *nsAdapter) ServerCount(ctx context.Context) (int, error) {
	n, err := a.r.bus.NumSub(ctx, a.public)
	return int(n), err
}

// AllRooms lists this node's rooms: the ClusterAdapter has no request for
// other nodes' rooms (Node's streams adapter has no allRooms).
func (a *nsAdapter) AllRooms(ctx context.Context, opts *sio.BroadcastOptions) ([]string, error) {
	return a.MemoryAdapter.AllRooms(ctx, opts)
}

func (a *nsAdapter) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.r.cfg.RequestsTimeout)
}

// ask publishes a request that each other node answers once and waits for
// the answers, or for ctx.
func (a *nsAdapter) ask(ctx context.Context, req *clusterwire.Pending, typ int, data func(id string) []byte, atts [][]byte) error {
	n, err := a.ServerCount(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return nil
	}
	req.Want = n - 1
	id := randomID()
	return a.reqs.Await(ctx, id, req, func() error { return a.publish(a.public, typ, data(id), atts) })
}

// FetchSockets returns the sockets opts selects on this node and the
// others; with opts.Local only this node's.
func (a *nsAdapter) FetchSockets(ctx context.Context, opts *sio.BroadcastOptions) ([]*sio.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Local {
		return local, nil
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	req := clusterwire.NewPending(clusterwire.MsgFetchSockets, 0)
	req.Sockets = local
	t := targetOf(opts)
	err := a.ask(ctx, req, clusterwire.MsgFetchSockets, func(id string) []byte {
		b := appendOpts([]byte(`{"opts":`), t, false, 0)
		b = append(b, `,"requestId":`...)
		return append(packet.AppendQuote(b, id), '}')
	}, nil)
	r := req.Result()
	out := r.Sockets
	if ctx.Err() != nil {
		return out, fmt.Errorf("%w: only %d responses received out of %d: %v", ErrTimeout, r.Got, r.Want, err)
	}
	return out, err
}

// AddSockets makes the sockets opts selects on every node join rooms: the
// join goes through the pipeline (XADD, in order with the broadcasts),
// then is applied here, as the ClusterAdapter does; a failed XADD still
// applies it here.
func (a *nsAdapter) AddSockets(ctx context.Context, opts *sio.BroadcastOptions, rooms []string) error {
	return a.change(ctx, clusterwire.MsgSocketsJoin, opts, rooms, false)
}

// DelSockets makes the sockets opts selects on every node leave rooms.
func (a *nsAdapter) DelSockets(ctx context.Context, opts *sio.BroadcastOptions, rooms []string) error {
	return a.change(ctx, clusterwire.MsgSocketsLeave, opts, rooms, false)
}

// DisconnectSockets disconnects the sockets opts selects on every node.
func (a *nsAdapter) DisconnectSockets(ctx context.Context, opts *sio.BroadcastOptions, closeConn bool) error {
	return a.change(ctx, clusterwire.MsgDisconnectSockets, opts, nil, closeConn)
}

func (a *nsAdapter) change(ctx context.Context, typ int, opts *sio.BroadcastOptions, rooms []string, closeConn bool) error {
	if opts.Local {
		a.apply(typ, opts, rooms, closeConn)
		return nil
	}
	data := appendChangeData(nil, typ, targetOf(opts), rooms, closeConn)
	it := &item{typ: typ, data: string(data), opts: opts, rooms: rooms, closeConn: closeConn, done: make(chan error, 1)}
	if !a.pipe.push(it) {
		a.queueFull()
		a.apply(typ, opts, rooms, closeConn)
		return ErrQueueFull
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // it is still appended, then applied, in its turn
	}
}

// apply applies a join, leave or disconnect to this node's sockets. It
// must not be called with dispatchMu held: joining calls AddAll.
func (a *nsAdapter) apply(typ int, opts *sio.BroadcastOptions, rooms []string, closeConn bool) {
	ctx := context.Background()
	switch typ {
	case clusterwire.MsgSocketsJoin:
		a.MemoryAdapter.AddSockets(ctx, opts, rooms)
	case clusterwire.MsgSocketsLeave:
		a.MemoryAdapter.DelSockets(ctx, opts, rooms)
	case clusterwire.MsgDisconnectSockets:
		a.MemoryAdapter.DisconnectSockets(ctx, opts, closeConn)
	}
}

// ServerSideEmit sends p to the other nodes' OnServerSideEmit handlers.
func (a *nsAdapter) ServerSideEmit(ctx context.Context, p *sio.Packet) error {
	data := append(append([]byte(`{"packet":`), p.Data...), '}')
	return a.publish(a.public, clusterwire.MsgServerSideEmit, data, p.Attachments)
}

// ServerSideEmitWithAck sends p to the other nodes and gathers one answer
// from each (the server count less this node), until ctx ends or
// RequestsTimeout when ctx has no deadline.
func (a *nsAdapter) ServerSideEmitWithAck(ctx context.Context, p *sio.Packet) ([]sio.Message, error) {
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	req := clusterwire.NewPending(clusterwire.MsgServerSideEmit, 0)
	err := a.ask(ctx, req, clusterwire.MsgServerSideEmit, func(id string) []byte {
		b := packet.AppendQuote([]byte(`{"requestId":`), id)
		b = append(b, `,"packet":`...)
		return append(append(b, p.Data...), '}')
	}, p.Attachments)
	r := req.Result()
	out := r.Answers
	if ctx.Err() != nil {
		return out, fmt.Errorf("%w: only %d responses received out of %d: %v", sio.ErrAckTimeout, len(r.Answers), r.Want, err)
	}
	return out, err
}

// Close stops the namespace's subscriptions; what its pipeline holds is
// still appended (Adapter.Close waits for it).
func (a *nsAdapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.r.forget(a)
	return nil
}

// onEntry handles a stream entry of another node for this namespace, on
// the reader's goroutine.
func (a *nsAdapter) onEntry(s *stream, id entryID, rawID string, m *streamMsg) {
	switch m.typ {
	case clusterwire.MsgBroadcast, clusterwire.MsgSocketsJoin, clusterwire.MsgSocketsLeave, clusterwire.MsgDisconnectSockets:
	default:
		// 0.2's heartbeats and requests went through the stream; 0.3 uses
		// pub/sub for them. Nothing to do.
		s.setPosition(id)
		return
	}
	d, atts, err := decodeData(m.data)
	if err != nil || d.Opts == nil {
		a.r.badInput(s.name, errMalformed)
		s.setPosition(id)
		return
	}
	if m.typ != clusterwire.MsgBroadcast {
		t := d.Opts.target()
		a.apply(m.typ, &sio.BroadcastOptions{Rooms: t.rooms, Except: t.except, Local: true}, d.Rooms, d.Close)
		s.setPosition(id)
		return
	}
	if d.RequestID != "" {
		// Not sent by Node 0.3 (pub/sub), handled as it would be.
		a.onAckBroadcast(m.uid, d, atts)
		s.setPosition(id)
		return
	}
	b, err := decodeBroadcast(d, atts)
	if err != nil {
		a.r.badInput(s.name, err)
		s.setPosition(id)
		return
	}
	a.deliverEntry(&b.packet, b.target, b.flags.volatile, a.recovery && !b.flags.volatileSet && !b.acked, id, rawID, s)
}

// deliverEntry delivers another node's broadcast, read from stream s as
// entry id, to this node's sockets (withOffset: with id appended). The
// reader's position moves to id while dispatchMu is held (session.go).
func (a *nsAdapter) deliverEntry(p *sio.Packet, t target, volatile, withOffset bool, id entryID, rawID string, s *stream) {
	out := p
	if withOffset {
		out = &sio.Packet{Data: appendOffset(p.Data, rawID), Attachments: p.Attachments}
	}
	opts := t.options(volatile)
	a.dispatchMu.Lock()
	defer a.dispatchMu.Unlock()
	if len(a.restoring) > 0 {
		opts = a.holdLocked(opts, t, p, id, rawID)
	}
	s.setPosition(id)
	a.MemoryAdapter.Broadcast(out, opts)
}

// onMessage handles a message of the namespace's channel or of this
// node's own, on the bus's receiving goroutine.
func (a *nsAdapter) onMessage(payload []byte) {
	m, d, atts, err := decodeMessage(payload)
	if err != nil {
		a.r.badInput(a.public, err)
		return
	}
	if m.UID == a.uid || m.Nsp != a.ns.Name() {
		return
	}
	switch m.Type {
	case clusterwire.MsgBroadcast:
		if d.RequestID != "" {
			a.onAckBroadcast(m.UID, d, atts)
			return
		}
		b, err := decodeBroadcast(d, atts)
		if err != nil {
			a.r.badInput(a.public, err)
			return
		}
		a.MemoryAdapter.Broadcast(&b.packet, b.target.options(b.flags.volatile))
	case clusterwire.MsgFetchSockets:
		if d.Opts == nil || d.RequestID == "" {
			a.r.badInput(a.public, errMalformed)
			return
		}
		a.onFetch(m.UID, d)
	case clusterwire.MsgServerSideEmit:
		if !isArray(d.Packet) || (len(atts) > 0 && packet.ValidatePlaceholders(d.Packet, len(atts)) != nil) {
			a.r.badInput(a.public, errMalformed)
			return
		}
		var ack func(*sio.Packet)
		if d.RequestID != "" {
			requester, id := m.UID, d.RequestID
			ack = func(p *sio.Packet) {
				b := packet.AppendQuote([]byte(`{"requestId":`), id)
				b = append(append(b, `,"packet":`...), firstArg(p.Data)...)
				a.respond(requester, clusterwire.MsgServerSideEmitResponse, append(b, '}'), p.Attachments)
			}
		}
		a.ns.HandleServerSideEmit(&sio.Packet{Data: d.Packet, Attachments: atts}, ack)
	case clusterwire.MsgFetchSocketsResponse, clusterwire.MsgServerSideEmitResponse, clusterwire.MsgBroadcastClientCount, clusterwire.MsgBroadcastAck:
		a.onAnswer(m.Type, d, atts)
	}
}

// firstArg is the first element of the JSON array args, "null" if none.
func firstArg(args []byte) []byte {
	els, err := packet.SplitArgs(args)
	if err != nil || len(els) == 0 {
		return []byte("null")
	}
	return els[0]
}

// onFetch answers a FETCH_SOCKETS request with this node's sockets.
func (a *nsAdapter) onFetch(requester string, d *wireData) {
	t := d.Opts.target()
	socks, err := clusterwire.LocalSockets[clusterwire.Rooms](a.MemoryAdapter, t.rooms, t.except)
	if err != nil {
		a.r.failed("encode socket.data for fetchSockets", err)
		return
	}
	list, err := json.Marshal(socks)
	if err != nil {
		a.r.failed("encode a fetchSockets answer", err)
		return
	}
	b := packet.AppendQuote([]byte(`{"requestId":`), d.RequestID)
	b = append(append(b, `,"sockets":`...), list...)
	a.respond(requester, clusterwire.MsgFetchSocketsResponse, append(b, '}'), nil)
}

// onAckBroadcast delivers another node's broadcast with acks here and
// answers its requester with the client count, then each client's ack.
func (a *nsAdapter) onAckBroadcast(requester string, d *wireData, atts [][]byte) {
	b, err := decodeBroadcast(d, atts)
	if err != nil {
		a.r.badInput(a.public, err)
		return
	}
	timeout := a.r.cfg.RequestsTimeout
	if b.flags.timeoutMs > 0 {
		timeout = time.Duration(b.flags.timeoutMs * float64(time.Millisecond))
	}
	// The requester stops waiting at its timeout; this node too, so that
	// sockets that never answer do not keep the callback.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	id := d.RequestID
	onCount := func(n int) {
		if n == 0 {
			cancel()
		}
		data := packet.AppendQuote([]byte(`{"requestId":`), id)
		data = strconv.AppendInt(append(data, `,"clientCount":`...), int64(n), 10)
		a.respond(requester, clusterwire.MsgBroadcastClientCount, append(data, '}'), nil)
	}
	onAck := func(m sio.Message, err error) {
		if err != nil {
			return // disconnected: the requester times out on it, as with Node nodes
		}
		arg := json.RawMessage("null")
		if m.Len() > 0 {
			arg = m.Arg(0)
		}
		data := packet.AppendQuote([]byte(`{"requestId":`), id)
		data = append(append(data, `,"packet":`...), arg...)
		a.respond(requester, clusterwire.MsgBroadcastAck, append(data, '}'), m.Attachments())
	}
	a.MemoryAdapter.BroadcastWithAck(ctx, &b.packet, b.target.options(b.flags.volatile), onCount, onAck)
}

// onAnswer handles an answer to one of this node's requests.
func (a *nsAdapter) onAnswer(typ int, d *wireData, atts [][]byte) {
	ack, req := a.reqs.Lookup(d.RequestID)
	switch typ {
	case clusterwire.MsgBroadcastClientCount:
		if ack != nil {
			ack.OnCount(d.ClientCount)
		}
	case clusterwire.MsgBroadcastAck:
		if ack != nil {
			if m, err := clusterwire.Answer(d.Packet, atts); err == nil {
				ack.OnAck(m, nil)
			}
		}
	case clusterwire.MsgFetchSocketsResponse:
		if req != nil && req.Type == clusterwire.MsgFetchSockets {
			clusterwire.AddSockets[clusterwire.Rooms](req, a.ns, d.Sockets)
		}
	case clusterwire.MsgServerSideEmitResponse:
		if req != nil && req.Type == clusterwire.MsgServerSideEmit {
			req.AddAnswer(d.Packet, atts)
		}
	}
}
