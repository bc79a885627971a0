package redis

import (
	"encoding/json"
	"sync"

	"github.com/sioloop/sioloop/sio"
)

// pending is a request waiting for other nodes' answers: fetchSockets,
// allRooms or a server-side emit with acks. It is done once it counted
// as many answers as there are subscribers of the request channel
// (NUMSUB), this node's own result counting as the first for fetchSockets
// and allRooms, as socket.io's classic adapter counts.
type pending struct {
	typ  int
	want int

	mu      sync.Mutex
	got     int
	sockets []*sio.RemoteSocket
	rooms   map[string]struct{}
	answers []sio.Message
	done    chan struct{}
	closed  bool
}

func newPending(typ, want, got int) *pending {
	return &pending{typ: typ, want: want, got: got, done: make(chan struct{})}
}

// add counts one answer, taking what it carries, and reports whether the
// request is complete.
func (p *pending) add(a *adapter, res *response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.got++
	switch p.typ {
	case reqRemoteFetch:
		for _, raw := range res.Sockets {
			var s remoteSocketJSON
			if json.Unmarshal(raw, &s) != nil || s.ID == "" {
				continue
			}
			hs := s.Handshake
			if hs == nil {
				hs = &sio.Handshake{}
			}
			p.sockets = append(p.sockets, sio.NewRemoteSocket(a.ns, s.ID, hs, s.Rooms, s.Data))
		}
	case reqAllRooms:
		for _, r := range res.Rooms {
			p.rooms[r] = struct{}{}
		}
	case reqServerSideEmit:
		data := res.Data
		if len(data) == 0 {
			data = json.RawMessage("null")
		}
		pk := &sio.Packet{Data: append(append([]byte{'['}, data...), ']'), Attachments: res.atts}
		if m, err := pk.Message(false); err == nil {
			p.answers = append(p.answers, m)
		}
	}
	if p.got >= p.want {
		p.closed = true
		close(p.done)
	}
}

// ackRequest is a broadcast with acks this node sent: other nodes report
// their client count, then each client's answer.
type ackRequest struct {
	onCount func(int)
	onAck   func(sio.Message, error)
}
