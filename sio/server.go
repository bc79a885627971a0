package sio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/clientdist"
	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/internal/timer"
	"github.com/sioloop/sioloop/loop"
	"github.com/sioloop/sioloop/nethttp"
)

// Server is a Socket.IO server (socket.io's Server). Create it with
// NewServer, register handlers, then run it with ListenAndServe (on the
// event loops) or mount it in net/http as an http.Handler.
type Server struct {
	cfg     Config
	engine  *eio.Server
	wheel   *timer.Wheel
	groups  int
	store   *recoveryStore
	root    *Namespace
	workers *workerPool
	// sseSlots bounds the server-side emit handlers running at once
	// (HandleServerSideEmit).
	sseSlots chan struct{}
	// client serves the browser client bundle; nil when it is disabled.
	client *clientdist.Bundle
	// http is ServeHTTP's provider, made once so that a request costs
	// no method values.
	http nethttp.Handler

	mu        sync.RWMutex
	nsps      map[string]*Namespace // guarded by mu
	parents   []*ParentNamespace    // guarded by mu
	onNew     []func(*Namespace)    // guarded by mu
	ready     chan struct{}         // closed once ListenAndServe listens
	readyOnce sync.Once
	ls        *loop.Server   // guarded by mu
	enroll    *loop.Enroller // guarded by mu
	// tlsListener and tlsServe belong to ListenAndServeTLS (serve_tls.go).
	tlsListener net.Listener                       // guarded by mu
	tlsServe    atomic.Pointer[func(eio.Exchange)] // its request handler
	closing     bool                               // guarded by mu
	executors   atomic.Pointer[executorSet]        // the loops ordering writes per group (executor.go)
	relocated   atomic.Bool                        // a client has moved to another group (relocate.go)
	stats       atomic.Pointer[counters]           // nil until Stats is called (stats.go)
	hooks       atomic.Pointer[serverHooks]        // nil until a hook is registered (hooks.go)
}

// NewServer returns a server configured by cfg.
func NewServer(cfg Config) *Server {
	cfg.withDefaults()
	groups := cfg.Loops
	if groups <= 0 {
		groups = runtime.NumCPU()
	}
	s := &Server{
		cfg:      cfg,
		engine:   eio.NewServer(cfg.eioConfig()),
		wheel:    timer.NewWheel(),
		groups:   groups,
		nsps:     make(map[string]*Namespace),
		workers:  newWorkerPool(),
		ready:    make(chan struct{}),
		sseSlots: make(chan struct{}, maxServerSideHandlers),
	}
	if cfg.ConnectionStateRecovery != nil {
		s.store = newRecoveryStore(cfg.ConnectionStateRecovery)
	}
	switch {
	case cfg.DisableClientBundle:
	case cfg.ClientFiles != nil:
		b, err := clientdist.Load(cfg.ClientFiles)
		if err != nil {
			cfg.Logger.Warn("sio: Config.ClientFiles lacks client files; they are answered with 404", slog.Any("error", err))
		}
		s.client = b
	default:
		s.client = clientdist.Embedded()
	}
	s.http = nethttp.Handler{Serve: s.serveExchange, Enroller: s.enroller, MaxBodyBytes: cfg.MaxHTTPBufferSize}
	s.root = s.Of("/")
	s.engine.OnConnection(func(sess *eio.Session) { newClient(s, sess) })
	return s
}

// Engine is the underlying Engine.IO server.
func (s *Server) Engine() *eio.Server { return s.engine }

// Of returns the namespace name, creating it (io.of("/admin")).
func (s *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns, ok := s.nsps[name]; ok {
		return ns
	}
	ns := newNamespace(s, name)
	s.nsps[name] = ns
	for _, f := range s.onNew {
		go s.newNamespace(f, ns)
	}
	return ns
}

// OnNewNamespace registers f, told of every namespace created after this
// call, static or dynamic (the "new_namespace" event). It runs on its own
// goroutine.
func (s *Server) OnNewNamespace(f func(*Namespace)) {
	s.mu.Lock()
	s.onNew = append(s.onNew, f)
	s.mu.Unlock()
}

