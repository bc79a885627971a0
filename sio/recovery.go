package sio

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/sioloop/sioloop/internal/packet"
)

// Connection state recovery: plain events carry an offset as their last
// argument and are kept in a log; a socket that drops for a recoverable
// reason is remembered by its private id (pid). A client that comes back
// with {pid, offset} in its CONNECT auth, within MaxDisconnectionDuration
// and while its offset is still in the log, gets the same socket id, rooms
// and data, and every event it missed, once each and in order (socket.io's
// SessionAwareAdapter). Otherwise it connects as a new socket.
//
// The log is one append-only sequence of events for all namespaces. Event
// offsets are the process's base followed by the event's sequence number,
// so an offset is found in O(1), and the log is trimmed from its front, by
// age and by total size. Saved sessions sit in a map by pid and in a queue
// by disconnection time (all have the same lifetime, so the queue is also
// by expiry), trimmed from its front by age and count. Recording an event
// thus costs one append and what it trims, whatever is saved.

// storedPacket is one recorded event.
type storedPacket struct {
	nsp     *Namespace
	body    []byte // JSON arguments, offset included
	atts    [][]byte
	rooms   []string
	except  []string
	exclude string // id of the socket excluded (socket.broadcast)
	at      int64  // when recorded, unix nanoseconds
	size    int    // what it counts against MaxLogBytes
}

// logChunkLen is the number of events in a chunk of the log. The log is a
// queue of fixed chunks rather than one slice, so that appending never
// copies what is kept and trimming frees whole chunks.
const logChunkLen = 256

type logChunk [logChunkLen]storedPacket

// storedOverhead is what a recorded event costs beyond its bytes: the
// storedPacket in the log and the headers of its slices.
const storedOverhead = 128

// savedSession is a disconnected socket a client may resume.
type savedSession struct {
	pid   string
	sid   string
	nsp   *Namespace
	rooms []string // without the socket's own room
	data  any
	at    time.Time // disconnection
}

type recoveryStore struct {
	maxAge      time.Duration
	maxLogBytes int
	maxSessions int
	prefix      string // offset prefix, unique per process; immutable
	// now is the store's clock: time.Now, a fake one in tests; immutable
	// once the server runs.
	now func() time.Time
	// gate orders recording against resuming: senders of recorded events
	// hold it shared from recording to delivery, resume holds it
	// exclusively.
	gate sync.RWMutex

	mu sync.Mutex
	// chunks hold the log, oldest first: event seq is at index seq-base
	// counted from chunks[0][0]. Events first..next-1 are kept. guarded by mu
	chunks      []*logChunk
	base, first uint64                   // guarded by mu
	next        uint64                   // sequence number of the next event; guarded by mu
	logBytes    int                      // sum of the kept events' size; guarded by mu
	sessions    map[string]*savedSession // by pid; guarded by mu
	// saved holds the sessions by disconnection time, oldest first, from
	// savedHead; entries no longer in sessions (resumed, or saved again)
	// are skipped and compacted away. guarded by mu
	saved     []*savedSession
	savedHead int
	expiring  bool // an expire is scheduled; guarded by mu
	// live holds, by pid, a channel for each connected socket, closed
	// once its disconnection has been persisted (or found not to be):
	// a client that reconnects before the server has handled its old
	// connection's close (the close and the new CONNECT travel on two
	// connections, read by two loops, handled by two mailboxes) waits for
	// it in claimSession instead of starting a new socket. guarded by mu
	live map[string]chan struct{}
}

// claimWait bounds how long a CONNECT waits for the close of the socket
// it recovers: a server that has not seen the old connection end by then
// (a client that vanished without a FIN) lets the client connect as a new
// socket, as socket.io does when it finds no saved session.
const claimWait = 2 * time.Second

// trackLive registers a connected socket whose disconnection will be
// persisted. Mailbox only.
func (s *Server) trackLive(sock *Socket) {
	if s.store == nil {
		return
	}
	pid := sock.recoveryID()
	if pid == "" {
		return
	}
	st := s.store
	st.mu.Lock()
	st.live[pid] = make(chan struct{})
	st.mu.Unlock()
}

// endLive releases the CONNECTs waiting for pid's disconnection.
func (r *recoveryStore) endLive(pid string) {
	r.mu.Lock()
	if ch := r.live[pid]; ch != nil {
		close(ch)
		delete(r.live, pid)
	}
	r.mu.Unlock()
}

