package redis

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/internal/msgpack"
	"github.com/sioloop/sioloop/sio"
	"github.com/valyala/bytebufferpool"
)

// ErrTimeout matches (errors.Is) the *TimeoutError of a request that other
// nodes did not all answer before its deadline.
var ErrTimeout = errors.New("redis adapter: timeout reached")

// adapter is one namespace's classic Redis adapter: a MemoryAdapter for
// this node's sockets, and the channels of socket.io-redis-adapter for the
// other nodes'.
type adapter struct {
	*sio.MemoryAdapter
	f   *Adapter
	ns  *sio.Namespace
	uid string

	prefix          string // <key>#<nsp>#: broadcasts, a room's after it
	pattern         string // <key>#<nsp>#*
	requestChannel  string // <key>-request#<nsp>#
	responseChannel string // <key>-response#<nsp>#
	ownResponse     string // <key>-response#<nsp>#<uid>#

	reqs *clusterwire.Table

	mu     sync.Mutex
	closed bool // guarded by mu
}

func newAdapter(f *Adapter, ns *sio.Namespace) *adapter {
	key, nsp := f.cfg.Key, ns.Name()
	a := &adapter{
		MemoryAdapter:   sio.NewMemoryAdapter(ns),
		f:               f,
		ns:              ns,
		uid:             newUID(6),
		prefix:          key + "#" + nsp + "#",
		requestChannel:  key + "-request#" + nsp + "#",
		responseChannel: key + "-response#" + nsp + "#",
		reqs:            clusterwire.NewTable(),
	}
	a.pattern = a.prefix + "*"
	a.ownResponse = a.responseChannel + a.uid + "#"
	f.route(a.pattern, true, a.onBroadcast)
	f.route(a.requestChannel, false, func(_ string, b []byte) { a.onRequest(b) })
	f.route(a.responseChannel, false, func(_ string, b []byte) { a.onResponse(b) })
	f.route(a.ownResponse, false, func(_ string, b []byte) { a.onResponse(b) })
	f.bus.PSubscribe(a.pattern)
	f.bus.Subscribe(a.requestChannel, a.responseChannel, a.ownResponse)
	return a
}

// withTimeout bounds a request by RequestsTimeout when ctx has no
// deadline of its own (socket.io: flags.timeout || requestsTimeout).
func (a *adapter) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.f.cfg.RequestsTimeout)
}

// encodePool holds the buffers broadcasts are encoded into: Publish copies
// the message, so the buffer goes back at once (a fresh buffer costs five
// allocations a broadcast: BenchmarkEncodeBroadcastFresh).
var encodePool bytebufferpool.Pool

// Broadcast publishes p to the other nodes, then delivers it here.
func (a *adapter) Broadcast(p *sio.Packet, opts *sio.BroadcastOptions) {
	if !opts.Local {
		t := targetOf(opts)
		buf := encodePool.Get()
		msg, err := encodeBroadcast(buf.B[:0], a.uid, a.ns.Name(), p, t, opts.Volatile)
		buf.B = msg
		if err != nil {
			a.f.failed("encode a broadcast", err)
		} else {
			channel := a.prefix
			if len(t.rooms) == 1 {
				channel += t.rooms[0] + "#"
			}
			a.f.bus.Publish(channel, msg)
		}
		encodePool.Put(buf)
	}
	a.MemoryAdapter.Broadcast(p, opts)
}

// BroadcastWithAck publishes p as a request (other nodes answer with
// their client count, then each client's ack), then delivers it here.
func (a *adapter) BroadcastWithAck(ctx context.Context, p *sio.Packet, opts *sio.BroadcastOptions, onCount func(int), onAck func(sio.Message, error)) {
	if !opts.Local {
		id := newUID(6)
		timeoutMs := clusterwire.TimeoutMs(ctx)
		buf := encodePool.Get()
		defer encodePool.Put(buf)
		msg, err := encodeAckBroadcast(buf.B[:0], a.uid, id, a.ns.Name(), p, targetOf(opts), opts.Volatile, timeoutMs)
		buf.B = msg
		if err != nil {
			a.f.failed("encode a broadcast with acks", err)
		} else {
			a.reqs.AddAck(ctx, id, &clusterwire.Ack{OnCount: onCount, OnAck: onAck})
			a.f.bus.Publish(a.requestChannel, msg)
		}
	}
	a.MemoryAdapter.BroadcastWithAck(ctx, p, opts, onCount, onAck)
}

