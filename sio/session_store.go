package sio

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sioloop/sioloop/internal/packet"
)

// SessionStore is implemented by cluster adapters that keep connection
// state recovery across nodes (socket.io's persistSession and
// restoreSession, as the Redis streams adapter has them): a client that
// loses node A and reconnects to node B gets its socket id, rooms and data
// back, and the events it missed.
//
// When a namespace's adapter implements it (and Config.ConnectionStateRecovery
// is set), sio keeps no log of its own for that namespace: the adapter's
// Broadcast gives offsets, appending each packet's offset as its last
// argument before it delivers it (events with acks and volatile ones
// excepted), and Socket.Emit goes through Broadcast to the socket's own
// room so that it is logged too.
type SessionStore interface {
	// PersistSession saves the state of a socket that disconnected for a
	// recoverable reason, for Config.ConnectionStateRecovery's
	// MaxDisconnectionDuration.
	PersistSession(ctx context.Context, s *Session) error
	// RestoreSession takes the session saved under pid (so that it is
	// restored once) and returns it with the packets it missed after
	// offset, in order, offsets included; nil and no error when there is
	// nothing to restore (unknown pid, expired, offset no longer kept).
	RestoreSession(ctx context.Context, pid, offset string) (*Session, []*Packet, error)
}

// Session is a disconnected socket's state, as a SessionStore keeps it.
type Session struct {
	SID   string
	PID   string
	Rooms []string        // the socket's own id room included, as socket.io saves it
	Data  json.RawMessage // socket.data as JSON
}

// sessionStoreTimeout bounds a SessionStore call made for one socket.
const sessionStoreTimeout = 5 * time.Second

// ConnectionStateRecovery returns a copy of the server's connection state
// recovery settings, defaults applied, or nil when recovery is off. A
// cluster adapter that is a SessionStore needs it: whether its Broadcast
// gives offsets, and for how long a saved session is kept.
func (s *Server) ConnectionStateRecovery() *RecoveryConfig {
	if s.cfg.ConnectionStateRecovery == nil {
		return nil
	}
	rc := *s.cfg.ConnectionStateRecovery
	return &rc
}

// sessionStore is the namespace's adapter as a SessionStore, or nil.
func (n *Namespace) sessionStore() SessionStore {
	if n.srv.store == nil {
		return nil
	}
	ss, _ := n.adapter.(SessionStore)
	return ss
}

// persistToStore saves sock's session with its adapter. Mailbox only.
func (s *Server) persistToStore(ss SessionStore, sock *Socket, pid string) {
	data, err := sock.remote().DataJSON()
	if err != nil {
		s.cfg.Logger.Warn("sio: socket.data cannot be saved for recovery", "sid", sock.id, "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionStoreTimeout)
	defer cancel()
	sess := &Session{SID: sock.id, PID: pid, Rooms: sock.Rooms(), Data: data}
	if err := ss.PersistSession(ctx, sess); err != nil {
		s.cfg.Logger.Warn("sio: a session could not be saved for recovery", "sid", sock.id, "error", err)
	}
}

// restoreFromStore asks the adapter for the session of a CONNECT's {pid,
// offset} and, when there is one, takes it for sock.
func (s *Server) restoreFromStore(ss SessionStore, sock *Socket, pid, offset string) *claim {
	ctx, cancel := context.WithTimeout(context.Background(), sessionStoreTimeout)
	defer cancel()
	sess, missed, err := ss.RestoreSession(ctx, pid, offset)
	if err != nil {
		s.cfg.Logger.Warn("sio: a session could not be restored", "error", err)
		return nil
	}
	if sess == nil || sess.SID == "" {
		return nil
	}
	var data any
	if len(sess.Data) > 0 && string(sess.Data) != "{}" {
		if json.Unmarshal(sess.Data, &data) != nil {
			data = nil
		}
	}
	rooms := make([]string, 0, len(sess.Rooms))
	for _, r := range sess.Rooms {
		if r != sess.SID {
			rooms = append(rooms, r)
		}
	}
	sock.id = sess.SID
	// The socket is not published yet: no lock needed.
	sock.extra = &socketExtra{pid: pid, data: data}
	sock.recovered = true
	return &claim{saved: &savedSession{pid: pid, sid: sess.SID, nsp: sock.nsp, rooms: rooms, data: data}, missed: missed}
}

// resumeFromStore puts a socket restored by its adapter back in its rooms
// and replays what it missed, before the CONNECT reply.
func (s *Server) resumeFromStore(sock *Socket, c *claim) {
	sock.nsp.add(sock)
	if len(c.saved.rooms) > 0 {
		sock.nsp.adapter.AddAll(sock, c.saved.rooms)
	}
	for _, p := range c.missed {
		sock.send(sock.nsp.encodeEvent(p.Data, p.Attachments, packet.NoID), p.Attachments...)
	}
}
