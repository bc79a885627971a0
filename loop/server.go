package loop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/timer"
)

// Config configures a Server. The zero value of every field but Handler
// selects the documented default.
type Config struct {
	// Addr is the TCP address to listen on, "host:port".
	Addr string
	// Loops is the number of event loops. Default: runtime.NumCPU().
	Loops int
	// MaxHeaderBytes caps the request line plus headers. Default 8192;
	// larger heads are answered 431 and the connection closed.
	MaxHeaderBytes int
	// MaxBodyBytes caps a request body. Default 1e6 (socket.io's
	// maxHttpBufferSize); larger bodies are answered 413.
	MaxBodyBytes int64
	// MaxMessageBytes caps one WebSocket message. Default 1e6; larger
	// messages close the connection with 1009.
	MaxMessageBytes int64
	// MaxMessageFragments caps the frames of one WebSocket message; more
	// close the connection with 1008. Default MaxMessageBytes + 1: a
	// message within MaxMessageBytes is accepted however it is
	// fragmented (wsframe.Decoder.MaxFragments).
	MaxMessageFragments int
	// MaxOutboundBytes caps the bytes queued for one connection and not yet
	// taken by the kernel. A consumer that falls behind it is disconnected
	// (ErrSlowConsumer). Default 8 MiB.
	MaxOutboundBytes int
	// MaxBacklog bounds the work queued on one event loop and not yet run,
	// in recipient visits (a broadcast to n of the loop's connections is
	// n). Above it the loop is overloaded: volatile broadcasts are dropped
	// and other broadcasts wait until it has worked off half (see
	// Loop.WaitBacklog). Default DefaultMaxBacklog (1 Mi, about 0.25 s of
	// fan-out).
	MaxBacklog int
	// MaxLoopOutboundBytes bounds the output one event loop's connections
	// hold queued because their readers are slower than the loop: above
	// it, while at least a quarter of the loop's connections are behind,
	// the loop is overloaded as with MaxBacklog, so publishers are slowed
	// to the rate the readers take (one slow reader, or a few, are cut at
	// MaxOutboundBytes instead and never slow the others). Default
	// DefaultMaxLoopOutboundBytes (64 MiB).
	MaxLoopOutboundBytes int
	// SocketSendBuffer and SocketRecvBuffer, when above 0, set SO_SNDBUF
	// and SO_RCVBUF of the listening socket, which the connections it
	// accepts inherit. 0 keeps the kernel's autotuning.
	SocketSendBuffer int
	SocketRecvBuffer int
	// MaxPausedInputBytes caps the input a connection may hold buffered
	// while its reading is paused: a WebSocket connection paused through
	// eio.ReadPauser, or an HTTP connection whose client sent more than
	// one maximal request (MaxHeaderBytes + MaxBodyBytes) past a request
	// that awaits its response, at which point its reading is paused until
	// the response is written. A client that still gets more input in is
	// disconnected with ErrInputOverflow. Default: the larger of
	// MaxHeaderBytes + MaxBodyBytes and MaxMessageBytes, plus 4 MiB; a
	// paused connection then holds at most this plus one 64 KiB read.
	MaxPausedInputBytes int
	// IdleTimeout closes an HTTP connection that has not completed a
	// request within this time of opening or of its last response: it
	// bounds both slow senders (slowloris) and idle keep-alive connections.
	// WebSocket connections are not affected. Default 10 s.
	IdleTimeout time.Duration
	// ReservedFiles is how many file descriptors below the process's
	// RLIMIT_NOFILE (read when Serve starts) the server keeps free: a
	// connection accepted with a descriptor number in that top range is
	// closed at once and counted (Server.RefusedConnections), with a
	// warning logged at most every 5 s, instead of letting accept fail
	// with EMFILE, which would stop gnet's engine and every connection.
	// It must cover one descriptor per loop plus what the rest of the
	// process opens while at the limit. Default 64 + Loops.
	ReservedFiles int
	// PerMessageDeflate, when set, accepts the permessage-deflate
	// WebSocket extension (RFC 7692) from clients that offer it: see
	// PerMessageDeflate. Nil (the default, as in socket.io) refuses it,
	// and a frame with RSV1 set then closes the connection with 1002.
	PerMessageDeflate *PerMessageDeflate
	// Handler receives every HTTP request, on the connection's event loop.
	// It must not block: it answers through the Exchange, possibly later
	// and from another goroutine.
	Handler func(x eio.Exchange)
	// Logger receives engine-level errors. Nil discards them.
	Logger *slog.Logger
}

