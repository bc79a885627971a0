package redisstreams

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/sio"
)

// Connection state recovery across nodes, as the Node adapter does it
// (persistSession and restoreSession in lib/adapter.ts), so that either
// can restore what the other saved:
//
//   - PersistSession: SET <SessionKeyPrefix><pid> base64(msgpack({sid, pid,
//     rooms, data})) PX <MaxDisconnectionDuration>.
//   - RestoreSession(pid, offset): offset must match ^[0-9]+-[0-9]+$;
//     MULTI GET DEL EXEC of the key (a session is restored once); the
//     offset's entry must still be in the stream (XRANGE offset offset);
//     then the entries after it: type 3 of this namespace whose opts select
//     the session's rooms, each with its id as offset, volatile ones and
//     Node's acked ones included, as Node replays them.
//
// Node reads the rest of the stream with XRANGE <next> + until an empty
// reply (at most 100 calls of up to the whole stream each, S#47), and a
// restored socket may miss or get twice what is delivered live meanwhile.
// Here the replay is exact and bounded:
//
//  1. Under dispatchMu, RestoreSession takes end = the last entry this node
//     delivered for the namespace (the reader's position, or the last own
//     entry delivered here if later) and registers the socket as
//     restoring. Every entry up to end was delivered before the socket
//     existed; every later one is delivered after, through deliverEntry or
//     deliverOwnLocked, which (holding dispatchMu) keep the restoring socket out
//     of the live delivery and set the entry aside for it if it selects the
//     session's rooms.
//  2. XRANGE <offset+1> <end> in pages of ReadCount: what the client
//     missed up to end; at most 2×MaxLen+ReadCount entries are read (more
//     cannot be in a stream trimmed to MaxLen), past which the session is
//     not restored. The replay packets are not returned to sio.
//  3. When sio puts the socket in its rooms (AddAll), once it has all of
//     them, the XRANGE entries and those set aside after offset are
//     delivered to it, each once, in stream order, under dispatchMu; then
//     it takes live deliveries like any socket. That is before sio sends
//     the CONNECT reply, as sio's own replay is.
//
// A restoring socket that never arrives (its CONNECT failed) is forgotten
// after restoreHold; at most maxSetAside entries are set aside for one.

// restoreHold bounds how long a restored session waits for its socket.
const restoreHold = 30 * time.Second

// missed is one entry a restoring socket gets.
type missed struct {
	id    entryID
	rawID string
	data  []byte // the event's arguments, without offset
	atts  [][]byte
}

// restoring is a socket being restored on this node.
type restoring struct {
	sid    string
	member map[string]bool // the session's rooms, its id included
	rooms  []string        // the session's rooms but its id
	after  entryID         // the client's offset
	replay []missed        // from XRANGE
	held   []missed        // delivered live meanwhile
	lost   int             // set-aside entries dropped past maxSetAside
	sock   *sio.Socket     // once AddAll saw it
	timer  *time.Timer
}

// PersistSession saves the session of a socket that disconnected for a
// recoverable reason, for MaxDisconnectionDuration.
func (a *nsAdapter) PersistSession(ctx context.Context, s *sio.Session) error {
	v, err := encodeSession(s)
	if err != nil {
		return err
	}
	ttl := a.sessionTTL
	if ttl < time.Millisecond {
		ttl = 2 * time.Minute
	}
	return a.r.bus.SetPX(ctx, a.r.cfg.SessionKeyPrefix+s.PID, []byte(v), ttl)
}

// RestoreSession takes the session saved under pid and prepares the
// replay of what its client missed after offset. It returns no packets:
// they are delivered when the socket joins its rooms (see above).
func (a *nsAdapter) RestoreSession(ctx context.Context, pid, offset string) (*sio.Session, []*sio.Packet, error) {
	after, ok := parseID(offset)
	if !ok {
		return nil, nil, nil
	}
	v, found, err := a.r.bus.GetDel(ctx, a.r.cfg.SessionKeyPrefix+pid)
	if err != nil {
		return nil, nil, err
	}
	// Node asks for the offset's entry along with the session; either
	// missing fails the restore, and the session is gone either way.
	at, err := a.r.bus.XRange(ctx, a.stream.name, offset, offset, 1)
	if err != nil {
		return nil, nil, err
	}
	if !found || len(at) == 0 {
		return nil, nil, nil
	}
	sess, err := decodeSession(v)
	if err != nil {
		a.r.badInput("session "+pid, err)
		return nil, nil, nil
	}
	r := &restoring{sid: sess.SID, member: map[string]bool{sess.SID: true}, after: after}
	for _, room := range sess.Rooms {
		r.member[room] = true
		if room != sess.SID {
			r.rooms = append(r.rooms, room)
		}
	}
	a.dispatchMu.Lock()
	end := maxID(a.stream.position(), a.lastOwn)
	if old := a.restoring[r.sid]; old != nil {
		old.timer.Stop()
	}
	a.restoring[r.sid] = r
	a.nRestoring.Store(int32(len(a.restoring)))
	r.timer = time.AfterFunc(restoreHold, func() { a.forgetRestoring(r) })
	a.dispatchMu.Unlock()

	replay, err := a.scan(ctx, after, end, r.member)
	if err != nil {
		a.forgetRestoring(r)
		if errors.Is(err, errTooFar) {
			a.r.warn("restore", "redisstreams: a session is too far behind to be restored", slog.String("sid", r.sid))
			return nil, nil, nil
		}
		return nil, nil, err
	}
	a.dispatchMu.Lock()
	r.replay = replay
	a.dispatchMu.Unlock()
	return sess, nil, nil
}