// newNamespace runs an OnNewNamespace listener on its own goroutine; a
// panic there is logged, not fatal.
func (s *Server) newNamespace(f func(*Namespace), ns *Namespace) {
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(v, slog.String("namespace", ns.name))
		}
	}()
	f(ns)
}

// logPanic reports a panic recovered from application code, with attrs
// saying where, and the stack of the goroutine that panicked (the deferred
// caller runs on it, so debug.Stack still shows the panicking frames).
func (s *Server) logPanic(v any, attrs ...slog.Attr) {
	attrs = append(attrs, slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
	s.cfg.Logger.LogAttrs(context.Background(), slog.LevelError, "sio: panic in an application callback", attrs...)
}

// OfRegexp declares dynamic namespaces: any name matching re is created on
// its first connection (io.of(/^\/dynamic-\d+$/)).
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.OfFunc(regexpMatcher(re))
}

// OfFunc declares dynamic namespaces decided by match, given the name and
// the client's auth payload (io.of((name, auth, next) => ...)).
func (s *Server) OfFunc(match func(name string, auth json.RawMessage) bool) *ParentNamespace {
	p := &ParentNamespace{srv: s, match: match, children: make(map[string]*Namespace)}
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// namespaceFor finds the namespace a CONNECT asks for, or makes a dynamic
// one that is not registered yet.
func (s *Server) namespaceFor(name string, auth []byte) *Namespace {
	s.mu.RLock()
	ns := s.nsps[name]
	parents := s.parents
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, p := range parents {
		if p.match(name, auth) {
			// Registered only once a socket is accepted (ParentNamespace.attach).
			return p.newChild(name)
		}
	}
	return nil
}

// OnConnection registers f for sockets connecting to the main namespace "/".
func (s *Server) OnConnection(f func(*Socket)) { s.root.OnConnection(f) }

// Use adds a connection middleware to the main namespace.
func (s *Server) Use(f func(*Socket) error) *Server {
	s.root.Use(f)
	return s
}

// To targets rooms of the main namespace (io.to).
func (s *Server) To(rooms ...string) BroadcastOperator { return s.root.To(rooms...) }

// In is an alias of To.
func (s *Server) In(rooms ...string) BroadcastOperator { return s.root.In(rooms...) }

// Except targets every socket of the main namespace but those in rooms.
func (s *Server) Except(rooms ...string) BroadcastOperator { return s.root.Except(rooms...) }

// Volatile marks a main-namespace broadcast as droppable.
func (s *Server) Volatile() BroadcastOperator { return s.root.Volatile() }

// Local restricts a main-namespace broadcast to this server.
func (s *Server) Local() BroadcastOperator { return s.root.Local() }

// Emit sends an event to every socket of the main namespace (io.emit).
func (s *Server) Emit(name string, args ...any) error { return s.root.Emit(name, args...) }

// FetchSockets returns the sockets of the main namespace on every node.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.root.FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace, on every node, join rooms.
func (s *Server) SocketsJoin(ctx context.Context, rooms ...string) error {
	return s.root.SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the main namespace, on every node, leave rooms.
func (s *Server) SocketsLeave(ctx context.Context, rooms ...string) error {
	return s.root.SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the main namespace, on every node.
func (s *Server) DisconnectSockets(ctx context.Context, closeConn bool) error {
	return s.root.DisconnectSockets(ctx, closeConn)
}

// ServerSideEmit sends an event to the main namespace of the cluster's
// other nodes (io.serverSideEmit).
func (s *Server) ServerSideEmit(ctx context.Context, name string, args ...any) error {
	return s.root.ServerSideEmit(ctx, name, args...)
}

// ServerSideEmitWithAck sends an event to the other nodes and gathers one
// answer from each (io.serverSideEmitWithAck).
func (s *Server) ServerSideEmitWithAck(ctx context.Context, name string, args ...any) ([]Message, error) {
	return s.root.ServerSideEmitWithAck(ctx, name, args...)
}

// OnServerSideEmit registers f for server-side emits to the main namespace.
func (s *Server) OnServerSideEmit(name string, f func(*ServerSideEvent)) {
	s.root.OnServerSideEmit(name, f)
}

// serveExchange serves one request of ServeHTTP; paths outside
// Config.Path are answered 404.
func (s *Server) serveExchange(x eio.Exchange) {
	if !s.handle(x) {
		x.Respond(http.StatusNotFound, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, []byte("404 page not found\n"))
	}
}

// handle serves x if its path belongs to the server and reports whether it did.
func (s *Server) handle(x eio.Exchange) bool {
	path := x.Path()
	if !strings.HasPrefix(path, s.cfg.Path) {
		return false
	}
	if s.client != nil {
		if name, ok := clientdist.FileName(path, s.cfg.Path); ok {
			rep, _ := s.client.Resolve(name, x.Header("Accept-Encoding"), x.Header("If-None-Match"))
			h := http.Header{}
			set := func(k, v string) {
				if v != "" {
					h.Set(k, v)
				}
			}
			set("Content-Type", rep.ContentType)
			set("Content-Encoding", rep.ContentEncoding)
			set("Cache-Control", rep.CacheControl)
			set("Etag", rep.ETag)
			set("Vary", rep.Vary)
			// For HEAD both transports send the head of this reply,
			// Content-Length included, and no body.
			x.Respond(rep.Status, h, rep.Body)
			return true
		}
	}
	s.engine.Handle(x)
	return true
}

// sendConnect answers a CONNECT with {"sid":...} ("pid" too when recovery
// is on), in order with the socket's other writes.
func (s *Server) sendConnect(sock *Socket) {
	b := getBuf()
	b.B = sock.appendConnect(eio.BeginBuild(b.B[:0]))
	sock.send(b.B)
	putBuf(b)
}

// appendConnect appends sock's CONNECT reply packet to b.
func (s *Socket) appendConnect(b []byte) []byte {
	if s.client.v3 {
		// Socket.IO protocol v4 has no payload (socket.io's protocol 3 branch).
		return packet.AppendEncode(b, &packet.Packet{Type: packet.Connect, Namespace: s.nsp.name, ID: packet.NoID})
	}
	// Ids are URL-safe base64: no JSON escaping needed.
	var arr [80]byte
	data := append(append(append(arr[:0], `{"sid":"`...), s.id...), '"')
	if pid := s.recoveryID(); pid != "" {
		data = append(append(append(data, `,"pid":"`...), pid...), '"')
	}
	data = append(data, '}')
	return packet.AppendEncode(b, &packet.Packet{Type: packet.Connect, Namespace: s.nsp.name, ID: packet.NoID, Data: data})
}

// Close disconnects every client ("server shutting down") and stops the
// event loops if ListenAndServe runs.
func (s *Server) Close() error {
	return s.Shutdown(context.Background())
}

// Shutdown disconnects every socket with reason "server shutting down",
// closes every connection, then stops the event loops if ListenAndServe
// runs. It waits for queued bytes to leave until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, ns := range s.nsps {
		nsps = append(nsps, ns)
	}
	ls, en := s.ls, s.enroll
	if s.tlsListener != nil {
		s.tlsListener.Close()
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, ns := range nsps {
		for _, sock := range ns.Sockets() {
			wg.Add(1)
			sock.client.post(func() {
				defer wg.Done()
				sock.onclose(ReasonServerShuttingDown)
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.drainExecutors(ctx)
	// Polling clients between two polls take their close packet with the
	// next one; then the answers must leave before the loops stop.
	s.engine.Shutdown(ctx)
	s.drainExecutors(ctx)
	for _, ns := range nsps {
		if err := ns.adapter.Close(); err != nil {
			s.cfg.Logger.Warn("sio: closing an adapter", slog.String("namespace", ns.name), slog.Any("error", err))
		}
	}
	var err error
	if ls != nil {
		err = ls.Stop(ctx)
	}
	if en != nil {
		en.Stop(ctx)
	}
	return err
}

var bufPool bytebufferpool.Pool

func getBuf() *bytebufferpool.ByteBuffer  { return bufPool.Get() }
func putBuf(b *bytebufferpool.ByteBuffer) { bufPool.Put(b) }

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
