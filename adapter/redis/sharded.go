package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/sio"
)

// shardedAdapter is one namespace's sharded adapter (socket.io-redis-
// adapter's createShardedAdapter, on socket.io-adapter's ClusterAdapter):
// messages {type, data, uid, nsp} on <prefix>#<nsp># (SSUBSCRIBE), answers
// on <prefix>#<nsp>#<uid>#, and in the dynamic modes a room's broadcasts on
// <prefix>#<nsp>#<room>#, subscribed while the room has members here.
type shardedAdapter struct {
	*sio.MemoryAdapter
	f   *Adapter
	ns  *sio.Namespace
	uid string

	channel         string // <prefix>#<nsp>#
	responseChannel string // <prefix>#<nsp>#<uid>#

	reqs *clusterwire.Table

	mu     sync.Mutex
	rooms  map[string]bool // room channels subscribed; guarded by mu
	closed bool            // guarded by mu
}

func newShardedAdapter(f *Adapter, ns *sio.Namespace) *shardedAdapter {
	var id [8]byte
	rand.Read(id[:])
	a := &shardedAdapter{
		MemoryAdapter: sio.NewMemoryAdapter(ns),
		f:             f,
		ns:            ns,
		uid:           hex.EncodeToString(id[:]),
		channel:       f.cfg.Key + "#" + ns.Name() + "#",
		reqs:          clusterwire.NewTable(),
		rooms:         make(map[string]bool),
	}
	a.responseChannel = a.channel + a.uid + "#"
	f.route(a.channel, false, func(_ string, b []byte) { a.onMessage(b) })
	f.route(a.responseChannel, false, func(_ string, b []byte) { a.onResponse(b) })
	f.bus.SSubscribe(a.channel, a.responseChannel)
	if f.cfg.SubscriptionMode != "static" {
		ns.OnCreateRoom(a.roomCreated)
		ns.OnDeleteRoom(a.roomDeleted)
	}
	return a
}

// looksLikeSocketID is socket.io's test: a 20-character room is a
// socket's own room, which the dynamic mode leaves on the main channel.
func looksLikeSocketID(room string) bool { return len(room) == 20 }

func (a *shardedAdapter) dynamicRoom(room string) bool {
	return a.f.cfg.SubscriptionMode == "dynamic-private" ||
		(a.f.cfg.SubscriptionMode == "dynamic" && !looksLikeSocketID(room))
}

func (a *shardedAdapter) roomChannel(room string) string { return a.channel + room + "#" }

func (a *shardedAdapter) roomCreated(room string) {
	if !a.dynamicRoom(room) {
		return
	}
	a.mu.Lock()
	if a.closed || a.rooms[room] {
		a.mu.Unlock()
		return
	}
	a.rooms[room] = true
	a.mu.Unlock()
	ch := a.roomChannel(room)
	a.f.route(ch, false, func(_ string, b []byte) { a.onMessage(b) })
	a.f.bus.SSubscribe(ch)
}

func (a *shardedAdapter) roomDeleted(room string) {
	a.mu.Lock()
	if !a.rooms[room] {
		a.mu.Unlock()
		return
	}
	delete(a.rooms, room)
	a.mu.Unlock()
	ch := a.roomChannel(room)
	a.f.bus.SUnsubscribe(ch)
	a.f.unroute(ch, false)
}

// publish sends a message: to its room's channel for a broadcast without
// acks to exactly one dynamic room, else to the namespace's channel.
func (a *shardedAdapter) publishMsg(typ int, data json.RawMessage, atts [][]byte, room string) error {
	msg, err := encodeClusterMsg(typ, data, atts, a.uid, a.ns.Name())
	if err != nil {
		return err
	}
	ch := a.channel
	if room != "" && a.dynamicRoom(room) {
		ch = a.roomChannel(room)
	}
	a.f.bus.SPublish(ch, msg)
	return nil
}

