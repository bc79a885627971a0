package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"time"
	"weak"

	"github.com/sioloop/sioloop/sio"
)

// trackInfo is what is kept for a followed socket: the room_left
// notifications of its disconnection, sent after its socket_disconnected
// as admin-ui sends them (on the next tick).
type trackInfo struct {
	pending []notice
}

// listening reports whether a notification would reach anyone: no admin
// socket, nothing to build.
func (in *Instrumentation) listening() bool {
	return !in.closed.Load() && in.admins.Load() > 0
}

// timestamp is new Date() as JSON encodes it (toISOString).
func timestamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// observeSockets follows every namespace, those to come included, as
// admin-ui's registerVerboseListeners does in development mode.
func (in *Instrumentation) observeSockets() {
	in.srv.OnNewNamespace(in.watch)
	in.srv.OnAnyConnection(in.onSocket)
	in.srv.OnSetData(in.onSetData)
	in.srv.OnBroadcast(in.onBroadcast)
	for _, ns := range in.srv.Namespaces() {
		in.watch(ns)
	}
}

// watch registers the room hooks of ns, once: room_joined and room_left.
func (in *Instrumentation) watch(ns *sio.Namespace) {
	key := weak.Make(ns)
	in.mu.Lock()
	if in.watched[key] {
		in.mu.Unlock()
		return
	}
	in.watched[key] = true
	in.mu.Unlock()
	runtime.AddCleanup(ns, func(k weak.Pointer[sio.Namespace]) {
		in.mu.Lock()
		delete(in.watched, k)
		in.mu.Unlock()
	}, key)
	name := ns.Name()
	ns.OnJoinRoom(func(room, id string) {
		if in.listening() {
			in.out.push("room_joined", name, room, id, timestamp())
		}
	})
	ns.OnLeaveRoom(func(room, id string) {
		if !in.listening() {
			return
		}
		n := notice{"room_left", []any{name, room, id, timestamp()}}
		if s := ns.Socket(id); s != nil && !s.Connected() {
			// Its disconnection: after socket_disconnected.
			in.mu.Lock()
			if ti := in.tracked[s]; ti != nil {
				ti.pending = append(ti.pending, n)
				in.mu.Unlock()
				return
			}
			in.mu.Unlock()
		}
		in.out.push(n.name, n.args...)
	})
}

// onSocket follows a socket that connected to any namespace.
func (in *Instrumentation) onSocket(s *sio.Socket) {
	if in.closed.Load() {
		return
	}
	ns := s.Namespace()
	in.watch(ns) // a dynamic namespace's first socket
	name, id := ns.Name(), s.ID()
	in.mu.Lock()
	in.tracked[s] = &trackInfo{}
	in.mu.Unlock()
	if in.listening() {
		in.out.push("socket_connected", in.serialize(s), timestamp())
	}
	s.Conn().OnUpgrade(func(transport string) {
		if in.listening() {
			in.out.push("socket_updated", map[string]any{"id": id, "nsp": name, "transport": transport})
		}
	})
	if ns != in.nsp {
		s.OnAny(func(ev *sio.Event) {
			if !in.listening() {
				return
			}
			args := append([]any{ev.Name}, messageArgs(&ev.Message, 0)...)
			in.out.push("event_received", name, id, args, timestamp())
		})
		s.OnAnyOutgoing(func(event string, eargs []any) {
			if !in.listening() {
				return
			}
			// Encoded now, as it is sent: the caller may change its
			// values once Emit returns.
			p, err := sio.NewPacket(event, eargs...)
			if err != nil {
				return
			}
			m, err := p.Message(true)
			if err != nil {
				return
			}
			args := append([]any{event}, messageArgs(&m, 0)...)
			in.out.push("event_sent", name, id, args, timestamp())
		})
	}
	s.OnDisconnect(func(reason string) {
		in.mu.Lock()
		ti := in.tracked[s]
		delete(in.tracked, s)
		in.mu.Unlock()
		if !in.listening() {
			return
		}
		in.out.push("socket_disconnected", name, id, reason, timestamp())
		if ti != nil {
			for _, n := range ti.pending {
				in.out.push(n.name, n.args...)
			}
		}
	})
}

// onBroadcast tells the UI of an event broadcast to followed sockets of
// this node, one event_sent per recipient, as socket.io's adapter calls
// each recipient's onAnyOutgoing listeners.
func (in *Instrumentation) onBroadcast(a *sio.MemoryAdapter, p *sio.Packet, opts *sio.BroadcastOptions) {
	ns := a.Namespace()
	if ns == in.nsp || !in.listening() {
		return
	}
	m, err := p.Message(false)
	if err != nil || m.Len() == 0 {
		return
	}
	var name string
	if json.Unmarshal(m.Arg(0), &name) != nil {
		return
	}
	args := append([]any{name}, messageArgs(&m, 1)...)
	nsp, ts := ns.Name(), timestamp()
	for _, s := range a.LocalSockets(opts) {
		in.mu.Lock()
		_, followed := in.tracked[s]
		in.mu.Unlock()
		if followed {
			in.out.push("event_sent", nsp, s.ID(), args, ts)
		}
	}
}

