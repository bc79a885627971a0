package sio

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/sioloop/sioloop/sio/internal/packet"
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

type missedPacket struct {
	text []byte
	atts [][]byte
}

type recoveryStore struct {
	maxAge time.Duration

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
	if s.store == nil || sock.pid == "" || !recoverable[reason] {
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
	st.sessions[sock.pid] = &savedSession{sid: sock.id, nsp: sock.nsp, rooms: kept, data: sock.Data(), at: time.Now()}
	st.mu.Unlock()
}

func (s *Server) skipMiddlewares() bool {
	return s.cfg.ConnectionStateRecovery != nil && s.cfg.ConnectionStateRecovery.SkipMiddlewares
}

// recover restores sock from the session its auth names, if any.
func (s *Server) recover(sock *Socket, auth []byte) bool {
	if s.store == nil {
		return false
	}
	var a struct {
		PID    string `json:"pid"`
		Offset string `json:"offset"`
	}
	if json.Unmarshal(auth, &a) != nil || a.PID == "" || a.Offset == "" {
		return false
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	saved := st.sessions[a.PID]
	if saved == nil || saved.nsp != sock.nsp || time.Since(saved.at) > st.maxAge {
		return false
	}
	start := -1
	for i := len(st.packets) - 1; i >= 0; i-- {
		if st.packets[i].offset == a.Offset {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return false
	}
	delete(st.sessions, a.PID)
	member := make(map[string]bool, len(saved.rooms)+1)
	member[saved.sid] = true
	for _, r := range saved.rooms {
		member[r] = true
	}
	for _, p := range st.packets[start:] {
		if p.nsp != sock.nsp || p.exclude == saved.sid || !selects(p.rooms, p.except, member) {
			continue
		}
		text, atts := encodeStored(p)
		sock.missed = append(sock.missed, missedPacket{text: text, atts: atts})
	}
	sock.id = saved.sid
	sock.pid = a.PID
	sock.recovered = true
	sock.data = saved.data
	sock.restore = saved.rooms
	return true
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
