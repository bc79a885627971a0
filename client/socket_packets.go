package client

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/message"
)

// What a socket receives: the packets of its namespace, the engine's
// opening and closing. These methods run in the socket's mailbox.

// sendConnect sends CONNECT on e, with the auth payload merged with the
// recovery state (pid and offset) as socket.io-client does.
func (s *Socket) sendConnect(e *engine) {
	if !s.m.isActive(s) {
		return // disconnected meanwhile
	}
	var auth any
	switch {
	case s.opts.AuthFunc != nil:
		auth = s.opts.AuthFunc()
	case s.opts.Auth != nil:
		auth = s.opts.Auth
	default:
		auth = s.m.opts.Auth
	}
	var data []byte
	if auth != nil {
		// Encoded as a one-element argument array, brackets dropped.
		b, atts, err := packet.AppendArgs(nil, "", []any{auth})
		if err == nil {
			b = bytes.TrimSpace(b[1 : len(b)-1])
		}
		if err != nil || len(b) == 0 || b[0] != '{' || len(atts) > 0 {
			if err == nil {
				err = errors.New("client: auth must encode to a JSON object without binary")
			}
			s.onConnectFailure(err, true)
			s.m.deactivate(s)
			return
		}
		data = b
	}
	s.mu.Lock()
	pid, offset := s.pid, s.lastOffset
	s.mu.Unlock()
	if pid != "" {
		// Object.assign({pid, offset}, auth): the recovery fields first, so
		// that auth's own keys win, as with the JS client.
		m := packet.AppendQuote(append([]byte(nil), `{"pid":`...), pid)
		if offset != "" {
			m = packet.AppendQuote(append(m, `,"offset":`...), offset)
		}
		if data != nil {
			if inner := bytes.TrimSpace(data[1 : len(data)-1]); len(inner) > 0 {
				m = append(append(m, ','), inner...)
			}
		}
		data = append(m, '}')
	}
	p := packet.Packet{Type: packet.Connect, Namespace: s.nsp, ID: packet.NoID, Data: data}
	_ = e.send(packet.AppendEncode(nil, &p), nil)
}