func (a *shardedAdapter) publishWait(ctx context.Context, typ int, data json.RawMessage) error {
	msg, err := encodeClusterMsg(typ, data, nil, a.uid, a.ns.Name())
	if err != nil {
		return err
	}
	ctx, cancel := withDefaultTimeout(ctx, a.f.cfg.RequestsTimeout)
	defer cancel()
	_, err = a.f.bus.SPublishWait(ctx, a.channel, msg)
	return err
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func (a *shardedAdapter) respond(requester string, typ int, data json.RawMessage, atts [][]byte) {
	msg, err := encodeClusterMsg(typ, data, atts, a.uid, a.ns.Name())
	if err != nil {
		a.f.failed("encode an answer", err)
		return
	}
	a.f.bus.SPublish(a.f.cfg.Key+"#"+a.ns.Name()+"#"+requester+"#", msg)
}

// Broadcast publishes p, then delivers it here.
func (a *shardedAdapter) Broadcast(p *sio.Packet, opts *sio.BroadcastOptions) {
	if !opts.Local {
		t := targetOf(opts)
		data, err := marshalData("packet", packetJSON(p), "opts", clusterOpts(t, opts.Volatile, 0))
		room := ""
		if len(t.rooms) == 1 {
			room = t.rooms[0]
		}
		if err == nil {
			err = a.publishMsg(clusterwire.MsgBroadcast, data, p.Attachments, room)
		}
		if err != nil {
			a.f.failed("publish a broadcast", err)
		}
	}
	a.MemoryAdapter.Broadcast(p, opts)
}

// BroadcastWithAck publishes p with a request id (always on the
// namespace's channel: every node counts), then delivers it here.
func (a *shardedAdapter) BroadcastWithAck(ctx context.Context, p *sio.Packet, opts *sio.BroadcastOptions, onCount func(int), onAck func(sio.Message, error)) {
	if !opts.Local {
		id := newUID(16)
		timeoutMs := clusterwire.TimeoutMs(ctx)
		data, err := marshalData("packet", packetJSON(p), "requestId", id, "opts", clusterOpts(targetOf(opts), opts.Volatile, timeoutMs))
		if err == nil {
			a.reqs.AddAck(ctx, id, &clusterwire.Ack{OnCount: onCount, OnAck: onAck})
			err = a.publishMsg(clusterwire.MsgBroadcast, data, p.Attachments, "")
		}
		if err != nil {
			a.f.failed("publish a broadcast with acks", err)
		}
	}
	a.MemoryAdapter.BroadcastWithAck(ctx, p, opts, onCount, onAck)
}

// ServerCount is the number of shard subscribers of the namespace's
// channel, summed over the masters of a cluster (PUBSUB SHARDNUMSUB).
func (a *shardedAdapter) ServerCount(ctx context.Context) (int, error) {
	n, err := a.f.bus.ShardNumSub(ctx, a.channel)
	return int(n), err
}

// request publishes a request that each other node answers once, with
// atts as the binaries of its data, and waits until they did or ctx ended.
func (a *shardedAdapter) request(ctx context.Context, typ int, p *pending, atts [][]byte, kv ...any) (*pending, error) {
	n, err := a.ServerCount(ctx)
	if err != nil {
		return p, err
	}
	if n <= 1 {
		return p, nil
	}
	p.Want = n - 1
	id := newUID(16)
	data, err := marshalData(append(kv, "requestId", id)...)
	if err != nil {
		return p, err
	}
	return p, a.reqs.Await(ctx, id, p, func() error { return a.publishMsg(typ, data, atts, "") })
}

// FetchSockets returns the selected sockets of this node and the others.
func (a *shardedAdapter) FetchSockets(ctx context.Context, opts *sio.BroadcastOptions) ([]*sio.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Local {
		return local, nil
	}
	ctx, cancel := withDefaultTimeout(ctx, a.f.cfg.RequestsTimeout)
	defer cancel()
	p := newPending(clusterwire.MsgFetchSockets, 0, 0)
	p.Sockets = local
	t := targetOf(opts)
	p, err := a.request(ctx, clusterwire.MsgFetchSockets, p, nil, "opts", clusterOpts(t, false, 0))
	r := p.Result()
	out := r.Sockets
	if err != nil {
		return out, requestErrorIn("fetchSockets", r, err, true)
	}
	return out, nil
}

// ErrAllRoomsNotImplemented is returned by the sharded adapter's
// AllRooms for the rooms of other nodes: its protocol (socket.io-adapter's
// ClusterAdapter) has no such request, and Node's sharded adapter has no
// allRooms either. With opts.Local, this node's rooms are returned.
var ErrAllRoomsNotImplemented = errors.New("redis adapter: allRooms is not implemented by the sharded adapter (its protocol has no such request)")

// AllRooms lists this node's rooms, with ErrAllRoomsNotImplemented unless
// opts.Local.
func (a *shardedAdapter) AllRooms(ctx context.Context, opts *sio.BroadcastOptions) ([]string, error) {
	rooms, _ := a.MemoryAdapter.AllRooms(ctx, opts)
	if opts.Local {
		return rooms, nil
	}
	return rooms, ErrAllRoomsNotImplemented
}

func (a *shardedAdapter) change(ctx context.Context, typ int, opts *sio.BroadcastOptions, kv ...any) error {
	if opts.Local {
		return nil
	}
	data, err := marshalData(append([]any{"opts", clusterOpts(targetOf(opts), false, 0)}, kv...)...)
	if err != nil {
		return err
	}
	return a.publishWait(ctx, typ, data)
}

// AddSockets publishes the join, then applies it here (as ClusterAdapter
// does; a failed publish still applies locally).
func (a *shardedAdapter) AddSockets(ctx context.Context, opts *sio.BroadcastOptions, rooms []string) error {
	err := a.change(ctx, clusterwire.MsgSocketsJoin, opts, "rooms", nonNil(rooms))
	a.MemoryAdapter.AddSockets(ctx, opts, rooms)
	return err
}

// DelSockets publishes the leave, then applies it here.
func (a *shardedAdapter) DelSockets(ctx context.Context, opts *sio.BroadcastOptions, rooms []string) error {
	err := a.change(ctx, clusterwire.MsgSocketsLeave, opts, "rooms", nonNil(rooms))
	a.MemoryAdapter.DelSockets(ctx, opts, rooms)
	return err
}

// DisconnectSockets publishes the disconnection, then applies it here.
func (a *shardedAdapter) DisconnectSockets(ctx context.Context, opts *sio.BroadcastOptions, closeConn bool) error {
	err := a.change(ctx, clusterwire.MsgDisconnectSockets, opts, "close", closeConn)
	a.MemoryAdapter.DisconnectSockets(ctx, opts, closeConn)
	return err
}

// ServerSideEmit sends p to the other nodes (binary arguments stay binary:
// the message is msgpack then).
func (a *shardedAdapter) ServerSideEmit(ctx context.Context, p *sio.Packet) error {
	data, err := marshalData("packet", json.RawMessage(p.Data))
	if err != nil {
		return err
	}
	return a.publishMsg(clusterwire.MsgServerSideEmit, data, p.Attachments, "")
}

// ServerSideEmitWithAck sends p to the other nodes and gathers one answer
// from each.
func (a *shardedAdapter) ServerSideEmitWithAck(ctx context.Context, p *sio.Packet) ([]sio.Message, error) {
	ctx, cancel := withDefaultTimeout(ctx, a.f.cfg.RequestsTimeout)
	defer cancel()
	pd := newPending(clusterwire.MsgServerSideEmit, 0, 0)
	pd, err := a.request(ctx, clusterwire.MsgServerSideEmit, pd, p.Attachments, "packet", json.RawMessage(p.Data))
	r := pd.Result()
	out := r.Answers
	if err != nil {
		return out, requestErrorIn("serverSideEmit", r, err, true)
	}
	return out, nil
}

// Close unsubscribes the namespace's channels.
func (a *shardedAdapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	rooms := a.rooms
	a.rooms = map[string]bool{}
	a.mu.Unlock()
	chans := []string{a.channel, a.responseChannel}
	for r := range rooms {
		chans = append(chans, a.roomChannel(r))
	}
	a.f.bus.SUnsubscribe(chans...)
	for _, c := range chans {
		a.f.unroute(c, false)
	}
	return nil
}

// onMessage handles a message of the namespace's or a room's channel.
func (a *shardedAdapter) onMessage(b []byte) {
	m, err := decodeClusterMsg(b)
	if err != nil {
		a.f.malformed(a.channel, err)
		return
	}
	if m.UID == a.uid || m.Nsp != a.ns.Name() {
		return
	}
	var d clusterData
	if len(m.Data) > 0 && json.Unmarshal(m.Data, &d) != nil {
		a.f.malformed(a.channel, errMalformed)
		return
	}
	ctx := context.Background()
	opts := func() *sio.BroadcastOptions {
		if d.Opts == nil {
			return nil
		}
		o := &sio.BroadcastOptions{Rooms: d.Opts.Rooms, Except: d.Opts.Except, Local: true}
		if len(d.Opts.Flags) > 0 {
			var f struct {
				Volatile bool `json:"volatile"`
			}
			json.Unmarshal(d.Opts.Flags, &f)
			o.Volatile = f.Volatile
		}
		return o
	}
	switch m.Type {
	case clusterwire.MsgBroadcast:
		var pk struct {
			Data json.RawMessage `json:"data"`
		}
		o := opts()
		if o == nil || json.Unmarshal(d.Packet, &pk) != nil || !isJSONArray(pk.Data) {
			a.f.malformed(a.channel, errMalformed)
			return
		}
		p := &sio.Packet{Data: pk.Data, Attachments: m.atts}
		if d.RequestID == "" {
			a.MemoryAdapter.Broadcast(p, o)
			return
		}
		a.onAckBroadcast(m.UID, d.RequestID, p, o, d.Opts.Flags)
	case clusterwire.MsgSocketsJoin, clusterwire.MsgSocketsLeave, clusterwire.MsgDisconnectSockets:
		o := opts()
		if o == nil {
			a.f.malformed(a.channel, errMalformed)
			return
		}
		switch m.Type {
		case clusterwire.MsgSocketsJoin:
			a.MemoryAdapter.AddSockets(ctx, o, d.Rooms)
		case clusterwire.MsgSocketsLeave:
			a.MemoryAdapter.DelSockets(ctx, o, d.Rooms)
		default:
			a.MemoryAdapter.DisconnectSockets(ctx, o, d.Close)
		}
	case clusterwire.MsgFetchSockets:
		o := opts()
		if o == nil || d.RequestID == "" {
			a.f.malformed(a.channel, errMalformed)
			return
		}
		sockets, err := localSocketsJSON(a.MemoryAdapter, o)
		if err != nil {
			a.f.failed("encode socket.data for fetchSockets", err)
			return
		}
		data, err := marshalData("requestId", d.RequestID, "sockets", sockets)
		if err != nil {
			a.f.failed("encode a fetchSockets answer", err)
			return
		}
		a.respond(m.UID, clusterwire.MsgFetchSocketsResponse, data, nil)
	case clusterwire.MsgServerSideEmit:
		if !isJSONArray(d.Packet) {
			a.f.malformed(a.channel, errMalformed)
			return
		}
		var ack func(*sio.Packet)
		if d.RequestID != "" {
			requester, id := m.UID, d.RequestID
			ack = func(p *sio.Packet) {
				arg, atts := firstArgWithAtts(p)
				data, err := marshalData("requestId", id, "packet", arg)
				if err != nil {
					a.f.failed("encode a server-side emit answer", err)
					return
				}
				a.respond(requester, clusterwire.MsgServerSideEmitResponse, data, atts)
			}
		}
		a.ns.HandleServerSideEmit(&sio.Packet{Data: d.Packet, Attachments: m.atts}, ack)
	case clusterwire.MsgFetchSocketsResponse, clusterwire.MsgServerSideEmitResponse, clusterwire.MsgBroadcastClientCount, clusterwire.MsgBroadcastAck:
		a.onResponseMsg(m, &d)
	}
}

// onAckBroadcast delivers another node's broadcast with acks here and
// answers its requester with the client count, then each ack.
func (a *shardedAdapter) onAckBroadcast(requester, id string, p *sio.Packet, opts *sio.BroadcastOptions, flags json.RawMessage) {
	timeout := a.f.cfg.RequestsTimeout
	var f struct {
		Timeout float64 `json:"timeout"`
	}
	if len(flags) > 0 && json.Unmarshal(flags, &f) == nil && f.Timeout > 0 {
		timeout = time.Duration(f.Timeout * float64(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	onCount := func(n int) {
		if n == 0 {
			cancel()
		}
		data, _ := marshalData("requestId", id, "clientCount", n)
		a.respond(requester, clusterwire.MsgBroadcastClientCount, data, nil)
	}
	onAck := func(m sio.Message, err error) {
		if err != nil {
			return
		}
		arg, atts := json.RawMessage("null"), [][]byte(nil)
		if m.Len() > 0 {
			arg, atts = m.Arg(0), m.Attachments()
		}
		data, err := marshalData("requestId", id, "packet", arg)
		if err != nil {
			a.f.failed("encode a broadcast ack", err)
			return
		}
		a.respond(requester, clusterwire.MsgBroadcastAck, data, atts)
	}
	a.MemoryAdapter.BroadcastWithAck(ctx, p, opts, onCount, onAck)
}

// onResponse handles a message of this node's response channel.
func (a *shardedAdapter) onResponse(b []byte) {
	m, err := decodeClusterMsg(b)
	if err != nil {
		a.f.malformed(a.responseChannel, err)
		return
	}
	var d clusterData
	if json.Unmarshal(m.Data, &d) != nil {
		a.f.malformed(a.responseChannel, errMalformed)
		return
	}
	a.onResponseMsg(m, &d)
}

func (a *shardedAdapter) onResponseMsg(m *clusterMsg, d *clusterData) {
	ack, p := a.reqs.Lookup(d.RequestID)
	switch m.Type {
	case clusterwire.MsgBroadcastClientCount:
		if ack != nil {
			ack.OnCount(d.ClientCount)
		}
	case clusterwire.MsgBroadcastAck:
		if ack != nil {
			if msg, err := clusterwire.Answer(d.Packet, m.atts); err == nil {
				ack.OnAck(msg, nil)
			}
		}
	case clusterwire.MsgFetchSocketsResponse:
		if p != nil && p.Type == clusterwire.MsgFetchSockets {
			clusterwire.AddSockets[rooms](p, a.ns, d.Sockets)
		}
	case clusterwire.MsgServerSideEmitResponse:
		if p != nil && p.Type == clusterwire.MsgServerSideEmit {
			p.AddAnswer(d.Packet, m.atts)
		}
	}
}

// firstArgWithAtts is the first argument of an answer and the attachments
// its placeholders refer to (all of p's: numbers stay valid).
func firstArgWithAtts(p *sio.Packet) (json.RawMessage, [][]byte) {
	m, err := p.Message(false)
	if err != nil || m.Len() == 0 {
		return json.RawMessage("null"), nil
	}
	return m.Arg(0), p.Attachments
}

// localSocketsJSON is this node's sockets opts selects, as a
// fetchSockets answer lists them.
func localSocketsJSON(ma *sio.MemoryAdapter, opts *sio.BroadcastOptions) ([]remoteSocketJSON, error) {
	local, _ := ma.FetchSockets(context.Background(), opts)
	out := make([]remoteSocketJSON, 0, len(local))
	for _, s := range local {
		data, err := s.DataJSON()
		if err != nil {
			return nil, err
		}
		out = append(out, remoteSocketJSON{ID: s.ID, Handshake: s.Handshake, Rooms: s.Rooms, Data: data})
	}
	return out, nil
}
