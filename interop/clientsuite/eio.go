package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// serveEIO serves engine.io-client's suite: a 500 ms ping interval,
// messages of at most 100 bytes, handshakes refused when their query has
// "deny", four cookies set on the handshake (two of them already expired),
// and each message echoed but for three commands.
func serveEIO(addr string, logger *slog.Logger) error {
	var heard requestHeaders
	srv := eio.NewServer(eio.Config{
		PingInterval: 500 * time.Millisecond,
		MaxPayload:   100,
		AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Has("deny") {
				return errors.New("denied")
			}
			return nil
		},
		InitialHeaders: func(h http.Header, _ *http.Request) {
			expired := time.Now().UTC().Format(http.TimeFormat)
			h["Set-Cookie"] = []string{
				"1=1; Max-Age=86400",
				"2=2; Path=/; HttpOnly; Secure; SameSite=Strict",
				"3=3; Max-Age=0",
				"4=4; Expires=" + expired,
			}
		},
		Headers: heard.record,
		Logger:  logger,
	})
	srv.OnConnection(func(s *eio.Session) {
		s.Send([]byte("hi"))
		s.OnMessage(func(data []byte, binary bool) {
			switch {
			case binary:
				s.SendBinary(data)
			case string(data) == "give binary":
				s.SendBinary([]byte{0, 1, 2, 3, 4})
			case string(data) == "give utf8":
				s.Send([]byte("пойду спать всем спокойной ночи"))
			case string(data) == "sendHeaders":
				s.Send(heard.of(s))
			default:
				s.Send(data)
			}
		})
		s.OnClose(func(string) { heard.forget(s.ID()) })
	})
	ls := loop.NewServer(loop.Config{
		Addr: addr,
		Handler: func(x eio.Exchange) {
			if strings.HasPrefix(x.Path(), "/engine.io/") {
				srv.Handle(x)
				return
			}
			x.Respond(http.StatusNotFound, nil, []byte("not found\n"))
		},
	})
	return ls.Serve()
}

// requestHeaders keeps the headers of each session's latest polling
// request, for "sendHeaders": the reference answers with the headers of the
// request that carried the command (engine.io's transport.dataReq), which
// an eio handler does not see. The suite only asks whether the client sent
// its cookies, and every request after the handshake carries the same.
type requestHeaders struct {
	mu   sync.Mutex
	last map[string]map[string]string
}

// record is the Config.Headers hook: it runs for every polling response.
func (rh *requestHeaders) record(_ http.Header, r *http.Request) {
	sid := r.URL.Query().Get("sid")
	if sid == "" {
		return
	}
	h := lowerKeys(r.Header)
	rh.mu.Lock()
	if rh.last == nil {
		rh.last = make(map[string]map[string]string)
	}
	rh.last[sid] = h
	rh.mu.Unlock()
}

// of returns, as JSON, the headers last recorded for s, or its
// handshake's when no later request has been answered yet.
func (rh *requestHeaders) of(s *eio.Session) []byte {
	rh.mu.Lock()
	h, ok := rh.last[s.ID()]
	rh.mu.Unlock()
	if !ok {
		h = lowerKeys(s.Request().Header)
	}
	b, _ := json.Marshal(h)
	return b
}

// lowerKeys is h as Node's req.headers: lower-case names, repeated fields
// joined.
func lowerKeys(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

func (rh *requestHeaders) forget(sid string) {
	rh.mu.Lock()
	delete(rh.last, sid)
	rh.mu.Unlock()
}
