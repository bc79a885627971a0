package sio

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// TLS on the event loops. gnet has no TLS, and TLS code of our own is out
// of the question, so crypto/tls does the record work on goroutines of its
// own and the loops get plaintext: ListenAndServeTLS accepts on a
// crypto/tls listener and hands each connection, once its handshake is
// done, to the loops through a Unix socket pair (loop.Enroller.AdoptBridged).
// A connection then costs two goroutines and two descriptors more than on
// ListenAndServe, and each byte one more copy through the kernel.

// tlsHandshakeTimeout bounds a TLS handshake before the connection is
// dropped, so that silent clients do not hold a goroutine each.
const tlsHandshakeTimeout = 10 * time.Second

// ListenAndServeTLS is ListenAndServe over TLS (https:// and wss://) with
// the certificate and key in PEM files, as http.ListenAndServeTLS.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string, fallback http.Handler) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	return s.ListenAndServeTLSConfig(addr, &tls.Config{Certificates: []tls.Certificate{cert}}, fallback)
}

// ListenAndServeTLSConfig is ListenAndServeTLS with a tls.Config of the
// caller's (certificates, GetCertificate, client authentication). It offers
// HTTP/1.1 in ALPN, the only protocol served. A server serves either
// ListenAndServe or this, not both.
func (s *Server) ListenAndServeTLSConfig(addr string, cfg *tls.Config, fallback http.Handler) error {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	en, err := s.enroller()
	if err != nil {
		return err
	}
	h := s.loopHandler(fallback)
	if !s.tlsServe.CompareAndSwap(nil, &h) {
		return errors.New("sio: ListenAndServeTLS already serves")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.tlsServe.Store(nil)
		return err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.tlsListener = l
	s.mu.Unlock()
	s.readyOnce.Do(func() { close(s.ready) })
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// At the descriptor limit: wait, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if tc, ok := nc.(*net.TCPConn); ok {
			if n := s.cfg.SocketSendBuffer; n > 0 {
				_ = tc.SetWriteBuffer(n)
			}
			if n := s.cfg.SocketRecvBuffer; n > 0 {
				_ = tc.SetReadBuffer(n)
			}
		}
		go s.adoptTLS(en, tls.Server(nc, cfg))
	}
}

// adoptTLS completes tc's handshake and hands it to the event loops.
func (s *Server) adoptTLS(en interface{ AdoptBridged(net.Conn) error }, tc *tls.Conn) {
	_ = tc.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		tc.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	if err := en.AdoptBridged(tc); err != nil {
		tc.Close()
	}
}

// serveTLSExchange is the enroller's handler: requests of connections
// adopted by ListenAndServeTLS.
func (s *Server) serveTLSExchange(x eio.Exchange) {
	if h := s.tlsServe.Load(); h != nil {
		(*h)(x)
		return
	}
	x.Respond(http.StatusNotFound, nil, nil)
}