// PerMessageDeflate configures WebSocket compression (RFC 7692).
//
// The server always answers with server_no_context_takeover: what it sends
// compressed refers to nothing sent before, so it keeps no compressor per
// connection (flate writers are pooled and held only while a message is
// compressed) and a broadcast prepared once (eio.Prepare) is compressed
// once for all of its recipients that negotiated the extension. What a
// client sends is inflated as the client offered: with
// client_no_context_takeover each message alone; without it, as browsers
// and the ws npm package offer by default, against the connection's last
// 32 KiB of input, a buffer each such connection allocates with its first
// compressed message and keeps until it closes (flate readers are pooled).
// A client that limits the server's window (server_max_window_bits below
// 15) gets Huffman-only compression, which needs no window.
type PerMessageDeflate struct {
	// Threshold is the size from which an outgoing data message is
	// compressed; smaller ones are sent as they are. 0 means 1024 (the
	// ws npm default, as socket.io configures it); a negative value
	// compresses every message.
	Threshold int
	// Level is the compress/flate level, from flate.BestSpeed (1) to
	// flate.BestCompression (9), or flate.HuffmanOnly (-2). 0 means
	// flate.BestSpeed: compress/flate at its default level 6 (zlib's,
	// which the ws npm package uses) took 20 times as long as at level 1
	// on a 16 KiB JSON-like message, for a third fewer bytes.
	Level int
}

// threshold returns the effective Threshold.
func (d *PerMessageDeflate) threshold() int {
	switch {
	case d.Threshold == 0:
		return 1024
	case d.Threshold < 0:
		return 0
	}
	return d.Threshold
}

func (c *Config) withDefaults() {
	if c.Loops <= 0 {
		c.Loops = runtime.NumCPU()
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 8192
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1e6
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1e6
	}
	if c.MaxMessageFragments <= 0 {
		c.MaxMessageFragments = int(min(c.MaxMessageBytes, math.MaxInt-1)) + 1
	}
	if c.MaxOutboundBytes <= 0 {
		c.MaxOutboundBytes = 8 << 20
	}
	if c.MaxBacklog <= 0 {
		c.MaxBacklog = DefaultMaxBacklog
	}
	if c.MaxLoopOutboundBytes <= 0 {
		c.MaxLoopOutboundBytes = DefaultMaxLoopOutboundBytes
	}
	if c.MaxPausedInputBytes <= 0 {
		c.MaxPausedInputBytes = max(c.MaxHeaderBytes+int(c.MaxBodyBytes), int(c.MaxMessageBytes)) + pausedInputSlack
	}
	if c.ReservedFiles <= 0 {
		c.ReservedFiles = 64 + c.Loops
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// pausedInputSlack is what MaxPausedInputBytes allows by default on top of
// one maximal request or message: a paused connection may let one 64 KiB
// read through each time gnet drains its outbound buffer
// (readpause_linux.go), and 4 MiB leaves room for 64 of those before a
// peer that reads our output while it floods us is cut off.
const pausedInputSlack = 4 << 20

// ErrSlowConsumer is the close cause of a connection whose queued outbound
// bytes exceeded Config.MaxOutboundBytes.
var ErrSlowConsumer = errors.New("loop: slow consumer: outbound queue full")

// ErrServerClosed is returned by Serve after Stop.
var ErrServerClosed = errors.New("loop: server closed")

// Server is an HTTP/1.1 + WebSocket server on gnet event loops.
type Server struct {
	cfg     Config
	handler eventHandler

	mu      sync.Mutex
	eng     gnet.Engine
	booted  bool
	stopped bool
	ready   chan struct{}
	loops   map[gnet.EventLoop]*Loop // guarded by mu
	order   []*Loop                  // guarded by mu
	byIndex atomic.Pointer[[]*Loop]  // copy of order for lock-free Loop
	wheel   *timer.Wheel             // idle deadlines of HTTP connections

	// fdCeiling is the first descriptor number refused (fdlimit.go), 0
	// for none; set by Serve before gnet starts, read-only afterwards.
	fdCeiling     int
	refused       atomic.Uint64 // connections refused at the fd limit
	slow          atomic.Uint64 // connections closed as slow consumers
	refusalLogged atomic.Int64  // unix nanos of the last refusal warning
}

// NewServer returns a server for cfg. Call Serve to run it.
func NewServer(cfg Config) *Server {
	cfg.withDefaults()
	s := &Server{cfg: cfg, ready: make(chan struct{}), loops: make(map[gnet.EventLoop]*Loop), wheel: timer.NewWheel()}
	s.handler.srv = s
	return s
}

// Ready is closed once the server listens.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Serve listens on Config.Addr and serves until Stop. It blocks.
//
// Each loop accepts on its own SO_REUSEPORT listener (see fdlimit.go for
// why); the kernel spreads connections over them. A consequence of
// SO_REUSEPORT: another process of the same user could bind the same port
// and share its connections. So that a second server started on a port in
// use fails, as a socket.io user expects, instead of silently taking half
// of the first one's clients, Serve first binds the address without
// SO_REUSEPORT, which fails while anything listens there.
func (s *Server) Serve() error {
	if err := checkAddrFree(s.cfg.Addr); err != nil {
		return fmt.Errorf("loop: %w", err)
	}
	if lim := fileLimit(); lim > s.cfg.ReservedFiles {
		s.fdCeiling = lim - s.cfg.ReservedFiles
	}
	err := gnet.Run(&s.handler, "tcp://"+s.cfg.Addr,
		gnet.WithMulticore(s.cfg.Loops > 1),
		gnet.WithNumEventLoop(s.cfg.Loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReuseAddr(true),
		gnet.WithReusePort(true),
		// Where gnet cannot use SO_REUSEPORT (multicore on macOS and
		// other BSDs) one acceptor hands connections out.
		gnet.WithLoadBalancing(gnet.LeastConnections),
		gnet.WithSocketSendBuffer(s.cfg.SocketSendBuffer),
		gnet.WithSocketRecvBuffer(s.cfg.SocketRecvBuffer),
		gnet.WithLogger(quietLogger{s.cfg.Logger}),
	)
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return ErrServerClosed
	}
	if err != nil {
		return fmt.Errorf("loop: %w", err)
	}
	return nil
}

// checkAddrFree fails if addr is in use. A port of 0 asks for any free
// port, which nothing can share by chance.
func checkAddrFree(addr string) error {
	if _, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// Stop closes the listener and every connection. Safe from any goroutine.
// Only the first call stops the server; later ones return nil at once (a
// Close after a Shutdown, say).
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	again := s.stopped
	s.stopped = true
	booted, eng := s.booted, s.eng
	s.mu.Unlock()
	if !booted || again {
		return nil
	}
	return eng.Stop(ctx)
}

// Connections reports the number of open connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.booted {
		return 0
	}
	return s.eng.CountConnections()
}

