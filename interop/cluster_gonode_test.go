package interop_test

// goNode is a sioloop node of a cluster test: an in-process sio.Server on
// adapter/redis (classic or sharded) or adapter/redisstreams, as the node
// config's adapter says, that does what js/cluster-node.mjs does (the same
// handlers, reports and commands), through sio's public API only, so that
// it can take a Node node's place in the harness (clusterSpec.replace).
// On the streams adapter, connection state recovery is on, as
// cluster-node.mjs has it there.
//
// Differences from the Node node, all of the harness's making: there is no
// compress flag (sio has none); fetchSockets, allRooms and serverSideEmit
// wait for the adapter's RequestsTimeout as Node's do, whatever the
// command's context; its Redis connection may go through a tcpProxy, so that
// a test can freeze it (the node hangs, still subscribed) or cut it (the node
// dies, Redis drops its subscriptions), as SIGSTOP and SIGKILL would.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redis"
	"github.com/sioloop/sioloop/adapter/redisstreams"
	"github.com/sioloop/sioloop/sio"
)

// goNode is a clusterNode on sio.Server and one of the Redis adapters.
type goNode struct {
	name  string
	url   string
	srv   *sio.Server
	ra    goAdapter
	redis *redis.Adapter // ra on the classic and sharded adapters (Sync), else nil
	stats func() any     // ra's Stats, for the log of a failed test
	log   *eventLog      // reports, as cluster-node.mjs prints them
	logs  *eventLog      // the server's and the adapter's log records ("log" events)
	proxy *tcpProxy      // nil unless goNodeOptions.proxy
	kind  string         // "classic", "sharded" or "streams"
	// clustered: the node's Redis is a Redis Cluster
	clustered bool

	closeOnce sync.Once
}

var _ clusterNode = (*goNode)(nil)

// goAdapter is what a goNode uses of its adapter, whichever it is.
type goAdapter interface {
	ForNamespace(ns *sio.Namespace) sio.Adapter
	// Flush returns once Redis took what the adapter queued.
	Flush(ctx context.Context) error
	Close() error
}

// goNodeOptions are what a test may change in a goNode beyond nodeConfig.
type goNodeOptions struct {
	// proxy puts a tcpProxy between the node and Redis.
	proxy bool
	// tune adjusts the classic or sharded adapter's configuration before
	// New.
	tune func(*redis.Config)
}

// startGoNode is a clusterSpec.replace function: a goNode from the config a
// Node node would have had.
func startGoNode(t *testing.T, cfg nodeConfig) clusterNode {
	t.Helper()
	return startGoNodeWith(t, cfg, goNodeOptions{})
}

