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
	atts    [][]byte // a server-side emit's binaries, for its publish
	done    chan struct{}
	closed  bool
}

func newPending(typ, want, got int) *pending {
	return &pending{typ: typ, want: want, got: got, done: make(chan struct{})}
}

// add counts one answer from res (classic adapter).
func (p *pending) add(a *adapter, res *response) {
	switch p.typ {
	case reqRemoteFetch:
		p.addSockets(a.ns, res.Sockets)
	case reqAllRooms:
		p.addRooms(res.Rooms)
	case reqServerSideEmit:
		p.addAnswer(res.Data, res.atts)
	}
}

// addSockets counts an answer listing sockets (RemoteSocket JSON).
func (p *pending) addSockets(ns *sio.Namespace, raws []json.RawMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, raw := range raws {
		var s remoteSocketJSON
		if json.Unmarshal(raw, &s) != nil || s.ID == "" {
			continue
		}
		hs := s.Handshake
		if hs == nil {
			hs = &sio.Handshake{}
		}
		p.sockets = append(p.sockets, sio.NewRemoteSocket(ns, s.ID, hs, s.Rooms, s.Data))
	}
	p.countLocked()
}

// addRooms counts an answer listing rooms.
func (p *pending) addRooms(rooms []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rooms {
		p.rooms[r] = struct{}{}
	}
	p.countLocked()
}

// addAnswer counts a server-side emit answer: one JSON value whose
// binaries, if any, are atts.
func (p *pending) addAnswer(data json.RawMessage, atts [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	pk := &sio.Packet{Data: append(append([]byte{'['}, data...), ']'), Attachments: atts}
	if m, err := pk.Message(false); err == nil {
		p.answers = append(p.answers, m)
	}
	p.countLocked()
}

func (p *pending) countLocked() {
	if p.closed {
		return
	}
	p.got++
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