// ServerCount is the number of subscribers of the request channel, one
// per node (PUBSUB NUMSUB, as socket.io-redis-adapter counts).
func (a *adapter) ServerCount(ctx context.Context) (int, error) {
	n, err := a.f.bus.NumSub(ctx, a.requestChannel)
	return int(n), err
}

// request sends a request that every other node answers once and waits
// for the answers: done when the count of answers, this node's local one
// included as local (1 or 0), reaches the server count.
func (a *adapter) request(ctx context.Context, typ int, local int, p *pending, body map[string]any) (*pending, error) {
	n, err := a.ServerCount(ctx)
	if err != nil {
		return p, err
	}
	if n-(1-local) <= local {
		return p, nil // nobody else
	}
	p.Want = n - (1 - local)
	id := newUID(6)
	body["uid"], body["requestId"], body["type"] = a.uid, id, typ
	msg, err := json.Marshal(body)
	if err != nil {
		return p, err
	}
	return p, a.reqs.Await(ctx, id, p, func() error {
		_, err := a.f.bus.PublishWait(ctx, a.requestChannel, msg)
		return err
	})
}

// FetchSockets returns this node's sockets opts selects and those of
// every other node.
func (a *adapter) FetchSockets(ctx context.Context, opts *sio.BroadcastOptions) ([]*sio.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Local {
		return local, nil
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	t := targetOf(opts)
	p := newPending(clusterwire.ReqRemoteFetch, 1, 1)
	p.Sockets = local
	p, err := a.request(ctx, clusterwire.ReqRemoteFetch, 1, p, map[string]any{"opts": map[string]any{"rooms": t.rooms, "except": t.except}})
	r := p.Result()
	if err != nil {
		return r.Sockets, requestError("fetchSockets", r, err)
	}
	return r.Sockets, nil
}

// AllRooms lists the rooms of every node, each once, sorted.
func (a *adapter) AllRooms(ctx context.Context, opts *sio.BroadcastOptions) ([]string, error) {
	p := newPending(clusterwire.ReqAllRooms, 1, 1)
	p.Rooms = make(map[string]struct{})
	for _, r := range a.MemoryAdapter.Rooms() {
		p.Rooms[r] = struct{}{}
	}
	var err error
	if !opts.Local {
		ctx, cancel := a.withTimeout(ctx)
		defer cancel()
		p, err = a.request(ctx, clusterwire.ReqAllRooms, 1, p, map[string]any{})
	}
	r := p.Result()
	if err != nil {
		return r.Rooms, requestError("allRooms", r, err)
	}
	return r.Rooms, nil
}

// publishRequest publishes a request that nobody answers (join, leave,
// disconnect), waiting until Redis took it.
func (a *adapter) publishRequest(ctx context.Context, typ int, opts *sio.BroadcastOptions, extra map[string]any) error {
	t := targetOf(opts)
	body := map[string]any{"uid": a.uid, "type": typ, "opts": map[string]any{"rooms": t.rooms, "except": t.except}}
	for k, v := range extra {
		body[k] = v
	}
	msg, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	_, err = a.f.bus.PublishWait(ctx, a.requestChannel, msg)
	return err
}

// AddSockets makes the selected sockets join rooms: here at once, on the
// other nodes when they get the request. (socket.io's classic adapter
// applies its own request only when Redis echoes it back; this node does
// it at once and ignores the echo, so it also works while Redis is down.)
func (a *adapter) AddSockets(ctx context.Context, opts *sio.BroadcastOptions, rooms []string) error {
	a.MemoryAdapter.AddSockets(ctx, opts, rooms)
	if opts.Local {
		return nil
	}
	return a.publishRequest(ctx, clusterwire.ReqRemoteJoin, opts, map[string]any{"rooms": nonNil(rooms)})
}

// DelSockets makes the selected sockets leave rooms, here and elsewhere.
func (a *adapter) DelSockets(ctx context.Context, opts *sio.BroadcastOptions, rooms []string) error {
	a.MemoryAdapter.DelSockets(ctx, opts, rooms)
	if opts.Local {
		return nil
	}
	return a.publishRequest(ctx, clusterwire.ReqRemoteLeave, opts, map[string]any{"rooms": nonNil(rooms)})
}

// DisconnectSockets disconnects the selected sockets, here and elsewhere.
func (a *adapter) DisconnectSockets(ctx context.Context, opts *sio.BroadcastOptions, closeConn bool) error {
	a.MemoryAdapter.DisconnectSockets(ctx, opts, closeConn)
	if opts.Local {
		return nil
	}
	return a.publishRequest(ctx, clusterwire.ReqRemoteDisconnect, opts, map[string]any{"close": closeConn})
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// ServerSideEmit sends p to the other nodes' OnServerSideEmit handlers.
func (a *adapter) ServerSideEmit(ctx context.Context, p *sio.Packet) error {
	data, err := nodeJSON(p)
	if err != nil {
		return err
	}
	msg, err := json.Marshal(map[string]any{"uid": a.uid, "type": clusterwire.ReqServerSideEmit, "data": data})
	if err != nil {
		return err
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	_, err = a.f.bus.PublishWait(ctx, a.requestChannel, msg)
	return err
}

// ServerSideEmitWithAck sends p to the other nodes and gathers one answer
// from each (the server count less this node).
func (a *adapter) ServerSideEmitWithAck(ctx context.Context, p *sio.Packet) ([]sio.Message, error) {
	data, err := nodeJSON(p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	pd := newPending(clusterwire.ReqServerSideEmit, 0, 0)
	pd, err = a.request(ctx, clusterwire.ReqServerSideEmit, 0, pd, map[string]any{"data": data})
	r := pd.Result()
	if err != nil {
		return r.Answers, requestError("serverSideEmit", r, err)
	}
	return r.Answers, nil
}

// Close unsubscribes the namespace's channels and ends its requests.
func (a *adapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.f.unroute(a.pattern, true)
	for _, c := range []string{a.requestChannel, a.responseChannel, a.ownResponse} {
		a.f.unroute(c, false)
	}
	a.f.bus.PUnsubscribe(a.pattern)
	a.f.bus.Unsubscribe(a.requestChannel, a.responseChannel, a.ownResponse)
	return nil
}

// publishResponse answers req on the response channel: the requester's
// own with PublishOnSpecificResponseChannel, else the common one.
func (a *adapter) publishResponse(req *request, msg []byte) {
	channel := a.responseChannel
	if a.f.cfg.PublishOnSpecificResponseChannel && req.UID != "" {
		channel += req.UID + "#"
	}
	a.f.bus.Publish(channel, msg)
}

// onBroadcast handles a message of the broadcast channels: a room's
// channel is dropped before decoding when this node has no such room.
func (a *adapter) onBroadcast(channel string, payload []byte) {
	if len(channel) < len(a.prefix) || channel[:len(a.prefix)] != a.prefix {
		return
	}
	if room := channel[len(a.prefix):]; room != "" {
		if room[len(room)-1] != '#' {
			return
		}
		if room = room[:len(room)-1]; room != "" && !a.HasRoom(room) {
			return
		}
	}
	m, err := decodeBroadcast(payload)
	if err != nil {
		a.f.malformed(channel, err)
		return
	}
	if m.uid == a.uid || m.nsp != a.ns.Name() {
		return
	}
	a.MemoryAdapter.Broadcast(&m.packet, m.target.options(m.volatile))
}

// onRequest handles a message of the request channel.
func (a *adapter) onRequest(payload []byte) {
	req, err := decodeRequest(payload)
	if err != nil {
		a.f.malformed(a.requestChannel, err)
		return
	}
	ctx := context.Background()
	switch req.Type {
	case clusterwire.ReqSockets:
		if a.reqs.Has(req.RequestID) {
			return
		}
		ids := []string{}
		for _, s := range a.MemoryAdapter.LocalSockets(&sio.BroadcastOptions{Rooms: req.Rooms}) {
			ids = append(ids, s.ID())
		}
		a.respondJSON(req, map[string]any{"requestId": req.RequestID, "sockets": ids})
	case clusterwire.ReqAllRooms:
		if a.reqs.Has(req.RequestID) {
			return
		}
		a.respondJSON(req, map[string]any{"requestId": req.RequestID, "rooms": nonNil(a.MemoryAdapter.Rooms())})
	case clusterwire.ReqRemoteJoin, clusterwire.ReqRemoteLeave, clusterwire.ReqRemoteDisconnect:
		if req.UID == a.uid {
			return // applied when sent
		}
		a.onRemoteChange(ctx, req)
	case clusterwire.ReqRemoteFetch:
		if a.reqs.Has(req.RequestID) || req.Opts == nil {
			return
		}
		sockets, err := clusterwire.LocalSockets[rooms](a.MemoryAdapter, req.Opts.Rooms, req.Opts.Except)
		if err != nil {
			a.f.failed("encode socket.data for fetchSockets", err)
			return
		}
		a.respondJSON(req, map[string]any{"requestId": req.RequestID, "sockets": sockets})
	case clusterwire.ReqServerSideEmit:
		if req.UID == a.uid {
			return
		}
		a.onServerSideEmit(req)
	case clusterwire.ReqBroadcast:
		if req.UID == a.uid || a.reqs.Has(req.RequestID) {
			return
		}
		a.onAckBroadcast(req)
	}
}

// onRemoteChange applies another node's (or an emitter's) join, leave or
// disconnect request.
func (a *adapter) onRemoteChange(ctx context.Context, req *request) {
	if req.Opts != nil {
		opts := &sio.BroadcastOptions{Rooms: req.Opts.Rooms, Except: req.Opts.Except, Local: true}
		switch req.Type {
		case clusterwire.ReqRemoteJoin:
			a.MemoryAdapter.AddSockets(ctx, opts, req.Rooms)
		case clusterwire.ReqRemoteLeave:
			a.MemoryAdapter.DelSockets(ctx, opts, req.Rooms)
		default:
			a.MemoryAdapter.DisconnectSockets(ctx, opts, req.Close)
		}
		return
	}
	// The form from before 8.0: one socket, answered.
	s := a.ns.Socket(req.Sid)
	if s == nil {
		return
	}
	switch req.Type {
	case clusterwire.ReqRemoteJoin:
		s.Join(req.Room)
	case clusterwire.ReqRemoteLeave:
		s.Leave(req.Room)
	default:
		s.Disconnect(req.Close)
	}
	a.respondJSON(req, map[string]any{"requestId": req.RequestID})
}

func (a *adapter) respondJSON(req *request, body any) {
	msg, err := json.Marshal(body)
	if err != nil {
		a.f.failed("encode a response", err)
		return
	}
	a.publishResponse(req, msg)
}

// onServerSideEmit runs the handlers of another node's server-side emit;
// an answer, when wanted, always goes to the common response channel (as
// socket.io-redis-adapter sends it).
func (a *adapter) onServerSideEmit(req *request) {
	if !isJSONArray(req.Data) {
		a.f.malformed(a.requestChannel, errMalformed)
		return
	}
	var ack func(*sio.Packet)
	if req.RequestID != "" {
		id := req.RequestID
		ack = func(p *sio.Packet) {
			data, err := nodeJSON(p)
			if err != nil {
				a.f.failed("encode a server-side emit answer", err)
				return
			}
			first := json.RawMessage("null")
			var args []json.RawMessage
			if json.Unmarshal(data, &args) == nil && len(args) > 0 {
				first = args[0]
			}
			msg, err := json.Marshal(map[string]any{"type": clusterwire.ReqServerSideEmit, "requestId": id, "data": first})
			if err != nil {
				a.f.failed("encode a server-side emit answer", err)
				return
			}
			a.f.bus.Publish(a.responseChannel, msg)
		}
	}
	a.ns.HandleServerSideEmit(&sio.Packet{Data: req.Data, Attachments: req.atts}, ack)
}

// onAckBroadcast delivers another node's broadcast with acks to this
// node's sockets: the client count is reported once, then each answer.
func (a *adapter) onAckBroadcast(req *request) {
	var pk struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(req.Packet, &pk) != nil || !isJSONArray(pk.Data) || req.Opts == nil {
		a.f.malformed(a.requestChannel, errMalformed)
		return
	}
	timeout := a.f.cfg.RequestsTimeout
	var flags struct {
		Timeout  float64 `json:"timeout"`
		Volatile bool    `json:"volatile"`
	}
	if len(req.Opts.Flags) > 0 {
		json.Unmarshal(req.Opts.Flags, &flags)
	}
	if flags.Timeout > 0 {
		timeout = time.Duration(flags.Timeout * float64(time.Millisecond))
	}
	// The sender stops waiting at its timeout; so does this node, so that
	// sockets that never answer do not keep the callback.
	// Once every socket answered (or left), the request's timer is
	// released at once rather than at the timeout.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	var (
		mu               sync.Mutex
		expected, closed = -1, 0 // sockets counted; answers and departures
	)
	settle := func(count bool, n int) {
		mu.Lock()
		if count {
			expected = n
		} else {
			closed++
		}
		done := expected >= 0 && closed >= expected
		mu.Unlock()
		if done {
			cancel()
		}
	}
	id := req.RequestID
	opts := &sio.BroadcastOptions{Rooms: req.Opts.Rooms, Except: req.Opts.Except, Volatile: flags.Volatile, Local: true}
	onCount := func(n int) {
		a.respondJSON(req, map[string]any{"type": clusterwire.ResClientCount, "requestId": id, "clientCount": n})
		settle(true, n)
	}
	onAck := func(m sio.Message, err error) {
		defer settle(false, 0)
		if err != nil {
			return // disconnected: the sender times out on it, as with Node nodes
		}
		var arg []byte
		if m.Len() > 0 {
			arg, err = msgpack.AppendJSON(nil, m.Arg(0), m.Attachments())
		} else {
			arg = msgpack.AppendNil(nil)
		}
		if err != nil {
			a.f.failed("encode a broadcast ack", err)
			return
		}
		msg := msgpack.AppendMapHeader(nil, 3)
		msg = msgpack.AppendString(msg, "type")
		msg = msgpack.AppendInt(msg, clusterwire.ResBroadcastAck)
		msg = msgpack.AppendString(msg, "requestId")
		msg = msgpack.AppendString(msg, id)
		msg = msgpack.AppendString(msg, "packet")
		msg = append(msg, arg...)
		a.publishResponse(req, msg)
	}
	a.MemoryAdapter.BroadcastWithAck(ctx, &sio.Packet{Data: pk.Data, Attachments: req.atts}, opts, onCount, onAck)
}

// onResponse handles a message of the response channels.
func (a *adapter) onResponse(payload []byte) {
	res, err := decodeResponse(payload)
	if err != nil {
		a.f.malformed(a.responseChannel, err)
		return
	}
	ack, p := a.reqs.Lookup(res.RequestID)
	if ack != nil {
		switch res.Type {
		case clusterwire.ResClientCount:
			ack.OnCount(res.ClientCount)
		case clusterwire.ResBroadcastAck:
			if m, err := clusterwire.Answer(res.Packet, res.atts); err == nil {
				ack.OnAck(m, nil)
			}
		}
		return
	}
	if p != nil {
		addResponse(p, a, res)
	}
}