// onPacket handles one packet for this namespace from connection e.
func (s *Socket) onPacket(e *engine, p packet.Packet, atts [][]byte) {
	switch p.Type {
	case packet.Connect:
		var d struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if p.Data == nil || json.Unmarshal(p.Data, &d) != nil || d.SID == "" {
			s.onConnectFailure(errors.New("client: CONNECT answer without sid (a Socket.IO v2 server?)"), false)
			return
		}
		s.onConnect(e, d.SID, d.PID)
	case packet.Event, packet.BinaryEvent:
		s.mu.Lock()
		if !s.connected {
			s.recvBuf = append(s.recvBuf, packetWithAtt{p, atts})
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.onEvent(p, atts)
	case packet.Ack, packet.BinaryAck:
		s.mu.Lock()
		a := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if a == nil {
			return // unknown id: ignored, as socket.io-client does
		}
		m, err := message.Parse(p.Data, atts)
		a.f(m, err)
	case packet.Disconnect:
		s.mu.Lock()
		was := s.connected
		s.eng, s.connected, s.id = nil, false, ""
		s.mu.Unlock()
		s.m.deactivate(s)
		if was {
			s.fireDisconnect(ReasonServerDisconnect)
		}
	case packet.ConnectError:
		ce := &ConnectError{}
		if len(p.Data) > 0 && p.Data[0] == '"' {
			_ = json.Unmarshal(p.Data, &ce.Message)
		} else if p.Data != nil {
			var d struct {
				Message string          `json:"message"`
				Data    json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal(p.Data, &d)
			ce.Message, ce.Data = d.Message, d.Data
		}
		s.m.deactivate(s)
		s.onConnectFailure(ce, true)
	}
}

// onConnect completes a namespace connection: buffered events first, then
// buffered emits, then OnConnect, as socket.io-client orders them.
func (s *Socket) onConnect(e *engine, sid, pid string) {
	if !s.m.isActive(s) {
		return // Disconnect was called while the answer was on its way
	}
	s.mu.Lock()
	s.id = sid
	s.recovered = pid != "" && s.pid == pid
	s.pid = pid
	s.connected = true
	s.eng = e
	recv := s.recvBuf
	s.recvBuf = nil
	waiters := s.takeWaitersLocked(true)
	s.mu.Unlock()
	for _, r := range recv {
		s.onEvent(r.p, r.atts)
	}
	s.mu.Lock()
	if s.eng == e {
		// Under mu, so that no Emit overtakes the buffered events.
		for _, p := range s.sendBuf {
			if e.send(p.text, p.atts) != nil {
				break
			}
			if a := s.acks[p.id]; p.id != packet.NoID && a != nil {
				a.sent = true
			}
			s.sendBuf = s.sendBuf[1:]
		}
		if len(s.sendBuf) == 0 {
			s.sendBuf = nil
		}
	}
	fs := s.onConn
	s.mu.Unlock()
	wake(waiters, nil)
	for _, f := range fs {
		f()
	}
}

// onEvent runs the handlers of one event.
func (s *Socket) onEvent(p packet.Packet, atts [][]byte) {
	raw, err := packet.SplitArgs(p.Data)
	if err != nil || len(raw) == 0 {
		return
	}
	name, err := packet.EventName(raw[0])
	if err != nil {
		return
	}
	args := raw[1:]
	ev := &Event{Message: message.FromArgs(args, atts), Name: name, socket: s, id: p.ID}
	s.mu.Lock()
	if s.pid != "" && len(args) > 0 {
		// Connection state recovery: the server appends an offset to its
		// events; remember the last one to resume from.
		if last := args[len(args)-1]; len(last) > 0 && last[0] == '"' {
			var off string
			if json.Unmarshal(last, &off) == nil {
				s.lastOffset = off
			}
		}
	}
	anyIn := s.anyIn
	hs := s.handlers[name]
	if len(hs) > 0 {
		kept := hs[:0:0]
		for _, h := range hs {
			if !h.once {
				kept = append(kept, h)
			}
		}
		if len(kept) != len(hs) {
			s.handlers[name] = kept
		}
	}
	s.mu.Unlock()
	for _, f := range anyIn {
		f(ev)
	}
	for _, h := range hs {
		h.f(ev)
	}
}

// onEngineClose handles the end of connection e.
func (s *Socket) onEngineClose(e *engine, reason string, final bool) {
	s.mu.Lock()
	was := s.connected && s.eng == e
	if s.eng == e {
		s.eng, s.connected, s.id = nil, false, ""
	}
	waiters := s.takeWaitersLocked(final)
	s.mu.Unlock()
	if was {
		s.fireDisconnect(reason)
		return
	}
	err := errors.New("client: connection closed before the namespace connected: " + reason)
	s.fireConnectError(err)
	wake(waiters, err)
}

// onConnectFailure reports a failed attempt; final wakes ConnectContext.
func (s *Socket) onConnectFailure(err error, final bool) {
	s.mu.Lock()
	connected := s.connected
	waiters := s.takeWaitersLocked(final)
	s.mu.Unlock()
	if connected {
		return
	}
	s.fireConnectError(err)
	wake(waiters, err)
}

func (s *Socket) fireConnectError(err error) {
	s.mu.Lock()
	fs := s.onConnErr
	s.mu.Unlock()
	for _, f := range fs {
		f(err)
	}
}

// fireDisconnect fails the acks of events already sent and runs the
// OnDisconnect handlers.
func (s *Socket) fireDisconnect(reason string) {
	s.mu.Lock()
	var failed []*ackEntry
	for id, a := range s.acks {
		if a.sent {
			failed = append(failed, a)
			delete(s.acks, id)
		}
	}
	fs := s.onDisc
	s.mu.Unlock()
	for _, a := range failed {
		a.f(Message{}, ErrDisconnected)
	}
	for _, f := range fs {
		f(reason)
	}
}