func startGoNodeWith(t *testing.T, cfg nodeConfig, o goNodeOptions) *goNode {
	t.Helper()
	addr := strings.TrimPrefix(cfg.Redis.URL, "redis://")
	if addr == "" && len(cfg.Redis.Cluster) == 0 {
		t.Fatalf("goNode %s: needs a Redis url or cluster nodes, got %+v", cfg.Name, cfg.Redis)
	}
	n := &goNode{name: cfg.Name, kind: cmp.Or(cfg.Adapter, "classic"), log: newEventLog(), logs: newEventLog()}
	if o.proxy {
		n.proxy = startTCPProxy(t, addr)
		addr = n.proxy.Addr()
	}
	logger := slog.New(&eventLogHandler{log: n.logs, level: slog.LevelInfo})
	sc := sio.Config{Loops: 1, Logger: logger}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	switch n.kind {
	case "classic", "sharded":
		if err := n.startRedis(ctx, cfg, o, addr, logger); err != nil {
			t.Fatalf("goNode %s: %v", cfg.Name, err)
		}
	case "streams":
		rc := redisstreams.Config{Addr: addr, Logger: logger}
		if v, ok := cfg.Options["streamName"].(string); ok {
			rc.StreamName = v
		}
		ra, err := redisstreams.New(ctx, rc)
		if err != nil {
			t.Fatalf("goNode %s: %v", cfg.Name, err)
		}
		n.ra, n.stats = ra, func() any { return ra.Stats() }
		sc.ConnectionStateRecovery = &sio.RecoveryConfig{SkipMiddlewares: true}
	default:
		t.Fatalf("goNode %s: adapter %q: only the classic, sharded and streams adapters are implemented", cfg.Name, cfg.Adapter)
	}
	sc.Adapter = n.ra.ForNamespace
	n.srv = sio.NewServer(sc)
	nsps := cfg.Nsps
	if len(nsps) == 0 {
		nsps = []string{"/"}
	}
	sse := cfg.SSEEvents
	if len(sse) == 0 {
		sse = []string{"sse", "sse-silent"}
	}
	for _, nsp := range nsps {
		n.setup(n.srv.Of(nsp), sse) // Of subscribes before it returns
	}
	var hostport string
	errc := make(chan error, 1)
	for attempt := 0; ; attempt++ {
		// freeAddr's port may be taken by another test process between
		// its check and this listen: draw another (as startSIO does).
		hostport = freeAddr(t)
		go func() { errc <- n.srv.ListenAndServe(hostport, nil) }()
		var err error
		select {
		case <-n.srv.Ready():
		case err = <-errc:
		case <-time.After(stepTimeout):
			t.Fatalf("goNode %s: not listening within %v", cfg.Name, stepTimeout)
		}
		if err == nil {
			break
		}
		if attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			n.ra.Close()
			t.Fatalf("goNode %s: ListenAndServe: %v", cfg.Name, err)
		}
	}
	n.url = "http://" + hostport
	t.Cleanup(func() {
		if n.proxy != nil {
			n.proxy.Cut() // a frozen node must not hold its Close up
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
		if t.Failed() {
			t.Logf("go node %s: %+v\nlast reports:\n%s\nlog:\n%s", n.name, n.stats(), n.log.dump(60), n.logs.dump(30))
		}
	})
	return n
}

// startRedis connects the classic or the sharded adapter, configured from
// cluster-node.mjs's options.
func (n *goNode) startRedis(ctx context.Context, cfg nodeConfig, o goNodeOptions, addr string, logger *slog.Logger) error {
	rc := redis.Config{Addr: addr, Logger: logger}
	if v, ok := cfg.Options["requestsTimeout"].(float64); ok {
		rc.RequestsTimeout = time.Duration(v) * time.Millisecond
	}
	if v, ok := cfg.Options["requestsTimeout"].(int); ok {
		rc.RequestsTimeout = time.Duration(v) * time.Millisecond
	}
	if v, ok := cfg.Options["publishOnSpecificResponseChannel"].(bool); ok {
		rc.PublishOnSpecificResponseChannel = v
	}
	if v, ok := cfg.Options["key"].(string); ok {
		rc.Key = v
	}
	if v, ok := cfg.Options["channelPrefix"].(string); ok {
		rc.Key = v
	}
	if v, ok := cfg.Options["subscriptionMode"].(string); ok {
		rc.SubscriptionMode = v
	}
	if len(cfg.Redis.Cluster) > 0 {
		rc.Addrs = cfg.Redis.Cluster
	}
	if o.tune != nil {
		o.tune(&rc)
	}
	newAdapter := redis.New
	if n.kind == "sharded" {
		newAdapter = redis.NewSharded
	}
	ra, err := newAdapter(ctx, rc)
	if err != nil {
		return err
	}
	n.ra, n.redis, n.stats = ra, ra, func() any { return ra.Stats() }
	n.clustered = len(rc.Addrs) > 0
	return nil
}

func (n *goNode) Name() string      { return n.name }
func (n *goNode) URL() string       { return n.url }
func (n *goNode) Events() *eventLog { return n.log }

// report adds a report, with its line as cluster-node.mjs would print it.
func (n *goNode) report(e clusterEvent) {
	e.Node = n.name
	b, _ := json.Marshal(e)
	e.Line = string(b)
	n.log.add(e)
}