var errTooFar = errors.New("redisstreams: more entries to replay than the stream can hold")

// scan reads the entries after `after` up to end and keeps those of this
// namespace that select member.
func (a *nsAdapter) scan(ctx context.Context, after, end entryID, member map[string]bool) ([]missed, error) {
	var out []missed
	page := a.r.cfg.ReadCount
	limit := 2*a.r.cfg.MaxLen + page
	endRaw := end.String()
	for from, read := after.next(), int64(0); !end.less(from); {
		entries, err := a.r.bus.XRange(ctx, a.stream.name, from.String(), endRaw, page)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			id, ok := parseID(e.ID)
			if !ok {
				return nil, errMalformed
			}
			from = id.next()
			m, err := entryFields(e.Fields)
			if err != nil || !m.hasNsp || m.nsp != a.ns.Name() || m.typ != clusterwire.MsgBroadcast {
				continue
			}
			d, atts, err := decodeData(m.data)
			if err != nil || d.RequestID != "" {
				continue
			}
			b, err := decodeBroadcast(d, atts)
			if err != nil || !b.target.selects(member) {
				continue
			}
			out = append(out, missed{id: id, rawID: e.ID, data: b.packet.Data, atts: b.packet.Attachments})
		}
		if read += int64(len(entries)); read > limit {
			return nil, errTooFar
		}
		if int64(len(entries)) < page {
			break
		}
	}
	return out, nil
}

// maxSetAside bounds the live entries set aside for one restoring socket.
const maxSetAside = 10000

// holdLocked is called, dispatchMu held, for each entry delivered here
// while sockets are restoring: they are left out of the delivery (opts
// gets their ids as except rooms) and get the entry later if it selects
// them.
func (a *nsAdapter) holdLocked(opts *sio.BroadcastOptions, t target, p *sio.Packet, id entryID, rawID string) *sio.BroadcastOptions {
	o := *opts
	o.Except = make([]string, 0, len(opts.Except)+len(a.restoring))
	o.Except = append(o.Except, opts.Except...)
	for _, r := range a.restoring {
		o.Except = append(o.Except, r.sid)
		if !t.selects(r.member) {
			continue
		}
		if len(r.held) >= maxSetAside {
			r.lost++
			continue
		}
		r.held = append(r.held, missed{id: id, rawID: rawID, data: p.Data, atts: p.Attachments})
	}
	return &o
}

func (a *nsAdapter) forgetRestoring(r *restoring) {
	a.dispatchMu.Lock()
	if a.restoring[r.sid] == r {
		delete(a.restoring, r.sid)
		a.nRestoring.Store(int32(len(a.restoring)))
	}
	a.dispatchMu.Unlock()
	r.timer.Stop()
}

// AddAll adds s to rooms. For a socket being restored, once it is in all
// its session's rooms, it also delivers what the client missed.
func (a *nsAdapter) AddAll(s *sio.Socket, rooms []string) {
	a.MemoryAdapter.AddAll(s, rooms)
	if a.nRestoring.Load() == 0 {
		return
	}
	a.dispatchMu.Lock()
	defer a.dispatchMu.Unlock()
	r := a.restoring[s.ID()]
	if r == nil {
		return
	}
	if r.sock == nil {
		r.sock = s
	} else if r.sock != s {
		return
	}
	have := map[string]bool{}
	for _, room := range a.MemoryAdapter.SocketRooms(s) {
		have[room] = true
	}
	for _, room := range r.rooms {
		if !have[room] {
			return // more rooms to come
		}
	}
	delete(a.restoring, r.sid)
	a.nRestoring.Store(int32(len(a.restoring)))
	r.timer.Stop()
	a.replayLocked(r)
}

// replayLocked delivers r's missed entries to its socket, each once, in
// stream order.
func (a *nsAdapter) replayLocked(r *restoring) {
	all := append(r.replay, r.held...)
	slices.SortStableFunc(all, func(x, y missed) int {
		switch {
		case x.id.less(y.id):
			return -1
		case y.id.less(x.id):
			return 1
		}
		return 0
	})
	only := &sio.BroadcastOptions{Rooms: []string{r.sid}, Local: true}
	var n uint64
	var prev entryID
	for _, m := range all {
		if !r.after.less(m.id) || (n > 0 && m.id == prev) {
			continue // the client has it, or it was both read and held
		}
		prev = m.id
		a.MemoryAdapter.Broadcast(&sio.Packet{Data: appendOffset(m.data, m.rawID), Attachments: m.atts}, only)
		n++
	}
	a.r.restored.Add(1)
	a.r.replayed.Add(n)
	if r.lost > 0 {
		a.r.warn("restore-lost", "redisstreams: a restored socket missed events delivered while it was restored", slog.String("sid", r.sid), slog.Int("lost", r.lost))
	}
}

// DelAll removes s from every room, and forgets it if it was being
// restored.
func (a *nsAdapter) DelAll(s *sio.Socket) {
	a.MemoryAdapter.DelAll(s)
	if a.nRestoring.Load() == 0 {
		return
	}
	a.dispatchMu.Lock()
	r := a.restoring[s.ID()]
	if r != nil && r.sock == s {
		delete(a.restoring, r.sid)
		a.nRestoring.Store(int32(len(a.restoring)))
		r.timer.Stop()
	}
	a.dispatchMu.Unlock()
}
