package loop

import (
	"bufio"
	"context"
	"errors"
	"net"

	"github.com/panjf2000/gnet/v2"

	"github.com/sioloop/sioloop/eio"
)

// Enroller moves WebSocket connections accepted by another server (net/http)
// onto gnet event loops, so that a mounted server still serves WebSocket
// traffic without a goroutine per connection.
type Enroller struct {
	srv *Server
	cli *gnet.Client
}

// adoption is the gnet context of a connection being enrolled: an
// upgraded WebSocket (fh set) or, with fh nil, a connection that starts in
// HTTP mode, served by Config.Handler (AdoptBridged).
type adoption struct {
	pre    []byte
	fh     eio.FrameHandler
	remote string // the client's address, when nc's is not (a bridge)
	c      *conn
}

// NewEnroller starts event loops for enrolled connections. cfg.Addr is not
// used; cfg.Handler serves the connections adopted in HTTP mode
// (AdoptBridged).
func NewEnroller(cfg Config) (*Enroller, error) {
	s := NewServer(cfg)
	cli, err := gnet.NewClient(&s.handler,
		gnet.WithMulticore(s.cfg.Loops > 1),
		gnet.WithNumEventLoop(s.cfg.Loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(quietLogger{s.cfg.Logger}),
	)
	if err != nil {
		return nil, err
	}
	if err := cli.Start(); err != nil {
		return nil, err
	}
	return &Enroller{srv: s, cli: cli}, nil
}

// ErrNotEnrollable is returned for connections gnet cannot adopt (TLS).
var ErrNotEnrollable = errors.New("loop: connection type cannot move to an event loop")

// Enroll adopts nc, an upgraded WebSocket connection whose 101 answer was
// already written; pre holds bytes read past the request (from the
// hijacked bufio.Reader). Frames go to fh. nc must be a *net.TCPConn or a
// *net.UnixConn; on success nc is closed and its file descriptor lives on
// in the loop.
func (e *Enroller) Enroll(nc net.Conn, rd *bufio.Reader, fh eio.FrameHandler) (eio.WSConn, error) {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil, ErrNotEnrollable
	}
	ad := &adoption{fh: fh}
	if rd != nil && rd.Buffered() > 0 {
		ad.pre, _ = rd.Peek(rd.Buffered())
		ad.pre = append([]byte(nil), ad.pre...)
	}
	if _, err := e.cli.EnrollContext(nc, ad); err != nil {
		return nil, err
	}
	if ad.c == nil {
		return nil, errors.New("loop: enrolled connection was not opened")
	}
	return ad.c, nil
}

// Loop returns the loop with index i, or nil (see Server.Loop).
func (e *Enroller) Loop(i int) *Loop { return e.srv.Loop(i) }

// Stop closes every enrolled connection.
func (e *Enroller) Stop(context.Context) { _ = e.cli.Stop() }
