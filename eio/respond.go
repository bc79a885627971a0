package eio

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sioloop/sioloop/wsframe"
)

// The server's answers that are not a session's packets: refusals, the
// headers of polling responses (CORS, Config.Headers), and CORS
// preflights.

// fail refuses a request. Upgrade requests get engine.io's plain-text 400
// before any upgrade; others the JSON body.
func (s *Server) fail(x Exchange, e *RequestError, upgrade bool) {
	s.logRefused(x, e)
	s.refused.add(e.Code)
	if s.cfg.OnConnectionError != nil {
		// A panic here is logged; the refusal is answered all the same.
		s.callUser(x, "OnConnectionError", func() { s.cfg.OnConnectionError(x.Request(), e) })
	}
	if upgrade {
		status := e.Status
		if status == 403 {
			status = 400
		}
		// Like ws and engine.io: a refused upgrade ends the connection.
		h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Connection": {"close"}}
		x.Respond(status, h, []byte(e.Message))
		return
	}
	s.respond(x, e.Status, "application/json", e.body())
}

// refuseUpgrade answers a WebSocket handshake the transport refused, with
// the ws package's message (e.g. "Missing or invalid Sec-WebSocket-Key
// header") and headers, then closes the connection.
func (s *Server) refuseUpgrade(x Exchange, err error) {
	var he *wsframe.HandshakeError
	if !errors.As(err, &he) {
		s.fail(x, ErrBadRequest, true)
		return
	}
	s.logRefused(x, &RequestError{Status: he.Status, Code: 3, Message: he.Message})
	s.refused.add(3)
	if s.cfg.OnConnectionError != nil {
		s.callUser(x, "OnConnectionError", func() {
			s.cfg.OnConnectionError(x.Request(), &RequestError{Status: he.Status, Code: 3, Message: he.Message})
		})
	}
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Connection": {"close"}}
	if name, value, ok := strings.Cut(he.Header, ":"); ok {
		h.Set(name, strings.TrimSpace(value))
	}
	x.Respond(he.Status, h, []byte(he.Message))
}

// respond answers x with status and body, the CORS and user headers
// (baseHeaders) and contentType when not "", or with 500 if a header
// callback panicked.
func (s *Server) respond(x Exchange, status int, contentType string, body []byte) {
	h, ok := s.baseHeaders(x)
	if !ok {
		s.internalError(x, false)
		return
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	x.Respond(status, h, body)
}

// respondPoll answers a poll with status 200 and body.
func (s *Server) respondPoll(x Exchange, body []byte) {
	h, ok := s.pollHeaders(x)
	if !ok {
		s.internalError(x, false)
		return
	}
	x.Respond(http.StatusOK, h, body)
}

// pollHeaders are the headers of a poll's answer; false if a header
// callback panicked.
func (s *Server) pollHeaders(x Exchange) (http.Header, bool) {
	h, ok := s.baseHeaders(x)
	if ok {
		setPollHeaders(h)
	}
	return h, ok
}

// baseHeaders returns the CORS and user headers every polling response
// carries, in a new map that the caller may add to. It reports false if
// CORS.AllowOrigin or Config.Headers panicked (logged by callUser): the
// caller answers 500 instead.
func (s *Server) baseHeaders(x Exchange) (http.Header, bool) {
	h := make(http.Header, 4)
	if c := s.cfg.CORS; c != nil {
		var origin string
		ok := true
		if c.AllowOrigin == nil {
			origin, ok = c.allow(x.Header("Origin"))
		} else if !s.callUser(x, "CORS.AllowOrigin", func() { origin, ok = c.allow(x.Header("Origin")) }) {
			return nil, false
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			if origin != "*" {
				h.Add("Vary", "Origin")
			}
			if c.Credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			if len(c.ExposedHeaders) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
			}
		}
	}
	if s.cfg.Headers != nil && !s.callUser(x, "Headers", func() { s.cfg.Headers(h, x.Request()) }) {
		return nil, false
	}
	return h, true
}

func (s *Server) preflight(x Exchange) {
	h, ok := s.baseHeaders(x)
	if !ok {
		s.internalError(x, false)
		return
	}
	c := s.cfg.CORS
	methods := "GET,HEAD,PUT,PATCH,POST,DELETE"
	if len(c.Methods) > 0 {
		methods = strings.Join(c.Methods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else if rh := x.Header("Access-Control-Request-Headers"); rh != "" {
		h.Set("Access-Control-Allow-Headers", rh)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	x.Respond(http.StatusNoContent, h, nil)
}

// allow decides the Access-Control-Allow-Origin value for origin.
func (c *CORS) allow(origin string) (string, bool) {
	if c.AllowOrigin != nil {
		if origin != "" && c.AllowOrigin(origin) {
			return origin, true
		}
		return "", false
	}
	for _, o := range c.Origins {
		if o == "*" {
			if c.Credentials && origin != "" {
				return origin, true
			}
			return "*", true
		}
		if o == origin && origin != "" {
			return origin, true
		}
	}
	return "", false
}

// wsHeaders keeps the headers that matter on a 101 answer (no CORS); nil
// when none is left.
func wsHeaders(h http.Header) http.Header {
	var out http.Header
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
			continue
		}
		if out == nil {
			out = make(http.Header, len(h))
		}
		out[k] = v
	}
	return out
}
