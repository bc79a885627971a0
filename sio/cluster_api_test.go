package sio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The handshake's JSON is socket.io's: what JavaScript code reads from
// socket.handshake, and what a Node node of a cluster sends for its
// sockets (the handshake of a RemoteSocket in a fetchSockets answer, as
// @socket.io/redis-adapter lib/index.ts sends it).
func TestHandshakeJSONShape(t *testing.T) {
	hs := &Handshake{
		Headers: http.Header{"Host": {"127.0.0.1:3000"}, "Accept": {"a", "b"}, "Cookie": {"x=1", "y=2"}, "Set-Cookie": {"s=1"}},
		Time:    time.Date(2026, 12, 1, 19, 35, 10, 291e6, time.UTC),
		Address: "127.0.0.1",
		Issued:  1796153710291,
		URL:     "/socket.io/?EIO=4&transport=websocket&k=1&k=2",
		Query:   url.Values{"EIO": {"4"}, "transport": {"websocket"}, "k": {"1", "2"}},
	}
	b, err := json.Marshal(hs)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"headers": map[string]any{"host": "127.0.0.1:3000", "accept": "a, b", "cookie": "x=1; y=2", "set-cookie": []any{"s=1"}},
		"time":    "Tue Dec 01 2026 19:35:10 GMT+0000 (Coordinated Universal Time)",
		"address": "127.0.0.1", "xdomain": false, "secure": false, "issued": float64(1796153710291),
		"url":   "/socket.io/?EIO=4&transport=websocket&k=1&k=2",
		"query": map[string]any{"EIO": "4", "transport": "websocket", "k": "2"},
		"auth":  map[string]any{},
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("handshake JSON\n got %s\nwant %s", gotJSON, wantJSON)
	}

	// A Node node's handshake, as in its fetchSockets answers, decodes.
	node := `{"headers":{"host":"127.0.0.1:13102","connection":"Upgrade","set-cookie":["a=1","b=2"]},
		"time":"Tue Dec 01 2026 19:35:10 GMT+0000 (Coordinated Universal Time)","address":"127.0.0.1",
		"xdomain":false,"secure":true,"issued":1796153710291,"url":"/socket.io/?EIO=4&transport=websocket",
		"query":{"EIO":"4","transport":"websocket"},"auth":{"token":"t"}}`
	var back Handshake
	if err := json.Unmarshal([]byte(node), &back); err != nil {
		t.Fatal(err)
	}
	if back.Headers.Get("Host") != "127.0.0.1:13102" || len(back.Headers.Values("Set-Cookie")) != 2 ||
		!back.Secure || back.Issued != 1796153710291 || !back.Time.Equal(time.UnixMilli(1796153710291)) ||
		back.Query.Get("transport") != "websocket" || string(back.Auth) != `{"token":"t"}` {
		t.Fatalf("decoded %+v", back)
	}
}

// FetchSockets on the in-memory adapter returns this node's sockets as
// RemoteSockets that lead back to the *Socket, with rooms, handshake and
// data; a socket without data reports {} as socket.io's default.
func TestFetchSocketsLocal(t *testing.T) {
	srv := NewServer(Config{Loops: 1})
	srv.OnConnection(func(s *Socket) {
		s.Join("r")
		if len(srv.root.Sockets()) == 1 {
			s.SetData(map[string]string{"user": "ann"})
		}
	})
	connectFake(t, srv, 0)
	waitSockets(t, srv.root, 1)
	connectFake(t, srv, 0)
	waitSockets(t, srv.root, 2)
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.To("r").LocalSockets()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("sockets did not join r")
		}
		time.Sleep(time.Millisecond)
	}
	rs, err := srv.In("r").FetchSockets(context.Background())
	if err != nil || len(rs) != 2 {
		t.Fatalf("FetchSockets: %d, %v", len(rs), err)
	}
	datas := map[string]bool{}
	for _, r := range rs {
		if r.Local() == nil || r.Local().ID() != r.ID {
			t.Fatalf("Local() of %s: %v", r.ID, r.Local())
		}
		if strings.Join(r.Rooms, ",") != r.ID+",r" {
			t.Fatalf("rooms %v", r.Rooms)
		}
		if r.Handshake == nil || r.Handshake.URL == "" {
			t.Fatalf("handshake %+v", r.Handshake)
		}
		d, err := r.DataJSON()
		if err != nil {
			t.Fatal(err)
		}
		datas[string(d)] = true
	}
	if !datas[`{"user":"ann"}`] || !datas[`{}`] {
		t.Fatalf("data %v", datas)
	}
	var user struct{ User string }
	for _, r := range rs {
		if r.Local().Data() != nil {
			if err := r.DecodeData(&user); err != nil || user.User != "ann" {
				t.Fatalf("DecodeData: %+v %v", user, err)
			}
		}
	}
	// A remote one's data is its JSON.
	remote := NewRemoteSocket(srv.root, "x", &Handshake{}, []string{"x"}, json.RawMessage(`{"n":1}`))
	if m, ok := remote.Data().(map[string]any); !ok || m["n"] != float64(1) || remote.Local() != nil {
		t.Fatalf("remote data %v", remote.Data())
	}
}

// Without a cluster there is no other server to emit to, as in socket.io.
func TestServerSideEmitWithoutCluster(t *testing.T) {
	srv := NewServer(Config{Loops: 1})
	if err := srv.ServerSideEmit(context.Background(), "hello"); !errors.Is(err, ErrNoCluster) {
		t.Fatalf("ServerSideEmit: %v", err)
	}
	if _, err := srv.ServerSideEmitWithAck(context.Background(), "hello"); !errors.Is(err, ErrNoCluster) {
		t.Fatalf("ServerSideEmitWithAck: %v", err)
	}
	if err := srv.ServerSideEmit(context.Background(), "disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("reserved name: %v", err)
	}
	if n, err := srv.root.ServerCount(context.Background()); n != 1 || err != nil {
		t.Fatalf("ServerCount: %d %v", n, err)
	}
}

// HandleServerSideEmit, what a cluster adapter calls for another node's
// server-side emit, runs the handlers for its name with the arguments and
// sends their answer once; a panicking handler is contained.
func TestHandleServerSideEmit(t *testing.T) {
	srv := NewServer(Config{Loops: 1})
	got := make(chan string, 4)
	srv.OnServerSideEmit("boom", func(*ServerSideEvent) { panic("handler bug") })
	srv.OnServerSideEmit("hello", func(e *ServerSideEvent) {
		var who string
		if err := e.Decode(&who); err != nil {
			t.Error(err)
		}
		got <- "hello " + who
		if err := e.Ack("hi " + who); err != nil {
			t.Error(err)
		}
		if err := e.Ack("twice"); !errors.Is(err, ErrAlreadyAcked) {
			t.Errorf("second Ack: %v", err)
		}
	})
	answers := make(chan string, 4)
	srv.root.HandleServerSideEmit(&Packet{Data: []byte(`["boom"]`)}, nil)
	srv.root.HandleServerSideEmit(&Packet{Data: []byte(`["hello","B"]`)}, func(p *Packet) { answers <- string(p.Data) })
	srv.root.HandleServerSideEmit(&Packet{Data: []byte(`["nobody"]`)}, func(p *Packet) { answers <- "unexpected" })
	select {
	case g := <-got:
		if g != "hello B" {
			t.Fatalf("handler got %q", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler not run")
	}
	select {
	case a := <-answers:
		if a != `["hi B"]` {
			t.Fatalf("answer %s", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
}