// onSetData tells the UI a followed socket's new data (socket_updated).
func (in *Instrumentation) onSetData(s *sio.Socket) {
	if !in.listening() || !s.Connected() {
		return
	}
	in.mu.Lock()
	_, ok := in.tracked[s]
	in.mu.Unlock()
	if ok {
		in.out.push("socket_updated", map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "data": dataJSON(s.Data())})
	}
}

// messageArgs returns m's arguments from the from-th on, to be emitted
// again, detached from m's buffers: raw JSON, or, for an argument holding
// binary attachments (at any depth), its value with the attachments as
// []byte, which Emit sends as attachments again. (The placeholders cannot
// be passed on as JSON: the UI's parser would look for the attachments
// they name in the new packet.)
func messageArgs(m *sio.Message, from int) []any {
	out := make([]any, 0, max(m.Len()-from, 0))
	for i := from; i < m.Len(); i++ {
		raw := m.Arg(i)
		if len(m.Attachments()) > 0 && bytes.Contains(raw, []byte(`"_placeholder"`)) {
			ptrs := make([]any, i+1)
			var v any
			ptrs[i] = &v
			if m.Decode(ptrs...) == nil {
				out = append(out, cloneBytes(v))
				continue
			}
		}
		out = append(out, append(json.RawMessage(nil), raw...))
	}
	return out
}

// cloneBytes copies the []byte values of a decoded value.
func cloneBytes(v any) any {
	switch v := v.(type) {
	case []byte:
		return append([]byte(nil), v...)
	case []any:
		for i := range v {
			v[i] = cloneBytes(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = cloneBytes(v[k])
		}
	}
	return v
}

// serializedSocket is admin-ui's SerializedSocket. clientId and transport
// are unknown for another node's socket.
type serializedSocket struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId,omitempty"`
	Transport string          `json:"transport,omitempty"`
	Nsp       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"`
	Handshake json.RawMessage `json:"handshake"`
	Rooms     []string        `json:"rooms"`
}

// serialize is a local socket as the UI reads it.
func (in *Instrumentation) serialize(s *sio.Socket) serializedSocket {
	cid := s.Conn().ID()
	if len(cid) > 12 {
		cid = cid[:12]
	}
	rooms := s.Rooms()
	if rooms == nil {
		rooms = []string{}
	}
	return serializedSocket{
		ID: s.ID(), ClientID: cid, Transport: s.Conn().Transport(), Nsp: s.Namespace().Name(),
		Data: dataJSON(s.Data()), Handshake: handshakeJSON(s.Handshake()), Rooms: rooms,
	}
}

// dataJSON is socket.data as JSON, {} when unset or not encodable.
func dataJSON(v any) json.RawMessage {
	if v == nil {
		return json.RawMessage(`{}`)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// handshakeJSON is the handshake admin-ui shows: socket.io's form without
// auth (which may hold a password), the address taken from
// cf-connecting-ip or x-forwarded-for when the request has them.
func handshakeJSON(h *sio.Handshake) json.RawMessage {
	if h == nil {
		return json.RawMessage(`{}`)
	}
	b, err := h.MarshalJSON()
	if err != nil {
		return json.RawMessage(`{}`)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return json.RawMessage(`{}`)
	}
	delete(m, "auth")
	addr := h.Address
	for _, k := range []string{"Cf-Connecting-Ip", "X-Forwarded-For"} {
		if vs := h.Headers.Values(k); len(vs) > 0 && strings.Join(vs, ", ") != "" {
			addr = strings.Join(vs, ", ")
			break
		}
	}
	m["address"], _ = json.Marshal(addr)
	out, err := json.Marshal(m)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return out
}

// allSockets lists the sockets of every namespace, across the cluster
// (fetchSockets), for all_sockets.
func (in *Instrumentation) allSockets(ctx context.Context) []serializedSocket {
	out := []serializedSocket{}
	for _, ns := range in.srv.Namespaces() {
		socks, err := ns.FetchSockets(ctx)
		if err != nil {
			continue
		}
		for _, r := range socks {
			if s := r.Local(); s != nil {
				out = append(out, in.serialize(s))
				continue
			}
			data, err := r.DataJSON()
			if err != nil {
				data = json.RawMessage(`{}`)
			}
			rooms := r.Rooms
			if rooms == nil {
				rooms = []string{}
			}
			out = append(out, serializedSocket{ID: r.ID, Nsp: ns.Name(), Data: data,
				Handshake: handshakeJSON(r.Handshake), Rooms: rooms})
		}
	}
	return out
}
