package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// newSIOServer builds the suite's server: a 2 s ping interval, connection
// state recovery on, and every handshake delayed 10 ms in AllowRequest so
// that the client's connection timeout can be tested.
func newSIOServer(logger *slog.Logger) *sio.Server {
	srv := sio.NewServer(sio.Config{
		PingInterval:            2 * time.Second,
		ConnectionStateRecovery: &sio.RecoveryConfig{},
		AllowRequest: func(*http.Request) error {
			time.Sleep(10 * time.Millisecond)
			return nil
		},
		Logger: logger,
	})

	srv.Of("/foo").OnConnection(func(s *sio.Socket) {
		s.On("getId", func(e *sio.Event) { e.Ack(s.ID()) })
	})
	for _, name := range []string{"/timeout_socket", "/valid", "/asd"} {
		srv.Of(name).OnConnection(func(*sio.Socket) {})
	}
	srv.Of("/abc").OnConnection(func(s *sio.Socket) { s.Emit("handshake", s.Handshake()) })

	srv.Use(func(s *sio.Socket) error {
		if s.Handshake().Query.Has("fail") {
			return errors.New("Auth failed (main namespace)")
		}
		return nil
	})
	srv.Of("/no").Use(func(*sio.Socket) error { return errors.New("Auth failed (custom namespace)") })

	srv.OnConnection(onConnection)
	return srv
}

// onConnection registers the main namespace's handlers.
func onConnection(s *sio.Socket) {
	s.On("hi", func(*sio.Event) { s.Emit("hi") })
	s.On("echo", func(e *sio.Event) { e.Ack(e.Arg(0)) })
	s.On("ack", func(*sio.Event) {
		s.EmitWithAckFunc("ack", func(m sio.Message, err error) {
			var a int
			var b struct{ Test bool }
			if err == nil && m.Decode(&a, &b) == nil && a == 5 && b.Test {
				s.Emit("got it")
			}
		})
	})
	s.On("getAckDate", func(e *sio.Event) { e.Ack(time.Now()) })
	s.On("getDate", func(*sio.Event) { s.Emit("takeDate", time.Now()) })
	s.On("getDateObj", func(*sio.Event) { s.Emit("takeDateObj", map[string]any{"date": time.Now()}) })
	s.On("getUtf8", func(*sio.Event) {
		for _, text := range []string{"てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string", "utf8 — string"} {
			s.Emit("takeUtf8", text)
		}
	})
	s.On("false", func(*sio.Event) { s.Emit("false", false) })
	s.On("doge", func(*sio.Event) { s.Emit("doge", []byte("asdfasdf")) })
	s.On("buffa", func(e *sio.Event) {
		if _, ok := e.Binary(0); ok {
			s.Emit("buffack")
		}
	})
	s.On("jsonbuff", func(e *sio.Event) {
		if mixed(e) {
			s.Emit("jsonbuff-ack")
		}
	})

	// Buffers and blobs must arrive in the order they were sent.
	var abuff1, blob1, blob2 bool
	s.On("abuff1", func(e *sio.Event) { _, abuff1 = e.Binary(0) })
	s.On("abuff2", func(*sio.Event) {
		if abuff1 {
			s.Emit("abuff2-ack")
		}
	})
	s.On("blob", func(e *sio.Event) {
		if _, ok := e.Binary(0); ok {
			s.Emit("back")
		}
	})
	s.On("jsonblob", func(e *sio.Event) {
		if mixed(e) {
			s.Emit("jsonblob-ack")
		}
	})
	s.On("blob1", func(e *sio.Event) { _, blob1 = e.Binary(0) })
	s.On("blob2", func(e *sio.Event) {
		var text string
		blob2 = blob1 && e.Decode(&text) == nil && text == "second"
	})
	s.On("blob3", func(e *sio.Event) {
		if _, ok := e.Binary(0); ok && blob1 && blob2 {
			s.Emit("blob3-ack")
		}
	})

	s.On("getbin", func(*sio.Event) { s.Emit("takebin", []byte("asdfasdf")) })
	s.On("getHandshake", func(e *sio.Event) { e.Ack(s.Handshake()) })
	s.On("getId", func(e *sio.Event) { e.Ack(s.ID()) })
}

// mixed reports whether an event's argument is the suite's object of
// JSON and binary: {hello: "lol", message: <binary>, goodbye: "gotcha"}.
func mixed(e *sio.Event) bool {
	var v struct {
		Hello   string `json:"hello"`
		Message []byte `json:"message"`
		Goodbye string `json:"goodbye"`
	}
	return e.Decode(&v) == nil && v.Hello == "lol" && v.Message != nil && v.Goodbye == "gotcha"
}
