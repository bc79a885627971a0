package main

import (
	"log"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// runSIO serves the Socket.IO v5 suite's fixture.
func runSIO(addr string) error {
	srv := sio.NewServer(sio.Config{
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		ConnectTimeout:    1000 * time.Millisecond,
		MaxHTTPBufferSize: 1e6,
		CORS:              &sio.CORS{Origins: []string{"*"}},
	})
	onConnect := func(s *sio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message", func(ev *sio.Event) {
			_ = s.Emit("message-back", echoArgs(ev)...)
		})
		s.On("message-with-ack", func(ev *sio.Event) {
			_ = ev.Ack(echoArgs(ev)...)
		})
	}
	srv.OnConnection(onConnect)
	srv.Of("/custom").OnConnection(onConnect)
	log.Printf("socket.io conformance server on http://%s/socket.io/", addr)
	return srv.ListenAndServe(addr, nil)
}

// echoArgs returns the event's arguments unchanged: raw JSON, with binary
// attachments as []byte so they travel back as attachments.
func echoArgs(ev *sio.Event) []any {
	out := make([]any, ev.Len())
	for i := range out {
		if b, ok := ev.Binary(i); ok {
			out[i] = b
		} else {
			out[i] = ev.Arg(i)
		}
	}
	return out
}
