package sio

import (
	"context"
	"encoding/json"
	"errors"
)

// RemoteSocket is a socket of any node of a cluster, as FetchSockets
// returns it (socket.io's RemoteSocket): its id, handshake, rooms and
// data, and the operations that reach it wherever it lives. A socket of
// this node is also reachable as *Socket through Local.
//
// A RemoteSocket is a snapshot: Rooms and Data are what they were when it
// was fetched.
type RemoteSocket struct {
	ID        string
	Handshake *Handshake
	Rooms     []string

	nsp   *Namespace
	local *Socket         // nil for another node's socket
	data  json.RawMessage // another node's socket.data, as JSON
}

// NewRemoteSocket makes the RemoteSocket of another node's socket, for
// cluster adapters decoding a fetchSockets answer. data is the socket's
// socket.data as JSON (nil or null: none).
func NewRemoteSocket(ns *Namespace, id string, hs *Handshake, rooms []string, data json.RawMessage) *RemoteSocket {
	return &RemoteSocket{ID: id, Handshake: hs, Rooms: rooms, nsp: ns, data: data}
}

// remote is the socket's RemoteSocket.
func (s *Socket) remote() *RemoteSocket {
	return &RemoteSocket{ID: s.id, Handshake: s.Handshake(), Rooms: s.Rooms(), nsp: s.nsp, local: s}
}

// Local returns the socket when it is connected to this node, else nil.
func (r *RemoteSocket) Local() *Socket { return r.local }

// Data returns the socket's data: the value given to SetData for a socket
// of this node, the JSON value decoded into any (maps, slices, float64,
// ...) for another node's.
func (r *RemoteSocket) Data() any {
	if r.local != nil {
		return r.local.Data()
	}
	var v any
	if len(r.data) > 0 {
		if err := json.Unmarshal(r.data, &v); err != nil {
			return nil
		}
	}
	return v
}

// DecodeData decodes the socket's data into the value v points to, as
// encoding/json would decode its JSON form.
func (r *RemoteSocket) DecodeData(v any) error {
	raw, err := r.DataJSON()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// DataJSON returns the socket's data as JSON, {} when it has none (as
// socket.data defaults to {} in socket.io): what a cluster adapter sends
// when it answers a fetchSockets request.
func (r *RemoteSocket) DataJSON() (json.RawMessage, error) {
	if r.local == nil {
		if len(r.data) == 0 || string(r.data) == "null" {
			return json.RawMessage(`{}`), nil
		}
		return r.data, nil
	}
	d := r.local.Data()
	if d == nil {
		return json.RawMessage(`{}`), nil
	}
	return json.Marshal(d)
}

// Emit sends an event to the socket, on whichever node it lives.
func (r *RemoteSocket) Emit(name string, args ...any) error {
	if r.local != nil {
		return r.local.Emit(name, args...)
	}
	return r.nsp.To(r.ID).Emit(name, args...)
}

// ErrNoAnswer is returned by RemoteSocket.EmitWithAck when the socket was
// not found by the time every node had answered.
var ErrNoAnswer = errors.New("sio: the socket did not answer")

// EmitWithAck sends an event to the socket and waits for its
// acknowledgement until ctx ends.
func (r *RemoteSocket) EmitWithAck(ctx context.Context, name string, args ...any) (Message, error) {
	if r.local != nil {
		return r.local.EmitWithAck(ctx, name, args...)
	}
	ms, err := r.nsp.To(r.ID).EmitWithAck(ctx, name, args...)
	if len(ms) > 0 {
		return ms[0], nil
	}
	if err == nil {
		err = ErrNoAnswer
	}
	return Message{}, err
}

// Join makes the socket join rooms, on whichever node it lives.
func (r *RemoteSocket) Join(ctx context.Context, rooms ...string) error {
	if r.local != nil {
		r.local.Join(rooms...)
		return nil
	}
	return r.nsp.In(r.ID).SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave rooms, on whichever node it lives.
func (r *RemoteSocket) Leave(ctx context.Context, rooms ...string) error {
	if r.local != nil {
		for _, room := range rooms {
			r.local.Leave(room)
		}
		return nil
	}
	return r.nsp.In(r.ID).SocketsLeave(ctx, rooms...)
}

// Disconnect disconnects the socket (closing its connection with
// closeConn), on whichever node it lives.
func (r *RemoteSocket) Disconnect(ctx context.Context, closeConn bool) error {
	if r.local != nil {
		r.local.Disconnect(closeConn)
		return nil
	}
	return r.nsp.In(r.ID).DisconnectSockets(ctx, closeConn)
}
