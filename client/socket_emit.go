package client

import (
	"bytes"
	"context"

	"github.com/sioloop/sioloop/internal/packet"
)

// What a socket sends: events, with or without an acknowledgement, and
// the answers to the server's acks.

// Emit sends event name with args. []byte values anywhere in args (also
// inside []any and maps, struct fields, pointers and slices of structs)
// travel as binary attachments; json.RawMessage passes through; other
// values are written as encoding/json writes them. While the socket is not connected the event waits in
// a buffer (SocketOptions.MaxBuffered) and leaves once it connects.
func (s *Socket) Emit(name string, args ...any) error {
	_, err := s.emit(name, args, false, nil)
	return err
}

// EmitWithAck sends event name and waits for the server's
// acknowledgement or the end of ctx (socket.timeout(ms).emitWithAck). It
// fails with ErrDisconnected when the socket disconnects after sending.
// Do not call it from a handler of the same socket: the answer is
// delivered by the goroutine the handler would be blocking.
func (s *Socket) EmitWithAck(ctx context.Context, name string, args ...any) (Message, error) {
	type result struct {
		m   Message
		err error
	}
	ch := make(chan result, 1)
	id, err := s.emit(name, args, false, func(m Message, err error) { ch <- result{m, err} })
	if err != nil {
		return Message{}, err
	}
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.acks, id)
		for i, p := range s.sendBuf {
			if p.id == id {
				s.sendBuf = append(s.sendBuf[:i], s.sendBuf[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		return Message{}, ctx.Err()
	}
}

// Volatile returns an emitter whose events are dropped, not buffered, when
// they cannot leave at once (socket.volatile).
func (s *Socket) Volatile() VolatileEmitter { return VolatileEmitter{s: s} }

// VolatileEmitter emits volatile events on a socket.
type VolatileEmitter struct{ s *Socket }

// Emit sends the event if the socket is connected and its transport
// writable now; otherwise the event is dropped and nil returned.
func (v VolatileEmitter) Emit(name string, args ...any) error {
	_, err := v.s.emit(name, args, true, nil)
	return err
}

// emit encodes and sends (or buffers) an event; with ack it registers the
// answer's callback and returns the ack id.
func (s *Socket) emit(name string, args []any, volatile bool, ack func(Message, error)) (int64, error) {
	if reservedEvents[name] {
		return packet.NoID, ErrReservedEvent
	}
	b := bufPool.Get()
	defer bufPool.Put(b)
	if name == "" {
		// AppendArgs takes "" for "no name" (an ack); an event named ""
		// still carries it, as socket.io-client sends it.
		args = append([]any{""}, args...)
	}
	body, atts, err := packet.AppendArgs(b.B[:0], name, args)
	if err != nil {
		return packet.NoID, err
	}
	b.B = body
	s.mu.Lock()
	defer s.mu.Unlock()
	p := packet.Packet{Type: packet.Event, Namespace: s.nsp, ID: packet.NoID, Data: body}
	if ack != nil {
		p.ID = s.ids
		s.ids++
	}
	if len(atts) > 0 {
		p.Type, p.Attachments = packet.BinaryEvent, len(atts)
	}
	text := packet.AppendEncode(nil, &p)
	if volatile {
		if s.connected && s.eng != nil && s.eng.writable() {
			_ = s.eng.send(text, atts)
		}
		return packet.NoID, nil
	}
	if s.connected && s.eng != nil {
		if err := s.eng.send(text, atts); err == nil {
			if ack != nil {
				s.addAck(p.ID, &ackEntry{f: ack, sent: true})
			}
			return p.ID, nil
		}
		// The connection just ended; the disconnect is on its way to the
		// mailbox. Keep the packet for the next connection.
	}
	if len(s.sendBuf) >= s.opts.MaxBuffered {
		return packet.NoID, ErrBufferFull
	}
	if ack != nil {
		s.addAck(p.ID, &ackEntry{f: ack})
	}
	// The attachments alias the caller's slices, which may change once
	// Emit returns: copy them.
	for i, a := range atts {
		atts[i] = bytes.Clone(a)
	}
	s.sendBuf = append(s.sendBuf, outPacket{text: text, atts: atts, id: p.ID})
	return p.ID, nil
}

// addAck registers an ack callback. Called with mu held.
func (s *Socket) addAck(id int64, a *ackEntry) {
	if s.acks == nil {
		s.acks = make(map[int64]*ackEntry)
	}
	s.acks[id] = a
}

// sendAck answers a server's acknowledgement request.
func (s *Socket) sendAck(id int64, args []any) error {
	b := bufPool.Get()
	defer bufPool.Put(b)
	body, atts, err := packet.AppendArgs(b.B[:0], "", args)
	if err != nil {
		return err
	}
	p := packet.Packet{Type: packet.Ack, Namespace: s.nsp, ID: id, Data: body}
	if len(atts) > 0 {
		p.Type, p.Attachments = packet.BinaryAck, len(atts)
	}
	text := packet.AppendEncode(nil, &p)
	b.B = body
	s.mu.Lock()
	e, ok := s.eng, s.connected
	s.mu.Unlock()
	if !ok || e == nil {
		return ErrNotConnected
	}
	return e.send(text, atts)
}