// setup installs cluster-node.mjs's handlers on ns.
func (n *goNode) setup(ns *sio.Namespace, sseEvents []string) {
	nsp := ns.Name()
	ns.OnJoinRoom(func(room, id string) {
		ev := clusterEvent{Event: "join", Nsp: nsp, Room: room, Sid: id}
		if n.kind != "sharded" {
			n.report(ev)
			return
		}
		// As cluster-node.mjs: a sharded join is reported once its room
		// channel is subscribed. Off this goroutine, which may be the one
		// reading Redis (a socketsJoin from another node).
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
			defer cancel()
			n.redis.Sync(ctx)
			n.report(ev)
		}()
	})
	ns.OnLeaveRoom(func(room, id string) { n.report(clusterEvent{Event: "leave", Nsp: nsp, Room: room, Sid: id}) })
	for _, ev := range sseEvents {
		ns.OnServerSideEmit(ev, func(e *sio.ServerSideEvent) {
			args := messageArgs(e.Message)
			n.report(clusterEvent{Event: "serverSideEmit", Nsp: nsp, Name: ev, Args: wireArgs(args), Ack: e.HasAck()})
			if e.HasAck() && !strings.HasSuffix(ev, "-silent") {
				e.Ack(map[string]any{"node": n.name, "event": ev, "args": args})
			}
		})
	}
	ns.OnConnection(func(s *sio.Socket) {
		if !s.Recovered() { // a restored socket has its rooms and data back
			n.joinFromHandshake(s)
		}
		s.OnAny(func(ev *sio.Event) { n.onEvent(s, ev) })
		s.OnDisconnect(func(reason string) {
			n.report(clusterEvent{Event: "disconnect", Nsp: nsp, Sid: s.ID(), Reason: reason})
		})
		ev := clusterEvent{Event: "connection", Nsp: nsp, Sid: s.ID(), Rooms: s.Rooms(), Data: socketData(s), Recovered: s.Recovered()}
		if n.kind == "sharded" {
			// Reported once the rooms' channels are subscribed, as
			// cluster-node.mjs does (OnConnection runs on the socket's
			// own goroutine: Sync may wait here).
			ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
			n.redis.Sync(ctx)
			cancel()
		}
		n.report(ev)
	})
}

// joinFromHandshake gives a new socket the rooms and data its handshake
// asks for (auth.rooms and auth.data, or the query's rooms and data).
func (n *goNode) joinFromHandshake(s *sio.Socket) {
	hs := s.Handshake()
	var auth struct {
		Rooms json.RawMessage `json:"rooms"`
		Data  json.RawMessage `json:"data"`
	}
	json.Unmarshal(hs.Auth, &auth)
	var rooms []string
	if len(auth.Rooms) > 0 {
		rooms = roomList(decodeJSON(auth.Rooms))
	} else if q := hs.Query.Get("rooms"); q != "" {
		rooms = strings.Split(q, ",")
	}
	if len(auth.Data) > 0 {
		s.SetData(fromWire(decodeJSON(auth.Data)))
	} else if q := hs.Query.Get("data"); q != "" {
		s.SetData(decodeJSON([]byte(q)))
	}
	s.Join(rooms...)
}

