package sio

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Server-side emits are events between the nodes of a cluster
// (socket.io's serverSideEmit): a node sends one with ServerSideEmit, and
// every other node runs its OnServerSideEmit handlers for that name.

// ServerSideEvent is an event another node sent with ServerSideEmit.
type ServerSideEvent struct {
	Message
	// Name is the event name.
	Name  string
	ack   func(*Packet)
	acked atomic.Bool
}

// HasAck reports whether the sending node waits for an answer.
func (e *ServerSideEvent) HasAck() bool { return e.ack != nil }

// Ack answers the sending node (its ServerSideEmitWithAck gets the first
// argument, as socket.io's callback does). It is a no-op when no answer
// is wanted, and may be called once.
func (e *ServerSideEvent) Ack(args ...any) error {
	if e.ack == nil {
		return nil
	}
	if e.acked.Swap(true) {
		return ErrAlreadyAcked
	}
	p, err := NewPacket("", args...)
	if err != nil {
		return err
	}
	e.ack(p)
	return nil
}

// OnServerSideEmit registers f for the server-side emits named name that
// other nodes send to this namespace (io.on(name) in socket.io). Handlers
// run on their own goroutine, at most maxServerSideHandlers at once
// for the whole server; a panic is logged and contained.
func (n *Namespace) OnServerSideEmit(name string, f func(*ServerSideEvent)) {
	n.mu.Lock()
	if n.sse == nil {
		n.sse = make(map[string][]func(*ServerSideEvent))
	}
	n.sse[name] = append(n.sse[name], f)
	n.mu.Unlock()
}

// ServerSideEmit sends event name with args to the other nodes of the
// cluster (ErrNoCluster with the in-memory adapter).
func (n *Namespace) ServerSideEmit(ctx context.Context, name string, args ...any) error {
	if reservedEvents[name] {
		return ErrReservedEvent
	}
	p, err := NewPacket(name, args...)
	if err != nil {
		return err
	}
	return n.adapter.ServerSideEmit(ctx, p)
}

// ServerSideEmitWithAck sends event name with args to the other nodes and
// waits for one answer from each, until ctx ends (then with ErrAckTimeout
// and the answers that came).
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, name string, args ...any) ([]Message, error) {
	if reservedEvents[name] {
		return nil, ErrReservedEvent
	}
	p, err := NewPacket(name, args...)
	if err != nil {
		return nil, err
	}
	return n.adapter.ServerSideEmitWithAck(ctx, p)
}

// maxServerSideHandlers bounds the server-side emit handlers running at
// once; past it, HandleServerSideEmit waits, which slows the adapter's
// reading of other nodes' messages rather than piling up goroutines.
const maxServerSideHandlers = 64

// HandleServerSideEmit runs this namespace's handlers for p, a
// server-side emit received from another node (its Data starts with the
// event name). ack, when not nil, sends the answer to the sending node;
// it is called at most once. For cluster adapters.
func (n *Namespace) HandleServerSideEmit(p *Packet, ack func(*Packet)) {
	m, err := p.Message(false)
	if err != nil || m.Len() == 0 {
		return
	}
	var name string
	if m.Decode(&name) != nil {
		return
	}
	n.mu.RLock()
	fs := n.sse[name]
	n.mu.RUnlock()
	if len(fs) == 0 {
		return
	}
	if m, err = p.Message(true); err != nil { // the arguments after the name
		return
	}
	e := &ServerSideEvent{Message: m, Name: name, ack: ack}
	n.srv.sseSlots <- struct{}{}
	go func() {
		defer func() { <-n.srv.sseSlots }()
		for _, f := range fs {
			n.runServerSide(f, e)
		}
	}()
}

func (n *Namespace) runServerSide(f func(*ServerSideEvent), e *ServerSideEvent) {
	defer func() {
		if v := recover(); v != nil {
			n.srv.logPanic(v, slog.String("namespace", n.name), slog.String("serverSideEmit", e.Name))
		}
	}()
	f(e)
}
