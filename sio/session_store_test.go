package sio

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// sharedLog is a SessionStore shared by the servers of one process, the
// way a Redis streams adapter shares one stream and one session store
// between nodes: offsets are positions in one log of broadcasts, saved
// sessions one map. It is a second, in-process implementation of the
// contract, to test what sio does with it.
type sharedLog struct {
	mu       sync.Mutex
	log      []loggedPacket
	sessions map[string]*Session
}

type loggedPacket struct {
	data   []byte // with its offset
	rooms  []string
	except []string
}

// logAdapter is one server's adapter on a sharedLog.
type logAdapter struct {
	*MemoryAdapter
	shared *sharedLog
}

func (a *logAdapter) Broadcast(p *Packet, opts *BroadcastOptions) {
	if !opts.Volatile {
		a.shared.mu.Lock()
		off := strconv.Itoa(len(a.shared.log))
		data := append(append([]byte(nil), p.Data[:len(p.Data)-1]...), `,"`+off+`"]`...)
		a.shared.log = append(a.shared.log, loggedPacket{data: data, rooms: opts.Rooms, except: opts.Except})
		a.shared.mu.Unlock()
		p = &Packet{Data: data, Attachments: p.Attachments}
	}
	a.MemoryAdapter.Broadcast(p, opts)
}

func (a *logAdapter) PersistSession(_ context.Context, s *Session) error {
	a.shared.mu.Lock()
	defer a.shared.mu.Unlock()
	a.shared.sessions[s.PID] = s
	return nil
}

func (a *logAdapter) RestoreSession(_ context.Context, pid, offset string) (*Session, []*Packet, error) {
	a.shared.mu.Lock()
	defer a.shared.mu.Unlock()
	s := a.shared.sessions[pid]
	n, err := strconv.Atoi(offset)
	if s == nil || err != nil || n >= len(a.shared.log) {
		return nil, nil, nil
	}
	delete(a.shared.sessions, pid)
	member := map[string]bool{}
	for _, r := range s.Rooms {
		member[r] = true
	}
	var missed []*Packet
	for _, p := range a.shared.log[n+1:] {
		if selects(p.rooms, p.except, member) {
			missed = append(missed, &Packet{Data: p.data})
		}
	}
	return s, missed, nil
}

// A client that loses server A and comes back to server B, which shares
// A's SessionStore, gets its id, rooms and data, and the events it missed
// (sent from A, to its room and to it alone) before the CONNECT reply.
func TestSessionStoreRecoversOnAnotherServer(t *testing.T) {
	shared := &sharedLog{sessions: map[string]*Session{}}
	newServer := func() *Server {
		srv := NewServer(Config{Loops: 1, ConnectionStateRecovery: &RecoveryConfig{}, Adapter: func(ns *Namespace) Adapter {
			return &logAdapter{MemoryAdapter: NewMemoryAdapter(ns), shared: shared}
		}})
		srv.OnConnection(func(s *Socket) {
			if !s.Recovered() {
				s.SetData(map[string]string{"user": "ann"})
				s.Join("r")
			}
		})
		return srv
	}
	a, b := newServer(), newServer()
	id, pid, offset := awaySocket(t, a)
	if shared.sessions[pid] == nil {
		t.Fatal("the session was not persisted in the SessionStore")
	}
	// Missed while away: to the room, to the socket, and to another room.
	a.To("r").Emit("to-room", 1)
	a.To(id).Emit("to-socket", 2)
	a.To("other").Emit("not-for-it", 3)
	ok, got := reconnect(t, b, id, pid, offset)
	if !ok {
		t.Fatal("not recovered on the other server")
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], `["to-room",1,"`) || !strings.HasPrefix(got[1], `["to-socket",2,"`) {
		t.Fatalf("replayed %q", got)
	}
	s := b.root.Socket(id)
	if rooms := strings.Join(s.Rooms(), ","); rooms != id+",r" {
		t.Fatalf("rooms %s", rooms)
	}
	if d, ok := s.Data().(map[string]any); !ok || d["user"] != "ann" {
		t.Fatalf("data %#v", s.Data())
	}
	// A second restore of the same session fails: it is taken once.
	if ok, _ := reconnect(t, b, id, pid, offset); ok {
		t.Fatal("a session was restored twice")
	}
}
