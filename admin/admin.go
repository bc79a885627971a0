package admin

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"golang.org/x/crypto/bcrypt"

	"github.com/sioloop/sioloop/sio"
)

// Features the config event may announce (admin-ui's Feature enum).
const (
	FeatureEmit             = "EMIT"
	FeatureJoin             = "JOIN"
	FeatureLeave            = "LEAVE"
	FeatureDisconnect       = "DISCONNECT"
	FeatureMJoin            = "MJOIN"
	FeatureMLeave           = "MLEAVE"
	FeatureMDisconnect      = "MDISCONNECT"
	FeatureAggregatedEvents = "AGGREGATED_EVENTS"
	FeatureAllEvents        = "ALL_EVENTS"
)

// statsInterval is how often server_stats is sent, as admin-ui does.
const statsInterval = 2 * time.Second

// actionTimeout bounds one action of the UI (a join, leave or disconnect
// across a cluster).
const actionTimeout = 10 * time.Second

// processStart stands for the process's start time in server_stats'
// uptime (process.uptime()): the time this package was initialized.
var processStart = time.Now()

// Instrumentation is an instrumented server: the admin namespace, its
// statistics and, in development mode, the observation of every
// namespace. Close stops it.
type Instrumentation struct {
	srv      *sio.Server
	opts     Options
	nsp      *sio.Namespace
	features []string
	hostname string
	serverID string

	out    *outbox
	stats  *eventBuffer
	admins atomic.Int64 // connected admin sockets
	closed atomic.Bool
	stop   chan struct{}
	done   sync.WaitGroup

	// sessions holds the session id made for a socket that logged in
	// with its password, from the middleware to its connection handler.
	sessions sync.Map // *sio.Socket -> string

	mu      sync.Mutex
	watched map[weak.Pointer[sio.Namespace]]bool // guarded by mu; a namespace dropped (CleanupEmptyChildNamespaces) is forgotten
	tracked map[*sio.Socket]*trackInfo           // guarded by mu
	last    sio.Stats                            // guarded by mu: counters at the previous server_stats
}

// Instrument does what instrument(io, options) of @socket.io/admin-ui
// 0.5.1 does: it opens the admin namespace (Options.NamespaceName) for the
// Admin UI, with its authentication, answers the UI's actions unless
// Readonly, sends server_stats every 2 seconds and, in Development mode,
// tells the UI of every socket, room and event of the server's namespaces,
// dynamic ones included. Call it before the server accepts connections:
// sockets connected before are listed but not followed. It starts the
// server's activity counters (sio.Server.Stats), which server_stats reads:
// from then on each packet costs a few atomic adds. While no admin socket
// is connected, the observation of sockets builds no notification.
func Instrument(srv *sio.Server, opts Options) (*Instrumentation, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	in := &Instrumentation{
		srv:      srv,
		opts:     opts,
		hostname: host,
		serverID: opts.ServerID,
		out:      newOutbox(),
		stats:    newEventBuffer(),
		stop:     make(chan struct{}),
		watched:  map[weak.Pointer[sio.Namespace]]bool{},
		tracked:  map[*sio.Socket]*trackInfo{},
	}
	if in.serverID == "" {
		in.serverID = host
	}
	if !opts.Readonly {
		in.features = []string{FeatureEmit, FeatureJoin, FeatureLeave, FeatureDisconnect,
			FeatureMJoin, FeatureMLeave, FeatureMDisconnect}
	}
	in.features = append(in.features, FeatureAggregatedEvents)
	if opts.Mode == Development {
		in.features = append(in.features, FeatureAllEvents)
	}
	in.nsp = srv.Of(opts.NamespaceName)
	if opts.Auth != nil {
		in.nsp.Use(in.authenticate)
	}
	in.nsp.Use(in.admit)
	in.nsp.OnConnection(in.onAdmin)
	in.observeEngine()
	if opts.Mode == Development {
		in.observeSockets()
	}
	in.mu.Lock()
	in.last = srv.Stats() // starts the server's counters
	in.mu.Unlock()
	in.done.Add(2)
	go in.sendLoop()
	go in.statsLoop()
	return in, nil
}

// Namespace is the admin namespace.
func (in *Instrumentation) Namespace() *sio.Namespace { return in.nsp }

