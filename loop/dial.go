package loop

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/sioloop/sioloop/eio"
)

// DialerConfig configures a Dialer. The zero value of every field selects
// the documented default.
type DialerConfig struct {
	// Loops is the number of client event loops. Default:
	// runtime.NumCPU().
	Loops int
	// MaxMessageBytes caps one WebSocket message from a server. Default
	// 1e6 (socket.io's maxHttpBufferSize); larger messages close the
	// connection with 1009.
	MaxMessageBytes int64
	// MaxOutboundBytes caps the bytes queued for one connection and not yet
	// taken by the kernel; past it the connection is closed with
	// ErrSlowConsumer. Default 8 MiB.
	MaxOutboundBytes int
	// MaxPausedInputBytes caps the input a connection may hold buffered
	// while its reading is paused (eio.ReadPauser): a server that goes on
	// sending past it is disconnected with ErrInputOverflow. Default
	// MaxMessageBytes + 4 MiB.
	MaxPausedInputBytes int
	// NetDial opens the TCP connection, e.g. to choose a source address.
	// Default: a zero net.Dialer's DialContext. Only *net.TCPConn and
	// *net.UnixConn results can move to an event loop.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for wss:// URLs. Default: a zero tls.Config with
	// the URL's host as ServerName.
	TLSConfig *tls.Config
	// Logger receives engine-level errors. Nil discards them.
	Logger *slog.Logger
	// MaskKey draws the masking key of each frame sent. Default: random
	// keys, as RFC 6455 §10.3 requires of clients exposed to untrusted
	// intermediaries. A load tool on loopback may use a fixed key.
	MaskKey func() [4]byte
}

func (c *DialerConfig) withDefaults() {
	if c.Loops <= 0 {
		c.Loops = runtime.NumCPU()
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1e6
	}
	if c.MaxOutboundBytes <= 0 {
		c.MaxOutboundBytes = 8 << 20
	}
	if c.MaxPausedInputBytes <= 0 {
		c.MaxPausedInputBytes = int(c.MaxMessageBytes) + pausedInputSlack
	}
	if c.NetDial == nil {
		var d net.Dialer
		c.NetDial = d.DialContext
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.MaskKey == nil {
		c.MaskKey = maskKey
	}
}

// Dialer opens client WebSocket connections whose frames are read and
// written by gnet event loops, so an open connection costs no goroutine:
// one process can hold as many connections as it has file descriptors.
//
// The TCP connect and the opening handshake run on the dialing goroutine
// with blocking I/O; the established connection then moves to a loop. TLS
// (wss://) connections cannot move, gnet having no TLS: they are served by
// a reader and a writer goroutine each instead.
type Dialer struct {
	cfg     DialerConfig
	cli     *gnet.Client
	handler dialHandler

	mu      sync.Mutex
	loops   map[gnet.EventLoop]*Loop // guarded by mu
	goConns map[*goConn]struct{}     // TLS connections; guarded by mu
}

// NewDialer starts cfg.Loops client event loops.
func NewDialer(cfg DialerConfig) (*Dialer, error) {
	cfg.withDefaults()
	d := &Dialer{cfg: cfg, loops: make(map[gnet.EventLoop]*Loop)}
	d.handler.d = d
	cli, err := gnet.NewClient(&d.handler,
		gnet.WithMulticore(cfg.Loops > 1),
		gnet.WithNumEventLoop(cfg.Loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(quietLogger{cfg.Logger}),
	)
	if err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	if err := cli.Start(); err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	d.cli = cli
	return d, nil
}

// Close closes every connection of the Dialer and stops its event loops.
// Connections see OnClose with ErrDialerClosed.
func (d *Dialer) Close() error {
	d.mu.Lock()
	gcs := make([]*goConn, 0, len(d.goConns))
	for c := range d.goConns {
		gcs = append(gcs, c)
	}
	d.mu.Unlock()
	for _, c := range gcs {
		c.mu.Lock()
		if c.closeErr == nil {
			c.closeErr = ErrDialerClosed
		}
		c.closing = true
		c.mu.Unlock()
		c.resumed.Broadcast()
		_ = c.nc.Close()
	}
	return d.cli.Stop()
}

// ErrDialerClosed is the OnClose cause of connections closed by
// Dialer.Close.
var ErrDialerClosed = errors.New("loop: dialer closed")

// HandshakeError is a refused WebSocket opening handshake: the server
// answered Status instead of 101.
type HandshakeError struct{ Status int }

// Error names the status.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("loop: websocket handshake refused with HTTP %d", e.Status)
}

// DialWebSocket connects to rawURL (ws:// or wss://), performs the opening
// handshake with the extra request headers in header, and returns the
// connection. Messages from the server go to h on the connection's event
// loop (for wss://, on its reader goroutine), one at a time; h may receive
// its first messages before DialWebSocket returns, with the connection as
// their first argument. ctx bounds the connect and the handshake only.
//
// On the returned eio.WSConn, WriteMessage sends one masked message and
// Close a close frame; WriteFrames takes complete unmasked frames (as a
// server would write them) and sends each masked.
func (d *Dialer) DialWebSocket(ctx context.Context, rawURL string, header http.Header, h eio.FrameHandler) (eio.WSConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	var secure bool
	switch u.Scheme {
	case "ws":
	case "wss":
		secure = true
	default:
		return nil, fmt.Errorf("loop: unsupported websocket scheme %q", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		if secure {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	nc, err := d.cfg.NetDial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	raw := nc
	if secure {
		cfg := d.cfg.TLSConfig
		if cfg == nil || cfg.ServerName == "" {
			if cfg == nil {
				cfg = &tls.Config{}
			} else {
				cfg = cfg.Clone()
			}
			cfg.ServerName = u.Hostname()
		}
		nc = tls.Client(nc, cfg)
	}
	// Bound the blocking handshake by ctx: its deadline directly, its
	// cancellation by expiring the deadline (no goroutine unless it fires).
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	var hsHeader ws.HandshakeHeader
	if len(header) > 0 {
		hsHeader = ws.HandshakeHeaderHTTP(header)
	}
	dialer := ws.Dialer{Header: hsHeader}
	br, _, err := dialer.Upgrade(nc, u)
	if !stop() || ctx.Err() != nil {
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		_ = nc.Close()
		var se ws.StatusError
		if errors.As(err, &se) {
			return nil, &HandshakeError{Status: int(se)}
		}
		if ce := ctx.Err(); ce != nil {
			return nil, ce
		}
		var ne net.Error
		if _, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() {
			// The connection's deadline (ctx's) can fire just before ctx's
			// own timer does.
			return nil, context.DeadlineExceeded
		}
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	var pre []byte
	if br != nil {
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			pre = append([]byte(nil), b...)
		}
		ws.PutReader(br)
	}
	if secure {
		return d.serveGoroutines(nc, pre, h), nil
	}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		// A custom NetDial returned something gnet cannot adopt.
		return d.serveGoroutines(nc, pre, h), nil
	}
	ad := &dialAdoption{pre: pre, fh: h}
	if _, err := d.cli.EnrollContext(nc, ad); err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	if ad.c == nil {
		return nil, errors.New("loop: dialed connection was not opened")
	}
	return ad.c, nil
}

// loopFor maps a gnet loop to its Loop, creating it on first use.
func (d *Dialer) loopFor(el gnet.EventLoop) *Loop {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.loops[el]
	if !ok {
		l = &Loop{el: el, index: len(d.loops)}
		d.loops[el] = l
	}
	return l
}