// Loop returns the loop with index i (the Group of its connections), or
// nil if no connection has used it yet. Safe from any goroutine; it takes
// no lock.
func (s *Server) Loop(i int) *Loop {
	all := s.byIndex.Load()
	if all == nil || i < 0 || i >= len(*all) {
		return nil
	}
	return (*all)[i]
}

// loopFor maps a gnet loop to its Loop, creating it on first use.
func (s *Server) loopFor(el gnet.EventLoop) *Loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.loops[el]
	if !ok {
		l = &Loop{el: el, index: len(s.order), maxBacklog: int64(s.cfg.MaxBacklog), maxOutbound: int64(s.cfg.MaxLoopOutboundBytes)}
		s.loops[el] = l
		s.order = append(s.order, l)
		all := append([]*Loop(nil), s.order...)
		s.byIndex.Store(&all)
	}
	return l
}

type eventHandler struct {
	gnet.BuiltinEventEngine
	srv *Server
}

func (h *eventHandler) OnBoot(eng gnet.Engine) gnet.Action {
	s := h.srv
	s.mu.Lock()
	s.eng = eng
	first := !s.booted
	s.booted = true
	s.mu.Unlock()
	if first {
		close(s.ready)
	}
	return gnet.None
}

func (h *eventHandler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	if h.srv.atFileLimit(gc) {
		h.srv.refuse()
		return nil, gnet.Close
	}
	c := newConn(h.srv, gc)
	if ad, ok := gc.Context().(*adoption); ok {
		if ad.remote != "" {
			c.remote = ad.remote
		}
		ad.c = c
		if ad.tls != nil {
			c.ext = &connExt{tls: ad.tls}
		}
		if ad.fh != nil {
			x := &connExt{pre: ad.pre}
			if d := ad.ext.deflate; d != nil && h.srv.cfg.PerMessageDeflate != nil {
				x.defl = newDeflateState(h.srv.cfg.PerMessageDeflate, *d)
			}
			c.ext = x
			c.enterWS(ad.fh)
			if o, ok := ad.fh.(eio.FrameOpener); ok {
				o.OnOpen(c)
			}
			if len(x.pre) > 0 {
				c.lp.Post(func() { c.process(); c.flush() })
			}
		}
	}
	gc.SetContext(c)
	return nil, gnet.None
}

func (h *eventHandler) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok {
		return gnet.Close
	}
	return c.onTraffic()
}

func (h *eventHandler) OnClose(gc gnet.Conn, err error) gnet.Action {
	if c, ok := gc.Context().(*conn); ok {
		c.onClose(err)
	}
	return gnet.None
}

// quietLogger adapts gnet's logger to slog; gnet's messages are diagnostic.
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Debugf(f string, a ...any) {}
func (q quietLogger) Infof(f string, a ...any)  {}
func (q quietLogger) Warnf(f string, a ...any)  { q.l.Warn(fmt.Sprintf(f, a...)) }
func (q quietLogger) Errorf(f string, a ...any) { q.l.Error(fmt.Sprintf(f, a...)) }
func (q quietLogger) Fatalf(f string, a ...any) { q.l.Error(fmt.Sprintf(f, a...)) }

var _ logging.Logger = quietLogger{}

// SlowConsumers is the number of connections closed because their queued
// output passed Config.MaxOutboundBytes (ErrSlowConsumer).
func (s *Server) SlowConsumers() uint64 { return s.slow.Load() }