// Close stops the statistics and the observation of the server; the admin
// namespace stays, and its sockets connected. The server's hooks that
// Instrument registered remain and do nothing. Call it when the server is
// shut down: until then a goroutine sends server_stats every 2 seconds.
func (in *Instrumentation) Close() error {
	if in.closed.Swap(true) {
		return nil
	}
	close(in.stop)
	in.out.close()
	in.done.Wait()
	return nil
}

// authenticate is the admin namespace's middleware with BasicAuth: a
// session id saved in the store, or the username and a password matching
// the hash; anything else is refused with "invalid credentials".
func (in *Instrumentation) authenticate(s *sio.Socket) error {
	var auth struct {
		SessionID any `json:"sessionId"`
		Username  any `json:"username"`
		Password  any `json:"password"`
	}
	_ = json.Unmarshal(s.Auth(), &auth)
	ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
	defer cancel()
	if sid, ok := auth.SessionID.(string); ok && sid != "" {
		if ok, err := in.opts.Store.DoesSessionExist(ctx, sid); err == nil && ok {
			return nil
		}
	}
	user, uok := auth.Username.(string)
	pass, pok := auth.Password.(string)
	if uok && pok && user == in.opts.Auth.Username &&
		bcrypt.CompareHashAndPassword([]byte(in.opts.Auth.Password), []byte(pass)) == nil {
		sid := randomID()
		if err := in.opts.Store.SaveSession(ctx, sid); err == nil {
			in.sessions.Store(s, sid)
		}
		return nil
	}
	return &sio.ConnectError{Message: "invalid credentials"}
}

// admit counts an admin socket that passed authentication as listening
// from now: it is told of its own room and connection, as admin-ui's
// admin sockets are. (A middleware added after Instrument that refuses it
// leaves it counted: notifications are then built for nobody.)
func (in *Instrumentation) admit(*sio.Socket) error {
	in.admins.Add(1)
	return nil
}

// onAdmin greets an admin socket: its session id when it logged in with
// its password, the config, and in development mode every socket.
func (in *Instrumentation) onAdmin(s *sio.Socket) {
	s.OnDisconnect(func(string) { in.admins.Add(-1) })
	if sid, ok := in.sessions.LoadAndDelete(s); ok {
		_ = s.Emit("session", sid)
	}
	in.registerActions(s)
	_ = s.Emit("config", map[string]any{"supportedFeatures": in.features})
	if in.opts.Mode == Development {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		_ = s.Emit("all_sockets", in.allSockets(ctx))
	}
}

// registerActions answers the UI's actions announced in the config:
// emit(nsp, filter, event, ...args), join(nsp, room, filter),
// leave(nsp, room, filter), _disconnect(nsp, close, filter). A filter (a
// room, or a socket id) selects the sockets; none selects the whole
// namespace.
func (in *Instrumentation) registerActions(s *sio.Socket) {
	if in.opts.Readonly {
		return
	}
	target := func(nsp, filter string) sio.BroadcastOperator {
		ns := in.srv.Of(nsp)
		if filter != "" {
			return ns.In(filter)
		}
		return ns.To() // the whole namespace
	}
	s.On("emit", func(ev *sio.Event) {
		nsp, filter, name := argString(ev, 0), argString(ev, 1), argString(ev, 2)
		_ = target(nsp, filter).Emit(name, messageArgs(&ev.Message, 3)...)
	})
	s.On("join", func(ev *sio.Event) {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		_ = target(argString(ev, 0), argString(ev, 2)).SocketsJoin(ctx, argString(ev, 1))
	})
	s.On("leave", func(ev *sio.Event) {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		_ = target(argString(ev, 0), argString(ev, 2)).SocketsLeave(ctx, argString(ev, 1))
	})
	s.On("_disconnect", func(ev *sio.Event) {
		var closeConn bool
		_ = json.Unmarshal(ev.Arg(1), &closeConn)
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		_ = target(argString(ev, 0), argString(ev, 2)).DisconnectSockets(ctx, closeConn)
	})
}

// argString is argument i when it is a string, else "" (absent, null:
// JavaScript's falsy filter).
func argString(ev *sio.Event, i int) string {
	var v string
	if json.Unmarshal(ev.Arg(i), &v) != nil {
		return ""
	}
	return v
}