// onEvent is cluster-node.mjs's onAny and its join, leave and broadcast
// handlers.
func (n *goNode) onEvent(s *sio.Socket, ev *sio.Event) {
	args := messageArgs(ev.Message)
	wire := wireArgs(args)
	if ev.HasAck() {
		wire = append(wire, json.RawMessage(`{"$fn":true}`)) // as toWire shows the callback
	}
	n.report(clusterEvent{Event: "message", Nsp: s.Namespace().Name(), Sid: s.ID(), Name: ev.Name, Args: wire})
	var first any
	if len(args) > 0 {
		first = args[0]
	}
	switch ev.Name {
	case "join":
		s.Join(roomList(first)...)
		ev.Ack(map[string]any{"node": n.name, "rooms": s.Rooms()})
	case "leave":
		for _, r := range roomList(first) {
			s.Leave(r)
		}
		ev.Ack(map[string]any{"node": n.name, "rooms": s.Rooms()})
	case "broadcast":
		spec, _ := first.(map[string]any)
		op := s.Broadcast()
		if to := roomList(spec["to"]); len(to) > 0 {
			op = s.To(to...)
		}
		if ex := roomList(spec["except"]); len(ex) > 0 {
			op = op.Except(ex...)
		}
		if v, _ := spec["volatile"].(bool); v {
			op = op.Volatile()
		}
		event, _ := spec["event"].(string)
		bargs, _ := spec["args"].([]any)
		if err := op.Emit(event, bargs...); err != nil {
			ev.Ack(map[string]any{"node": n.name, "error": err.Error()})
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
		n.ra.Flush(ctx)
		cancel()
		ev.Ack(map[string]any{"node": n.name})
	default:
		if ev.HasAck() {
			ev.Ack(map[string]any{"node": n.name, "event": ev.Name})
		}
	}
}

// socketData is socket.data as the Node node reports it: {} when unset.
func socketData(s *sio.Socket) json.RawMessage {
	d := s.Data()
	if d == nil {
		return json.RawMessage(`{}`)
	}
	b, err := json.Marshal(toWire(d))
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

// ---- commands ----

func (n *goNode) nsp(name string) *sio.Namespace {
	if name == "" {
		name = "/"
	}
	return n.srv.Of(name)
}

func (n *goNode) operator(tg target) sio.BroadcastOperator {
	op := n.nsp(tg.Nsp).To(tg.To...)
	if len(tg.Except) > 0 {
		op = op.Except(tg.Except...)
	}
	if tg.Local {
		op = op.Local()
	}
	return op
}

// requestCtx is the context of a request to other nodes: bounded by the
// adapter's RequestsTimeout, as cluster-node.mjs's requests are by
// requestsTimeout, unless the command gives a timeout.
func requestCtx(timeoutMs int) (context.Context, context.CancelFunc) {
	if timeoutMs > 0 {
		return context.WithTimeout(context.Background(), time.Duration(timeoutMs)*time.Millisecond)
	}
	return context.WithCancel(context.Background())
}

// Emit broadcasts, then waits until Redis took the message (cluster-node.mjs
// awaits a PING behind it).
func (n *goNode) Emit(ctx context.Context, r emitReq) error {
	op := n.operator(r.target)
	if r.Volatile {
		op = op.Volatile()
	}
	if err := op.Emit(r.Event, fromWireArgs(r.Args)...); err != nil {
		return err
	}
	return n.ra.Flush(ctx)
}

// ackError is the message of the error a socket.io callback would get.
func ackError(err error) string {
	const reached = "timeout reached" // the adapters' wording of a request's timeout
	switch {
	case err == nil:
		return ""
	case errors.Is(err, redis.ErrTimeout):
		return err.Error() // socket.io-redis-adapter's message, as it is
	case errors.Is(err, sio.ErrAckTimeout) && strings.Contains(err.Error(), reached):
		// The ClusterAdapter's message, without what wraps it.
		msg := err.Error()[strings.Index(err.Error(), reached):]
		if i := strings.Index(msg, ": context"); i > 0 {
			msg = msg[:i]
		}
		return msg
	case errors.Is(err, sio.ErrAckTimeout):
		return "operation has timed out" // socket.io's BroadcastOperator
	}
	return err.Error()
}

func (n *goNode) EmitWithAck(ctx context.Context, r emitReq) (ackResult, error) {
	if r.Timeout <= 0 {
		return ackResult{}, errors.New("emitWithAck needs a timeout (ms)")
	}
	op := n.operator(r.target).Timeout(time.Duration(r.Timeout) * time.Millisecond)
	if r.Volatile {
		op = op.Volatile()
	}
	ms, err := op.EmitWithAck(context.Background(), r.Event, fromWireArgs(r.Args)...)
	res := ackResult{Err: ackError(err), Responses: []json.RawMessage{}}
	for _, m := range ms {
		res.Responses = append(res.Responses, firstWireArg(m))
	}
	return res, nil
}

// FetchSockets returns what came, sorted by id, and the adapter's error
// when some node did not answer.
func (n *goNode) FetchSockets(ctx context.Context, tg target, timeoutMs int) ([]remoteSocket, error) {
	rctx, cancel := requestCtx(timeoutMs)
	defer cancel()
	rs, err := n.operator(tg).FetchSockets(rctx)
	out := make([]remoteSocket, 0, len(rs))
	for _, r := range rs {
		data, derr := r.DataJSON()
		if derr != nil {
			return nil, derr
		}
		b, merr := json.Marshal(map[string]any{"id": r.ID, "rooms": r.Rooms, "data": data, "handshake": r.Handshake, "local": r.Local() != nil})
		if merr != nil {
			return nil, merr
		}
		var s remoteSocket
		if uerr := json.Unmarshal(b, &s); uerr != nil {
			return nil, fmt.Errorf("goNode %s: fetchSockets: %s: %w", n.name, b, uerr)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b remoteSocket) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

func (n *goNode) SocketsJoin(ctx context.Context, tg target, rooms ...string) error {
	return n.operator(tg).SocketsJoin(ctx, rooms...)
}

func (n *goNode) SocketsLeave(ctx context.Context, tg target, rooms ...string) error {
	return n.operator(tg).SocketsLeave(ctx, rooms...)
}

func (n *goNode) DisconnectSockets(ctx context.Context, tg target, close bool) error {
	return n.operator(tg).DisconnectSockets(ctx, close)
}

func (n *goNode) ServerSideEmit(ctx context.Context, nsp, event string, args ...any) error {
	return n.nsp(nsp).ServerSideEmit(ctx, event, fromWireArgs(args)...)
}

func (n *goNode) ServerSideEmitWithAck(ctx context.Context, nsp, event string, args ...any) (ackResult, error) {
	rctx, cancel := requestCtx(0)
	defer cancel()
	ms, err := n.nsp(nsp).ServerSideEmitWithAck(rctx, event, fromWireArgs(args)...)
	res := ackResult{Err: ackError(err), Responses: []json.RawMessage{}}
	for _, m := range ms {
		res.Responses = append(res.Responses, firstWireArg(m))
	}
	return res, nil
}

// AllRooms is the adapter's allRooms; on the streams adapter, which has
// none, it fails as cluster-node.mjs does (the Go adapter would list this
// node's rooms only).
func (n *goNode) AllRooms(ctx context.Context, nsp string) ([]string, error) {
	if n.kind == "streams" {
		return nil, errors.New("allRooms is not implemented by the streams adapter")
	}
	rctx, cancel := requestCtx(0)
	defer cancel()
	rooms, err := n.nsp(nsp).AllRooms(rctx)
	slices.Sort(rooms)
	return rooms, err
}

func (n *goNode) ServerCount(ctx context.Context, nsp string) (int, error) {
	return n.nsp(nsp).ServerCount(ctx)
}

// Info is cluster-node.mjs's info, without the adapter uids (sio does not
// show them).
func (n *goNode) Info() map[string]any {
	port := n.url[strings.LastIndexByte(n.url, ':')+1:]
	p, _ := strconv.Atoi(port)
	return map[string]any{"name": n.name, "port": p, "adapter": n.kind, "cluster": n.clustered}
}

// Close shuts the server down (its adapters unsubscribe) and closes the
// Redis connection, as io.close() does.
func (n *goNode) Close(ctx context.Context) error {
	var err error
	n.closeOnce.Do(func() {
		err = n.srv.Shutdown(ctx)
		n.ra.Close()
	})
	return err
}

// ---- values: the harness's wire form <-> sio's arguments ----

// decodeJSON decodes raw, numbers as json.Number (re-encoded as they came).
func decodeJSON(raw []byte) any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	return v
}

// messageArgs returns a message's arguments as Go values: JSON as decoded
// by decodeJSON, binary placeholders as the []byte of their attachment.
func messageArgs(m sio.Message) []any {
	atts := m.Attachments()
	out := make([]any, m.Len())
	for i := range out {
		out[i] = resolveBinary(decodeJSON(m.Arg(i)), atts)
	}
	return out
}

func resolveBinary(v any, atts [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = resolveBinary(x[i], atts)
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph && len(x) == 2 {
			if num, ok := x["num"].(json.Number); ok {
				if i, err := num.Int64(); err == nil && i >= 0 && int(i) < len(atts) {
					return atts[i]
				}
			}
		}
		for k := range x {
			x[k] = resolveBinary(x[k], atts)
		}
	}
	return v
}

// toWire turns []byte into the harness's {"$bin": base64}.
func toWire(v any) any {
	switch x := v.(type) {
	case []byte:
		return map[string]string{"$bin": base64.StdEncoding.EncodeToString(x)}
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = toWire(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toWire(e)
		}
		return out
	}
	return v
}

// fromWire turns the harness's {"$bin": base64} into []byte.
func fromWire(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = fromWire(x[i])
		}
		return out
	case map[string]any:
		if b64, ok := x["$bin"].(string); ok && len(x) == 1 {
			if b, err := base64.StdEncoding.DecodeString(b64); err == nil {
				return b
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = fromWire(e)
		}
		return out
	}
	return v
}

// fromWireArgs converts the tests' arguments (Go values built for the JSON
// line protocol) into sio arguments: through JSON, so that every form the
// Node node would see arrives here the same.
func fromWireArgs(args []any) []any {
	b, err := json.Marshal(nonNil(args))
	if err != nil {
		return args
	}
	out, _ := fromWire(decodeJSON(b)).([]any)
	return out
}

func wireArgs(args []any) []json.RawMessage {
	out := make([]json.RawMessage, len(args))
	for i, a := range args {
		b, err := json.Marshal(toWire(a))
		if err != nil {
			b = []byte(`null`)
		}
		out[i] = b
	}
	return out
}

// firstWireArg is an ack's first argument in the wire form (null if none).
func firstWireArg(m sio.Message) json.RawMessage {
	args := messageArgs(m)
	if len(args) == 0 {
		return json.RawMessage(`null`)
	}
	return wireArgs(args[:1])[0]
}

// roomList accepts a room or a list of rooms; numbers name the room of
// their decimal form (a JavaScript client's numeric room).
func roomList(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, roomList(e)...)
		}
		return out
	case string:
		return []string{x}
	case json.Number:
		return []string{x.String()}
	case float64:
		return []string{strconv.FormatFloat(x, 'f', -1, 64)}
	}
	return []string{fmt.Sprint(v)}
}

