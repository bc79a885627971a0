package loop

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"

	"github.com/panjf2000/gnet/v2"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/wsframe"
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
	ext    Extensions
	remote string               // the client's address, when nc's is not (a bridge)
	tls    *tls.ConnectionState // the bridged connection's TLS state, or nil
	c      *conn
}

// Extensions are the WebSocket extensions agreed for a connection to be
// enrolled (Enroller.Negotiate). The zero value is none.
type Extensions struct {
	deflate *wsframe.DeflateOffer
}

// Header returns the header line the 101 response must carry for these
// extensions, "Sec-WebSocket-Extensions: ...", or "" for none.
func (x Extensions) Header() string {
	if x.deflate == nil {
		return ""
	}
	return x.deflate.Response
}

// Negotiate answers the Sec-WebSocket-Extensions value of an upgrade
// request as the enroller's Config allows (Config.PerMessageDeflate). The
// caller writes Header() into its 101 response and passes the result to
// EnrollWith.
func (e *Enroller) Negotiate(extensions string) Extensions {
	if e.srv.cfg.PerMessageDeflate == nil {
		return Extensions{}
	}
	d, ok := wsframe.NegotiateDeflate(extensions)
	if !ok {
		return Extensions{}
	}
	return Extensions{deflate: &d}
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
	return e.EnrollWith(nc, rd, fh, Extensions{})
}

// EnrollWith is Enroll for a connection whose 101 response agreed to ext
// (Negotiate).
func (e *Enroller) EnrollWith(nc net.Conn, rd *bufio.Reader, fh eio.FrameHandler, ext Extensions) (eio.WSConn, error) {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil, ErrNotEnrollable
	}
	ad := &adoption{fh: fh, ext: ext}
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

// EnrollBridgedWith is EnrollBridged for a connection whose 101 response
// agreed to ext (Negotiate): the frames of nc's TLS session reach the loop
// through the socket pair as EnrollBridged describes.
func (e *Enroller) EnrollBridgedWith(nc net.Conn, rd *bufio.Reader, fh eio.FrameHandler, ext Extensions) (eio.WSConn, error) {
	var src io.Reader = nc
	if rd != nil {
		src = rd
	}
	var c eio.WSConn
	err := bridge(nc, src, func(far *net.UnixConn) error {
		var err error
		c, err = e.EnrollWith(far, nil, fh, ext)
		return err
	})
	return c, err
}
