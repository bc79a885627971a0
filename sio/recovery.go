package sio

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/sioloop/sioloop/internal/packet"
)

// Connection state recovery: plain events carry an offset as their last
// argument and are kept for MaxDisconnectionDuration; a socket that drops
// for a recoverable reason is remembered by its private id (pid). A client
// that comes back with {pid, offset} in its CONNECT auth gets the same
// socket id, rooms and data, and the events it missed.

type storedPacket struct {
	offset  string
	nsp     *Namespace
	body    []byte // JSON arguments, offset included
	atts    [][]byte
	rooms   []string
	except  []string
	exclude string // id of the socket excluded (socket.broadcast)
	at      time.Time
}

type savedSession struct {
	sid   string
	nsp   *Namespace
	rooms []string
	data  any
	at    time.Time
}

type recoveryStore struct {
	maxAge time.Duration
	// gate orders recording against resuming: senders of recorded events
	// hold it shared from recording to delivery, resume holds it
	// exclusively.
	gate sync.RWMutex

	mu       sync.Mutex
	seq      uint64                   // guarded by mu
	base     string                   // offset prefix, unique per process; immutable
	packets  []storedPacket           // oldest first; guarded by mu
	sessions map[string]*savedSession // by pid; guarded by mu
}

func newRecoveryStore(maxAge time.Duration) *recoveryStore {
	return &recoveryStore{maxAge: maxAge, base: newID()[:8], sessions: make(map[string]*savedSession)}
}

// record stores an outgoing event and returns its arguments with the
// offset appended.
func (r *recoveryStore) record(ns *Namespace, body []byte, atts [][]byte, opts *BroadcastOptions) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	offset := r.base + strconv.FormatUint(r.seq, 36)
	out := make([]byte, 0, len(body)+len(offset)+3)
	out = append(out, body[:len(body)-1]...)
	out = append(append(append(out, `,"`...), offset...), `"]`...)
	sp := storedPacket{offset: offset, nsp: ns, body: out, atts: atts, at: time.Now()}
	if opts != nil {
		sp.rooms, sp.except = opts.Rooms, opts.Except
		if opts.ExceptSocket != nil {
			sp.exclude = opts.ExceptSocket.id
		}
	}
	r.packets = append(r.packets, sp)
	r.expireLocked(sp.at)
	return out
}

func (r *recoveryStore) expireLocked(now time.Time) {
	i := 0
	for i < len(r.packets) && now.Sub(r.packets[i].at) > r.maxAge {
		i++
	}
	if i > 0 {
		r.packets = append(r.packets[:0], r.packets[i:]...)
	}
	for pid, s := range r.sessions {
		if now.Sub(s.at) > r.maxAge {
			delete(r.sessions, pid)
		}
	}
}

// recoverable lists the reasons after which a session is kept.
var recoverable = map[string]bool{
	ReasonTransportError: true, ReasonTransportClose: true, ReasonForcedClose: true,
	ReasonPingTimeout: true, ReasonServerShuttingDown: true, ReasonForcedServerClose: true,
}

// persist remembers a disconnecting socket. Called before it leaves its rooms.
func (s *Server) persist(sock *Socket, reason string) {
	if s.store == nil || !recoverable[reason] {
		return
	}
	pid := sock.recoveryID()
	if pid == "" {
		return
	}
	rooms := sock.Rooms()
	kept := rooms[:0]
	for _, r := range rooms {
		if r != sock.id {
			kept = append(kept, r)
		}
	}
	st := s.store
	st.mu.Lock()
	st.sessions[pid] = &savedSession{sid: sock.id, nsp: sock.nsp, rooms: kept, data: sock.Data(), at: time.Now()}
	st.mu.Unlock()
}

func (s *Server) skipMiddlewares() bool {
	return s.cfg.ConnectionStateRecovery != nil && s.cfg.ConnectionStateRecovery.SkipMiddlewares
}

// claim is a saved session a reconnecting client is entitled to.
type claim struct {
	saved  *savedSession
	offset string
}

// claimSession checks the {pid, offset} of a CONNECT auth and, if a saved
// session matches, takes it (socket id, pid, data) for sock.
func (s *Server) claimSession(sock *Socket, auth []byte) *claim {
	if s.store == nil {
		return nil
	}
	var a struct {
		PID    string `json:"pid"`
		Offset string `json:"offset"`
	}
	if json.Unmarshal(auth, &a) != nil || a.PID == "" || a.Offset == "" {
		return nil
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	saved := st.sessions[a.PID]
	if saved == nil || saved.nsp.name != sock.nsp.name || time.Since(saved.at) > st.maxAge || st.find(a.Offset) < 0 {
		return nil
	}
	delete(st.sessions, a.PID)
	sock.id = saved.sid
	// The socket is not published yet: no lock needed.
	sock.extra = &socketExtra{pid: a.PID, data: saved.data}
	sock.recovered = true
	return &claim{saved: saved, offset: a.Offset}
}

// find returns the index of offset in the stored packets, or -1.
// Called with mu held.
func (r *recoveryStore) find(offset string) int {
	for i := len(r.packets) - 1; i >= 0; i-- {
		if r.packets[i].offset == offset {
			return i
		}
	}
	return -1
}

// resume puts a recovered socket back in its rooms and replays what it
// missed. It holds the store's gate exclusively, so no event is recorded
// meanwhile: every event is either in the replay or delivered live after
// it, never both and never neither, and the replay comes first.
func (s *Server) resume(sock *Socket, c *claim) {
	st := s.store
	st.gate.Lock()
	defer st.gate.Unlock()
	st.mu.Lock()
	start := st.find(c.offset) + 1
	var missed []storedPacket
	if start > 0 {
		member := make(map[string]bool, len(c.saved.rooms)+1)
		member[c.saved.sid] = true
		for _, r := range c.saved.rooms {
			member[r] = true
		}
		for _, p := range st.packets[start:] {
			if p.nsp.name == sock.nsp.name && p.exclude != c.saved.sid && selects(p.rooms, p.except, member) {
				missed = append(missed, p)
			}
		}
	}
	st.mu.Unlock()
	sock.nsp.add(sock)
	if len(c.saved.rooms) > 0 {
		sock.nsp.adapter.AddAll(sock, c.saved.rooms)
	}
	for _, p := range missed {
		text, atts := encodeStored(p)
		sock.client.send(text, atts...)
	}
}

func selects(rooms, except []string, member map[string]bool) bool {
	for _, r := range except {
		if member[r] {
			return false
		}
	}
	if len(rooms) == 0 {
		return true
	}
	for _, r := range rooms {
		if member[r] {
			return true
		}
	}
	return false
}

// encodeStored rebuilds the EVENT packet of a stored event for replay.
func encodeStored(p storedPacket) ([]byte, [][]byte) {
	pk := packet.Packet{Type: packet.Event, Namespace: p.nsp.name, ID: packet.NoID, Data: p.body}
	if len(p.atts) > 0 {
		pk.Type = packet.BinaryEvent
		pk.Attachments = len(p.atts)
	}
	return packet.AppendEncode(nil, &pk), p.atts
}

// savedCount is the number of saved sessions.
func (r *recoveryStore) savedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}
