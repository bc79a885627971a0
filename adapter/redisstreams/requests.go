package redisstreams

import (
	"encoding/json"
	"sync"

	"github.com/sioloop/sioloop/sio"
)

// request is a fetchSockets or a server-side emit with acks waiting for
// the other nodes: done once it counted want answers (the server count
// less this node), one per answering node, as the ClusterAdapter counts.
type request struct {
	typ  int
	want int // set before the request is published

	mu      sync.Mutex
	got     int                 // guarded by mu
	sockets []*sio.RemoteSocket // guarded by mu
	answers []sio.Message       // guarded by mu
	done    chan struct{}
	closed  bool // done is closed; guarded by mu
}

func newRequest(typ int) *request { return &request{typ: typ, done: make(chan struct{})} }

// addSockets counts an answer listing sockets.
func (q *request) addSockets(ns *sio.Namespace, raws []json.RawMessage) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, raw := range raws {
		var s wireSocket
		if json.Unmarshal(raw, &s) != nil || s.ID == "" {
			continue
		}
		hs := s.Handshake
		if hs == nil {
			hs = &sio.Handshake{}
		}
		q.sockets = append(q.sockets, sio.NewRemoteSocket(ns, s.ID, hs, s.Rooms, s.Data))
	}
	q.countLocked()
}

// addAnswer counts a server-side emit's answer: one JSON value whose
// binaries, if any, are atts.
func (q *request) addAnswer(v json.RawMessage, atts [][]byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if m, err := answer(v, atts); err == nil {
		q.answers = append(q.answers, m)
	}
	q.countLocked()
}

func (q *request) countLocked() {
	if q.closed {
		return
	}
	q.got++
	if q.got >= q.want {
		q.closed = true
		close(q.done)
	}
}

// ackRequest is a broadcast with acks this node sent: the other nodes
// report their client count, then each client's answer.
type ackRequest struct {
	onCount func(int)
	onAck   func(sio.Message, error)
}

// answer is the Message of one answered value.
func answer(v json.RawMessage, atts [][]byte) (sio.Message, error) {
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	p := &sio.Packet{Data: append(append([]byte{'['}, v...), ']'), Attachments: atts}
	return p.Message(false)
}
