package client

import (
	"context"
	"net/url"
)

// New returns an unconnected socket on a Manager of its own, like
// io(url, {autoConnect: false}): the path of rawURL names the namespace
// ("http://host:3000/admin" is namespace "/admin"; no path is "/").
// Register handlers, then call Connect or ConnectContext. The socket's
// CONNECT payload is Options.Auth.
func New(rawURL string, opts Options) *Socket {
	nsp := "/"
	if u, err := url.Parse(rawURL); err == nil && u.Path != "" {
		nsp = u.Path
		u.Path, u.RawPath = "", ""
		rawURL = u.String()
	}
	return NewManager(rawURL, opts).Socket(nsp, SocketOptions{})
}

// Connect is New followed by ConnectContext: it returns a connected
// socket, or an error after which nothing is left running.
//
// Handlers registered after Connect returns miss what arrived before:
// when the server emits as soon as a client connects, use New, register
// the handlers, then ConnectContext.
func Connect(ctx context.Context, rawURL string, opts Options) (*Socket, error) {
	s := New(rawURL, opts)
	if err := s.ConnectContext(ctx); err != nil {
		s.Manager().Close()
		return nil, err
	}
	return s, nil
}