func newRecoveryStore(cfg *RecoveryConfig) *recoveryStore {
	return &recoveryStore{
		maxAge:      cfg.MaxDisconnectionDuration,
		maxLogBytes: cfg.MaxLogBytes,
		maxSessions: cfg.MaxSavedSessions,
		prefix:      newID()[:8],
		now:         time.Now,
		base:        1,
		first:       1,
		next:        1,
		sessions:    make(map[string]*savedSession),
		live:        make(map[string]chan struct{}),
	}
}

// record stores an outgoing event and returns its arguments with the
// offset appended: in body when owned (the caller's own buffer), else in a
// copy (a broadcast's Packet is shared with other nodes' deliveries).
func (r *recoveryStore) record(ns *Namespace, body []byte, atts [][]byte, opts *BroadcastOptions, owned bool) []byte {
	sp := storedPacket{nsp: ns, atts: atts, at: r.now().UnixNano()}
	if opts != nil {
		sp.rooms, sp.except = opts.Rooms, opts.Except
		if opts.ExceptSocket != nil {
			sp.exclude = opts.ExceptSocket.id
		}
	}
	sp.size = storedOverhead + len(body) + 24 + len(sp.exclude)
	for _, a := range atts {
		sp.size += len(a)
	}
	for _, s := range sp.rooms {
		sp.size += len(s)
	}
	for _, s := range sp.except {
		sp.size += len(s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.next
	out := body[:len(body)-1]
	if !owned {
		out = append(make([]byte, 0, len(body)+len(r.prefix)+16), out...)
	}
	out = append(out, `,"`...)
	out = append(out, r.prefix...)
	out = strconv.AppendUint(out, seq, 36)
	out = append(out, `"]`...)
	sp.body = out
	i := seq - r.base
	if i/logChunkLen == uint64(len(r.chunks)) {
		r.chunks = append(r.chunks, new(logChunk))
	}
	r.chunks[i/logChunkLen][i%logChunkLen] = sp
	r.next++
	r.logBytes += sp.size
	r.trimLogLocked(sp.at)
	r.scheduleLocked()
	return out
}

// at returns the kept event seq. Called with mu held.
func (r *recoveryStore) at(seq uint64) *storedPacket {
	i := seq - r.base
	return &r.chunks[i/logChunkLen][i%logChunkLen]
}

// trimLogLocked drops, from the front, the events older than maxAge and
// those past the size cap. Called with mu held.
func (r *recoveryStore) trimLogLocked(now int64) {
	oldest := now - int64(r.maxAge)
	for r.first < r.next {
		p := r.at(r.first)
		if r.logBytes <= r.maxLogBytes && p.at >= oldest {
			break
		}
		r.logBytes -= p.size
		*p = storedPacket{}
		r.first++
		if r.first-r.base == logChunkLen {
			r.chunks[0] = nil
			r.chunks = r.chunks[1:]
			r.base += logChunkLen
		}
	}
}

// trimSessionsLocked forgets, from the front, the sessions saved longer
// than maxAge ago and those past the count cap. Called with mu held.
func (r *recoveryStore) trimSessionsLocked(now time.Time) {
	for r.savedHead < len(r.saved) {
		s := r.saved[r.savedHead]
		live := r.sessions[s.pid] == s
		if live && len(r.sessions) <= r.maxSessions && now.Sub(s.at) <= r.maxAge {
			break
		}
		if live {
			delete(r.sessions, s.pid)
		}
		r.saved[r.savedHead] = nil
		r.savedHead++
	}
	if r.savedHead == len(r.saved) {
		r.saved, r.savedHead = r.saved[:0], 0
		return
	}
	if n := len(r.saved) - r.savedHead; n >= 64 && n > 2*len(r.sessions) {
		// Mostly resumed sessions: keep the live ones, in order.
		kept := r.saved[:0]
		for _, s := range r.saved[r.savedHead:] {
			if r.sessions[s.pid] == s {
				kept = append(kept, s)
			}
		}
		clear(r.saved[len(kept):])
		r.saved, r.savedHead = kept, 0
	}
}

// scheduleLocked makes sure that what is kept is dropped once expired even
// if nothing is recorded or saved any more. Called with mu held.
func (r *recoveryStore) scheduleLocked() {
	if r.expiring || (r.first == r.next && len(r.sessions) == 0) {
		return
	}
	r.expiring = true
	time.AfterFunc(r.maxAge, r.expire)
}

func (r *recoveryStore) expire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expiring = false
	now := r.now()
	r.trimLogLocked(now.UnixNano())
	r.trimSessionsLocked(now)
	r.scheduleLocked()
}

// recoverable lists the reasons after which a session is kept.
var recoverable = map[string]bool{
	ReasonTransportError: true, ReasonTransportClose: true, ReasonForcedClose: true,
	ReasonPingTimeout: true, ReasonServerShuttingDown: true, ReasonForcedServerClose: true,
}

// persist remembers a disconnecting socket. Called before it leaves its rooms.
func (s *Server) persist(sock *Socket, reason string) {
	if s.store == nil {
		return
	}
	pid := sock.recoveryID()
	if pid == "" {
		return
	}
	defer s.store.endLive(pid) // after the session is saved
	if !recoverable[reason] {
		return
	}
	if ss := sock.nsp.sessionStore(); ss != nil {
		s.persistToStore(ss, sock, pid)
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
	now := st.now()
	saved := &savedSession{pid: pid, sid: sock.id, nsp: sock.nsp, rooms: kept, data: sock.Data(), at: now}
	st.mu.Lock()
	st.sessions[pid] = saved
	st.saved = append(st.saved, saved)
	st.trimSessionsLocked(now)
	st.scheduleLocked()
	st.mu.Unlock()
}

func (s *Server) skipMiddlewares() bool {
	return s.cfg.ConnectionStateRecovery != nil && s.cfg.ConnectionStateRecovery.SkipMiddlewares
}

// claim is a saved session a reconnecting client is entitled to.
type claim struct {
	saved *savedSession
	seq   uint64 // of the last event the client received
	// missed is what a SessionStore adapter restored (nil: the log).
	missed []*Packet
	store  bool // restored by the adapter (session_store.go)
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
	if ss := sock.nsp.sessionStore(); ss != nil {
		c := s.restoreFromStore(ss, sock, a.PID, a.Offset)
		if c != nil {
			c.store = true
		}
		return c
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	saved := st.sessions[a.PID]
	if ch := st.live[a.PID]; saved == nil && ch != nil {
		// The old socket is still connected here: wait for its close.
		st.mu.Unlock()
		t := time.NewTimer(claimWait)
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
		st.mu.Lock()
		saved = st.sessions[a.PID]
	}
	if saved == nil || saved.nsp.name != sock.nsp.name {
		return nil
	}
	if st.now().Sub(saved.at) > st.maxAge {
		delete(st.sessions, a.PID)
		return nil
	}
	seq, ok := st.seqLocked(a.Offset)
	if !ok {
		return nil // unknown, or trimmed: too old
	}
	delete(st.sessions, a.PID)
	sock.id = saved.sid
	// The socket is not published yet: no lock needed.
	sock.extra = &socketExtra{pid: a.PID, data: saved.data}
	sock.recovered = true
	return &claim{saved: saved, seq: seq}
}

// seqLocked returns the sequence number of offset if that event is in the
// log. Called with mu held.
func (r *recoveryStore) seqLocked(offset string) (uint64, bool) {
	if len(offset) <= len(r.prefix) || offset[:len(r.prefix)] != r.prefix {
		return 0, false
	}
	seq, err := strconv.ParseUint(offset[len(r.prefix):], 36, 64)
	if err != nil || seq < r.first || seq >= r.next {
		return 0, false
	}
	return seq, true
}

// resume puts a recovered socket back in its rooms and replays what it
// missed. It holds the store's gate exclusively, so no event is recorded
// meanwhile: every event is either in the replay or delivered live after
// it, never both and never neither, and the replay comes first.
func (s *Server) resume(sock *Socket, c *claim) {
	if c.store {
		s.resumeFromStore(sock, c)
		return
	}
	st := s.store
	st.gate.Lock()
	defer st.gate.Unlock()
	var missed []storedPacket
	member := make(map[string]bool, len(c.saved.rooms)+1)
	member[c.saved.sid] = true
	for _, r := range c.saved.rooms {
		member[r] = true
	}
	st.mu.Lock()
	// Events may have been trimmed since the claim: replay what is left
	// after the client's offset.
	for seq := max(c.seq+1, st.first); seq < st.next; seq++ {
		p := st.at(seq)
		if p.nsp.name == sock.nsp.name && p.exclude != c.saved.sid && selects(p.rooms, p.except, member) {
			missed = append(missed, *p)
		}
	}
	st.mu.Unlock()
	sock.nsp.add(sock)
	if len(c.saved.rooms) > 0 {
		sock.nsp.adapter.AddAll(sock, c.saved.rooms)
	}
	for _, p := range missed {
		sock.send(sock.nsp.encodeEvent(p.body, p.atts, packet.NoID), p.atts...)
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

// savedCount is the number of saved sessions.
func (r *recoveryStore) savedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}
