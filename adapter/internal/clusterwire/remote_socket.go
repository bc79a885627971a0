package clusterwire

import (
	"context"
	"encoding/json"

	"github.com/sioloop/sioloop/sio"
)

// RemoteSocket is one socket of a fetchSockets answer, {id, handshake,
// rooms, data}, as every socket.io node writes it (@socket.io/redis-adapter
// lib/index.ts, socket.io-adapter lib/cluster-adapter.ts). R is the type
// that decodes its rooms: the adapters differ in what a null list becomes,
// and each keeps its own.
type RemoteSocket[R ~[]string] struct {
	ID        string         `json:"id"`
	Handshake *sio.Handshake `json:"handshake"`
	// Rooms may hold numbers: a Node socket that joined io.to(123)'s room.
	Rooms R               `json:"rooms"`
	Data  json.RawMessage `json:"data"`
}

// AppendRemoteSockets appends the sockets of an answer's list to dst,
// skipping any that does not decode or has no id (a node's answer is
// never trusted to be well formed). A missing handshake becomes an empty
// one, so that callers can read it without checking.
func AppendRemoteSockets[R ~[]string](dst []*sio.RemoteSocket, ns *sio.Namespace, raws []json.RawMessage) []*sio.RemoteSocket {
	for _, raw := range raws {
		var s RemoteSocket[R]
		if json.Unmarshal(raw, &s) != nil || s.ID == "" {
			continue
		}
		hs := s.Handshake
		if hs == nil {
			hs = &sio.Handshake{}
		}
		dst = append(dst, sio.NewRemoteSocket(ns, s.ID, hs, []string(s.Rooms), s.Data))
	}
	return dst
}

// LocalSockets lists the sockets of this node that rooms and except
// select, as a fetchSockets answer carries them. A socket whose data does
// not encode as JSON fails the whole answer: socket.io never answers then
// (socket.io#4484) and the requester times out, so the caller says why and
// sends nothing.
func LocalSockets[R ~[]string](ma *sio.MemoryAdapter, rooms, except []string) ([]RemoteSocket[R], error) {
	local, _ := ma.FetchSockets(context.Background(), &sio.BroadcastOptions{Rooms: rooms, Except: except, Local: true})
	out := make([]RemoteSocket[R], 0, len(local))
	for _, s := range local {
		data, err := s.DataJSON()
		if err != nil {
			return nil, err
		}
		out = append(out, RemoteSocket[R]{ID: s.ID, Handshake: s.Handshake, Rooms: R(s.Rooms), Data: data})
	}
	return out, nil
}
