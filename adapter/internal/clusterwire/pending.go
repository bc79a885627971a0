package clusterwire

import (
	"encoding/json"
	"slices"
	"sync"

	"github.com/sioloop/sioloop/sio"
)

// Pending is a request waiting for other nodes' answers: fetchSockets,
// allRooms or a server-side emit with acks. It is done once it counted
// Want answers; how many that is, and whether this node's own result
// counts as one, is each adapter's rule (the classic adapter counts
// request-channel subscribers, this node included; the ClusterAdapter
// counts the other nodes).
//
// The adapter fills Sockets or Rooms with this node's own result before
// it publishes the request; afterwards they belong to the mutex, and the
// adapter reads them with Result once Done is closed or its context ended.
type Pending struct {
	// Type is the request's message type, by which answers of another
	// kind with the same id are told apart and dropped.
	Type int
	// Want is the count of answers that completes the request; set before
	// the request is published.
	Want int

	sync.Mutex
	Got     int                 // answers counted; guarded by the mutex
	Sockets []*sio.RemoteSocket // fetchSockets' result; guarded by the mutex
	Rooms   map[string]struct{} // allRooms' result; guarded by the mutex
	Answers []sio.Message       // a server-side emit's replies; guarded by the mutex
	done    chan struct{}
	closed  bool // done is closed; guarded by the mutex
}

// NewPending returns a request of type typ that has already counted got
// answers (1 when this node's own result counts as the first).
func NewPending(typ, got int) *Pending {
	return &Pending{Type: typ, Got: got, done: make(chan struct{})}
}

// Done is closed once Want answers were counted.
func (p *Pending) Done() <-chan struct{} { return p.done }

// AddSockets counts an answer listing sockets (RemoteSocket JSON, whose
// rooms R decodes).
func AddSockets[R ~[]string](p *Pending, ns *sio.Namespace, raws []json.RawMessage) {
	p.Lock()
	defer p.Unlock()
	p.Sockets = AppendRemoteSockets[R](p.Sockets, ns, raws)
	p.countLocked()
}

// AddRooms counts an answer listing rooms.
func (p *Pending) AddRooms(rooms []string) {
	p.Lock()
	defer p.Unlock()
	for _, r := range rooms {
		p.Rooms[r] = struct{}{}
	}
	p.countLocked()
}

// AddAnswer counts a server-side emit's answer: one JSON value whose
// binaries, if any, are atts. An answer that does not decode is counted
// but not kept.
func (p *Pending) AddAnswer(v json.RawMessage, atts [][]byte) {
	p.Lock()
	defer p.Unlock()
	if m, err := Answer(v, atts); err == nil {
		p.Answers = append(p.Answers, m)
	}
	p.countLocked()
}

func (p *Pending) countLocked() {
	if p.closed {
		return
	}
	p.Got++
	if p.Got >= p.Want {
		p.closed = true
		close(p.done)
	}
}

// Result is what a request gathered, copied out of it at once, with the
// counts a timeout error reports.
type Result struct {
	Sockets   []*sio.RemoteSocket
	Rooms     []string // sorted; nil unless Pending.Rooms was set
	Answers   []sio.Message
	Got, Want int
}

// Result copies out what p gathered so far. It takes the mutex: after a
// timeout, an answer may still be being counted by the goroutine that
// looked p up just before the table forgot it.
func (p *Pending) Result() Result {
	p.Lock()
	defer p.Unlock()
	r := Result{
		Sockets: append([]*sio.RemoteSocket(nil), p.Sockets...),
		Answers: append([]sio.Message(nil), p.Answers...),
		Got:     p.Got,
		Want:    p.Want,
	}
	if p.Rooms != nil {
		r.Rooms = make([]string, 0, len(p.Rooms))
		for room := range p.Rooms {
			r.Rooms = append(r.Rooms, room)
		}
		slices.Sort(r.Rooms)
	}
	return r
}
