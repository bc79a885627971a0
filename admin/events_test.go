package admin_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/admin"
	"github.com/sioloop/sioloop/sio"
)

// chatServer is the application the UI watches: "join" joins a room,
// "hello" is answered with an emit, "data" sets the socket's data.
func chatServer(srv *sio.Server) {
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(ev *sio.Event) {
			var room string
			_ = ev.Decode(&room)
			s.Join(room)
			_ = ev.Ack("joined")
		})
		s.On("hello", func(ev *sio.Event) { _ = s.Emit("reply", "hi", 7) })
		s.On("shout", func(ev *sio.Event) {
			_ = srv.To("lobby").Emit("news", "shout", []byte{1, 2})
			_ = ev.Ack()
		})
		s.On("upload", func(ev *sio.Event) {
			_ = s.Emit("stored", map[string]any{"copy": []byte{4, 5}})
			_ = ev.Ack()
		})
		s.On("data", func(ev *sio.Event) {
			s.SetData(map[string]any{"user": "ada"})
			_ = ev.Ack()
		})
	})
}

// TestDevelopmentEvents: a regular socket's connection, room, events,
// data and disconnection reach the UI with admin-ui's names, arguments
// and order.
func TestDevelopmentEvents(t *testing.T) {
	_, _, base := startServer(t, sio.Config{}, admin.Options{NoAuth: true}, chatServer)
	ui := mustDial(t, base, "/admin", nil, "websocket")
	ui.next("all_sockets", nil)

	user := mustDial(t, base, "/", nil) // polling, upgraded to websocket
	id := user.s.ID()
	// Its own room first, then the socket (admin-ui's order).
	joined := ui.next("room_joined", func(a []json.RawMessage) bool { return isString(a, 2, id) })
	if !isString(joined.args, 0, "/") || !isString(joined.args, 1, id) || isISOTime(joined.args[3]) != nil {
		t.Errorf("room_joined %s", joined.args)
	}
	ev := ui.next("socket_connected", func(a []json.RawMessage) bool { return strings.Contains(string(a[0]), id) })
	if len(ev.args) != 2 || isISOTime(ev.args[1]) != nil {
		t.Fatalf("socket_connected args %s", ev.args)
	}
	if got := keys(t, ev.args[0]); got != "clientId,data,handshake,id,nsp,rooms,transport" {
		t.Errorf("socket keys %s", got)
	}
	var sock struct {
		ID, ClientID, Transport, Nsp string
		Data                         map[string]any
		Handshake                    json.RawMessage
		Rooms                        []string
	}
	if err := json.Unmarshal(ev.args[0], &sock); err != nil {
		t.Fatal(err)
	}
	if sock.ID != id || len(sock.ClientID) != 12 || (sock.Transport != "polling" && sock.Transport != "websocket") || sock.Nsp != "/" ||
		len(sock.Data) != 0 || !slices.Equal(sock.Rooms, []string{id}) {
		t.Errorf("socket %s", ev.args[0])
	}
	if got := keys(t, sock.Handshake); got != "address,headers,issued,query,secure,time,url,xdomain" {
		t.Errorf("handshake keys %s (auth must not be sent)", got)
	}
	if !strings.Contains(string(sock.Handshake), `"address":"127.0.0.1"`) {
		t.Errorf("handshake %s", sock.Handshake)
	}
	t.Logf("connected over %s", sock.Transport)
	if sock.Transport == "polling" { // the upgrade follows
		upd := ui.next("socket_updated", func(a []json.RawMessage) bool { return strings.Contains(string(a[0]), "transport") })
		if string(upd.args[0]) != `{"id":"`+id+`","nsp":"/","transport":"websocket"}` {
			t.Errorf("socket_updated %s", upd.args[0])
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := user.s.EmitWithAck(ctx, "join", "lobby"); err != nil {
		t.Fatal(err)
	}
	recv := ui.next("event_received", nil)
	if !isString(recv.args, 0, "/") || !isString(recv.args, 1, id) || string(recv.args[2]) != `["join","lobby"]` {
		t.Errorf("event_received %s", recv.args)
	}
	joined = ui.next("room_joined", func(a []json.RawMessage) bool { return isString(a, 1, "lobby") })
	if !isString(joined.args, 2, id) {
		t.Errorf("room_joined %s", joined.args)
	}
	if err := user.s.Emit("hello"); err != nil {
		t.Fatal(err)
	}
	sent := ui.next("event_sent", nil)
	if !isString(sent.args, 1, id) || string(sent.args[2]) != `["reply","hi",7]` || isISOTime(sent.args[3]) != nil {
		t.Errorf("event_sent %s", sent.args)
	}
	// A broadcast: one event_sent per recipient, the binary argument
	// sent as binary.
	if _, err := user.s.EmitWithAck(ctx, "shout"); err != nil {
		t.Fatal(err)
	}
	news := ui.next("event_sent", func(a []json.RawMessage) bool { return strings.Contains(string(a[2]), "news") })
	if !isString(news.args, 1, id) || !strings.HasPrefix(string(news.args[2]), `["news","shout",`) {
		t.Errorf("event_sent of a broadcast %s", news.args)
	}
	// Binary attachments nested in an argument reach the UI as
	// attachments of its event, both ways.
	if _, err := user.s.EmitWithAck(ctx, "upload", map[string]any{"file": []byte{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	up := ui.next("event_received", func(a []json.RawMessage) bool { return strings.Contains(string(a[2]), "upload") })
	if string(up.args[2]) != `["upload",{"file":{"_placeholder":true,"num":0}}]` || len(up.atts) != 1 || string(up.atts[0]) != "\x01\x02\x03" {
		t.Errorf("event_received %s with attachments %v", up.args, up.atts)
	}
	st := ui.next("event_sent", func(a []json.RawMessage) bool { return strings.Contains(string(a[2]), "stored") })
	if string(st.args[2]) != `["stored",{"copy":{"_placeholder":true,"num":0}}]` || len(st.atts) != 1 || string(st.atts[0]) != "\x04\x05" {
		t.Errorf("event_sent %s with attachments %v", st.args, st.atts)
	}
	if _, err := user.s.EmitWithAck(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	upd := ui.next("socket_updated", func(a []json.RawMessage) bool { return strings.Contains(string(a[0]), "data") })
	if string(upd.args[0]) != `{"data":{"user":"ada"},"id":"`+id+`","nsp":"/"}` {
		t.Errorf("socket_updated %s", upd.args[0])
	}

	// A UI connecting now lists the socket with its room and data.
	late := mustDial(t, base, "/admin", nil, "websocket")
	all := late.next("all_sockets", nil)
	var socks []struct {
		ID    string
		Rooms []string
		Data  map[string]any
	}
	if err := json.Unmarshal(all.args[0], &socks); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range socks {
		if s.ID == id {
			found = true
			slices.Sort(s.Rooms)
			want := []string{id, "lobby"}
			slices.Sort(want)
			if !slices.Equal(s.Rooms, want) || s.Data["user"] != "ada" {
				t.Errorf("all_sockets lists %+v", s)
			}
		}
	}
	if !found {
		t.Errorf("all_sockets %s lacks %s", all.args[0], id)
	}

	// The disconnection, then the rooms it left (admin-ui sends those on
	// the next tick).
	user.s.Disconnect()
	gone := ui.next("socket_disconnected", func(a []json.RawMessage) bool { return isString(a, 1, id) })
	if !isString(gone.args, 0, "/") || !isString(gone.args, 2, "client namespace disconnect") || isISOTime(gone.args[3]) != nil {
		t.Errorf("socket_disconnected %s", gone.args)
	}
	left := map[string]bool{}
	for len(left) < 2 {
		ev := ui.next("room_left", func(a []json.RawMessage) bool { return isString(a, 2, id) })
		left[str(t, ev.args[1])] = true
	}
	if !left[id] || !left["lobby"] {
		t.Errorf("room_left for %v", left)
	}
}

// TestProduction: no socket details, only statistics.
func TestProduction(t *testing.T) {
	_, _, base := startServer(t, sio.Config{}, admin.Options{NoAuth: true, Mode: admin.Production}, chatServer)
	ui := mustDial(t, base, "/admin", nil, "websocket")
	want := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"}
	if got := features(t, ui.next("config", nil)); !slices.Equal(got, want) {
		t.Errorf("supportedFeatures %v, want %v", got, want)
	}
	user := mustDial(t, base, "/", nil, "websocket")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := user.s.EmitWithAck(ctx, "join", "lobby"); err != nil {
		t.Fatal(err)
	}
	// A server_stats that counts the socket was computed after it joined.
	ui.next("server_stats", func(a []json.RawMessage) bool {
		return strings.Contains(string(a[0]), `{"name":"/","socketsCount":1}`)
	})
	for _, name := range ui.names() {
		if name != "config" && name != "server_stats" {
			t.Errorf("production mode sent %s (all: %v)", name, ui.names())
		}
	}
}

// TestReadonly: no action is announced, and none acts.
func TestReadonly(t *testing.T) {
	srv, in, base := startServer(t, sio.Config{}, admin.Options{NoAuth: true, Readonly: true}, chatServer)
	// An answer to "probe" proves the admin socket's earlier events were
	// handled (one socket's handlers run in order).
	in.Namespace().OnConnection(func(s *sio.Socket) {
		s.On("probe", func(ev *sio.Event) { _ = ev.Ack() })
	})
	ui := mustDial(t, base, "/admin", nil, "websocket")
	want := []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}
	if got := features(t, ui.next("config", nil)); !slices.Equal(got, want) {
		t.Errorf("supportedFeatures %v, want %v", got, want)
	}
	user := mustDial(t, base, "/", nil, "websocket")
	id := user.s.ID()
	_ = ui.s.Emit("_disconnect", "/", true, id)
	_ = ui.s.Emit("_disconnect", "/", false)
	_ = ui.s.Emit("join", "/", "vip", id)
	_ = ui.s.Emit("emit", "/", id, "greet", "x")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := ui.s.EmitWithAck(ctx, "probe"); err != nil {
		t.Fatal(err)
	}
	s := srv.Of("/").Socket(id)
	if s == nil || !s.Connected() || slices.Contains(s.Rooms(), "vip") {
		t.Fatalf("a readonly UI acted on socket %s: %v", id, s)
	}
	if slices.Contains(user.names(), "greet") {
		t.Error("a readonly UI emitted")
	}
}

// TestDynamicNamespace: the sockets of a dynamic namespace, created after
// Instrument by its first socket, are followed too.
func TestDynamicNamespace(t *testing.T) {
	_, _, base := startServer(t, sio.Config{}, admin.Options{NoAuth: true}, func(srv *sio.Server) {
		srv.OfRegexp(regexp.MustCompile(`^/team-\d+$`)).OnConnection(func(s *sio.Socket) {
			s.On("join", func(ev *sio.Event) {
				var room string
				_ = ev.Decode(&room)
				s.Join(room)
				_ = ev.Ack()
			})
		})
	})
	ui := mustDial(t, base, "/admin", nil, "websocket")
	ui.next("all_sockets", nil)
	user := mustDial(t, base, "/team-7", nil, "websocket")
	id := user.s.ID()
	ev := ui.next("socket_connected", func(a []json.RawMessage) bool { return strings.Contains(string(a[0]), id) })
	if !strings.Contains(string(ev.args[0]), `"nsp":"/team-7"`) {
		t.Errorf("socket_connected %s", ev.args[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := user.s.EmitWithAck(ctx, "join", "red"); err != nil {
		t.Fatal(err)
	}
	ui.next("room_joined", func(a []json.RawMessage) bool {
		return isString(a, 0, "/team-7") && isString(a, 1, "red") && isString(a, 2, id)
	})
	ui.next("server_stats", func(a []json.RawMessage) bool {
		return strings.Contains(string(a[0]), `{"name":"/team-7","socketsCount":1}`)
	})
}
