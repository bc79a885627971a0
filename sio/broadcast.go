package sio

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sioloop/sioloop/internal/packet"
)

// BroadcastOptions says who receives a broadcast, as socket.io's adapter
// sees it.
type BroadcastOptions struct {
	Rooms        []string // empty: every socket of the namespace
	Except       []string // sockets in any of these rooms are skipped
	ExceptSocket *Socket  // skipped too (socket.broadcast)
	Volatile     bool     // drop for clients that are not writable
	Local        bool     // this server only
}

// BroadcastOperator is an immutable broadcast target built with To, In,
// Except, Volatile and Local (socket.io's BroadcastOperator). Every method
// returns a new value; a BroadcastOperator may be kept and reused.
type BroadcastOperator struct {
	nsp          *Namespace
	rooms        []string
	except       []string
	exceptSocket *Socket
	volatile     bool
	local        bool
	timeout      time.Duration
}

func appendCopy(a []string, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// To adds rooms to the target (union).
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = appendCopy(b.rooms, rooms)
	return b
}

// In is an alias of To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except excludes sockets in rooms.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = appendCopy(b.except, rooms)
	return b
}

// Volatile lets the event be dropped for clients that are not ready.
func (b BroadcastOperator) Volatile() BroadcastOperator {
	b.volatile = true
	return b
}

// Local restricts the broadcast to this server.
func (b BroadcastOperator) Local() BroadcastOperator {
	b.local = true
	return b
}

func (b BroadcastOperator) options() *BroadcastOptions {
	return &BroadcastOptions{Rooms: b.rooms, Except: b.except, ExceptSocket: b.exceptSocket,
		Volatile: b.volatile, Local: b.local}
}

// Emit sends event name with args to every targeted socket. The packet is
// encoded once and the same bytes are written to every recipient.
func (b BroadcastOperator) Emit(name string, args ...any) error {
	if reservedEvents[name] {
		return ErrReservedEvent
	}
	opts := b.options()
	if st := b.nsp.srv.store; st != nil && !b.volatile {
		st.gate.RLock()
		defer st.gate.RUnlock()
	}
	text, atts, err := b.nsp.encodeEvent(name, args, packet.NoID, !b.volatile, opts)
	if err != nil {
		return err
	}
	b.nsp.adapter.Broadcast(text, atts, opts)
	return nil
}

// ErrAckTimeout is returned by EmitWithAck when some clients did not
// answer before the context ended; the answers received are returned too.
var ErrAckTimeout = errors.New("sio: operation has timed out")

// EmitWithAck sends the event to every targeted socket and gathers one
// acknowledgement per socket, until all answered or ctx ends.
func (b BroadcastOperator) EmitWithAck(ctx context.Context, name string, args ...any) ([]Message, error) {
	if reservedEvents[name] {
		return nil, ErrReservedEvent
	}
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	opts := b.options()
	id := b.nsp.nextAckID()
	text, atts, err := b.nsp.encodeEvent(name, args, id, false, opts)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var replies []Message
	expected := -1
	done := make(chan struct{})
	check := func() {
		if expected >= 0 && len(replies) >= expected {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	}
	n := b.nsp.adapter.BroadcastWithAck(text, atts, opts, id, func(m Message, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			replies = append(replies, m)
		} else {
			expected--
		}
		check()
	})
	mu.Lock()
	expected = n
	check()
	mu.Unlock()
	select {
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		return append([]Message(nil), replies...), nil
	case <-ctx.Done():
		b.nsp.dropAcks(id)
		mu.Lock()
		defer mu.Unlock()
		return append([]Message(nil), replies...), ErrAckTimeout
	}
}

// dropAcks removes ack id from every socket of the namespace, once a
// broadcast stopped waiting: the sockets that never answered would
// otherwise keep its callback (and the replies it holds) until they
// disconnect. Ack ids are unique per namespace, so no other emit is
// touched. It walks the namespace's sockets, O(sockets), but only when a
// broadcast with acks timed out; recipients are not remembered because
// every broadcast with acks would pay for that list.
func (n *Namespace) dropAcks(id int64) {
	for _, s := range n.Sockets() {
		s.dropAck(id)
	}
}

// FetchSockets returns the targeted sockets.
func (b BroadcastOperator) FetchSockets() []*Socket { return b.nsp.adapter.FetchSockets(b.options()) }

// SocketsJoin makes the targeted sockets join rooms.
func (b BroadcastOperator) SocketsJoin(rooms ...string) {
	b.nsp.adapter.AddSockets(b.options(), rooms)
}

// SocketsLeave makes the targeted sockets leave rooms.
func (b BroadcastOperator) SocketsLeave(rooms ...string) {
	b.nsp.adapter.DelSockets(b.options(), rooms)
}

// DisconnectSockets disconnects the targeted sockets.
func (b BroadcastOperator) DisconnectSockets(closeConn bool) {
	b.nsp.adapter.DisconnectSockets(b.options(), closeConn)
}