// ---- logs ----

// eventLogHandler is a slog.Handler that adds each record to an eventLog as
// a "log" event (Message: the record's message, Reason: its attributes), so
// that tests can wait for what the adapter logs.
type eventLogHandler struct {
	log   *eventLog
	level slog.Level
	attrs []slog.Attr
}

func (h *eventLogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *eventLogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String())
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.log.add(clusterEvent{Event: "log", Message: r.Message, Reason: b.String(), Line: r.Message + " " + b.String(), At: r.Time})
	return nil
}

func (h *eventLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventLogHandler{log: h.log, level: h.level, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *eventLogHandler) WithGroup(string) slog.Handler { return h }

// logged matches the log records whose message starts with prefix.
func logged(prefix string) func(clusterEvent) bool {
	return func(e clusterEvent) bool { return e.Event == "log" && strings.HasPrefix(e.Message, prefix) }
}

// ---- a TCP proxy to freeze or cut a node's Redis connections ----

// tcpProxy forwards loopback connections to target. Freeze stops moving
// bytes (and closes) in both directions while keeping every connection
// open, as a hung process or a silent network would: Redis keeps the
// node's subscriptions, so PUBSUB NUMSUB still counts it, and the node
// neither hears nor answers. Cut closes everything, as a dead process's
// kernel would: Redis drops its subscriptions at once.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []net.Conn    // guarded by mu
	thawed chan struct{} // guarded by mu; closed while not frozen
	cut    bool          // guarded by mu
	wg     sync.WaitGroup
}

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, thawed: make(chan struct{})}
	close(p.thawed)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { p.Cut(); p.wg.Wait() })
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// gate returns once bytes may move, false once the proxy is cut.
func (p *tcpProxy) gate() bool {
	p.mu.Lock()
	thawed, cut := p.thawed, p.cut
	p.mu.Unlock()
	if cut {
		return false
	}
	<-thawed
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.cut
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if !p.gate() {
				return
			}
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	// One side ended: pass the close on, unless frozen (then held until
	// thawed or cut).
	if p.gate() {
		dst.Close()
		src.Close()
	}
}

// Freeze holds every byte and every close until Thaw or Cut.
func (p *tcpProxy) Freeze() {
	p.mu.Lock()
	select {
	case <-p.thawed:
		p.thawed = make(chan struct{})
	default:
	}
	p.mu.Unlock()
}

// Thaw lets bytes move again.
func (p *tcpProxy) Thaw() {
	p.mu.Lock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
	p.mu.Unlock()
}

// Cut closes the listener and every connection, for good.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		return
	}
	p.cut = true
	conns := p.conns
	p.conns = nil
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}
