package sio

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/msgpack"
	"github.com/sioloop/sioloop/internal/packet"
)

// Parser selects how Socket.IO packets are encoded on the wire (socket.io's
// parser option). Server and clients must use the same one.
type Parser uint8

const (
	// JSONParser is socket.io-parser, the default: a packet is a text
	// message, its binary arguments follow as attachments.
	JSONParser Parser = iota
	// MsgpackParser is socket.io-msgpack-parser: a packet is one binary
	// message, the msgpack map {type, data, nsp, id}, binary arguments
	// inside it as msgpack bin. Clients load socket.io.msgpack.min.js (the
	// bundle the server serves) or pass `parser: require("socket.io-msgpack-parser")`.
	// socket.io-client 2.x (Config.AllowEIO3) passes socket.io-msgpack-parser
	// 2.x, which sends CONNECT, DISCONNECT and ERROR as JSON text; the
	// server reads and writes those as that version does.
	MsgpackParser
)

// The packets are built and read in socket.io-parser's form everywhere in
// this package, and converted at the edge: encodeMsgpack turns a text
// packet and its attachments into the msgpack message, decodeMsgpack a
// msgpack message into the packet packet.Decode would have made of the
// text form, so that both parsers get the same checks.

var (
	errMsgpackPacket = errors.New("msgpack parser: not a packet (a map with type, nsp, data, id)")
	errMsgpackText   = errors.New("msgpack parser: a text message")
)

// encodeMsgpack appends the msgpack form of the text packet and its
// attachments to dst.
func encodeMsgpack(dst, text []byte, atts [][]byte) ([]byte, error) {
	p, err := packet.Decode(text, len(atts))
	if err != nil {
		return dst, err
	}
	typ := p.Type
	switch typ {
	case packet.BinaryEvent:
		typ = packet.Event
	case packet.BinaryAck:
		typ = packet.Ack
	}
	keys := uint32(2) // type, nsp
	if p.Data != nil {
		keys++
	}
	if p.ID != packet.NoID {
		keys++
	}
	dst = msgpack.AppendMapHeader(dst, keys)
	dst = msgpack.AppendInt(msgpack.AppendString(dst, "type"), int64(typ))
	if p.Data != nil {
		dst = msgpack.AppendString(dst, "data")
		if dst, err = msgpack.AppendJSON(dst, p.Data, atts); err != nil {
			return dst, err
		}
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	dst = msgpack.AppendString(msgpack.AppendString(dst, "nsp"), nsp)
	if p.ID != packet.NoID {
		dst = msgpack.AppendInt(msgpack.AppendString(dst, "id"), p.ID)
	}
	return dst, nil
}

// decodeMsgpack reads one msgpack packet as socket.io-msgpack-parser's
// decoder does (a map with an integer type 0 to 4, a string nsp, data of
// the kind the type needs, an integer id or none; other keys ignored;
// nothing after the map), then checks it as packet.Decode checks the text
// form. The packet and the attachments do not alias b. With v3 (a
// socket.io-client 2.x client, whose socket.io-msgpack-parser 2.x sends
// protocol v4 packets) it checks as that version's Decoder.checkPacket
// does: types 0 to 6, BINARY_EVENT and BINARY_ACK read as EVENT and ACK
// (the attachments are inside the map either way), no data in a CONNECT,
// and a string in an ERROR.
func decodeMsgpack(b []byte, maxAttachments int, v3 bool) (packet.Packet, [][]byte, error) {
	r := msgpack.NewReader(b)
	n, err := r.ReadMapHeader()
	if err != nil {
		return packet.Packet{}, nil, errMsgpackPacket
	}
	var (
		typ      int64 = -1
		nsp      string
		hasNsp   bool
		data     []byte
		id       int64 = packet.NoID
		sawField bool
	)
	for i := 0; i < n; i++ {
		key, err := r.ReadString()
		if err != nil {
			return packet.Packet{}, nil, errMsgpackPacket
		}
		switch key {
		case "type":
			if typ, err = r.ReadInt(); err != nil {
				return packet.Packet{}, nil, errMsgpackPacket
			}
		case "nsp":
			if nsp, err = r.ReadString(); err != nil {
				return packet.Packet{}, nil, errMsgpackPacket
			}
			hasNsp = true
		case "data":
			if data, err = r.Raw(); err != nil {
				return packet.Packet{}, nil, errMsgpackPacket
			}
		case "id":
			if id, err = r.ReadInt(); err != nil || id < 0 || id > packet.MaxID {
				return packet.Packet{}, nil, errMsgpackPacket
			}
		default:
			if err := r.Skip(); err != nil {
				return packet.Packet{}, nil, errMsgpackPacket
			}
		}
		sawField = true
	}
	maxType := int64(packet.ConnectError)
	if v3 {
		maxType = int64(packet.BinaryAck)
	}
	if !sawField || r.Len() != 0 || typ < int64(packet.Connect) || typ > maxType || !hasNsp ||
		len(nsp) == 0 || nsp[0] != '/' {
		return packet.Packet{}, nil, errMsgpackPacket
	}
	switch packet.Type(typ) {
	case packet.BinaryEvent:
		typ = int64(packet.Event)
	case packet.BinaryAck:
		typ = int64(packet.Ack)
	}
	// Data of the kind the type takes; undefined (notepack's fixext 1) is
	// no data, as a missing key.
	kind := msgpack.Invalid
	if data != nil && !(len(data) == 3 && data[0] == 0xd4 && data[1] == 0 && data[2] == 0) {
		dr := msgpack.NewReader(data)
		if kind, err = dr.Peek(); err != nil {
			return packet.Packet{}, nil, errMsgpackPacket
		}
	} else {
		data = nil
	}
	switch packet.Type(typ) {
	case packet.Connect:
		if data != nil && (v3 || kind != msgpack.Map) {
			return packet.Packet{}, nil, errMsgpackPacket
		}
	case packet.Disconnect:
		if data != nil {
			return packet.Packet{}, nil, errMsgpackPacket
		}
	case packet.ConnectError:
		if kind != msgpack.String && (v3 || kind != msgpack.Map) {
			return packet.Packet{}, nil, errMsgpackPacket
		}
	default:
		if kind != msgpack.Array {
			return packet.Packet{}, nil, errMsgpackPacket
		}
	}
	// The text form: type, attachment count, namespace, id, data.
	var js []byte
	var atts [][]byte
	if data != nil {
		if js, atts, _, err = msgpack.AppendToJSON(nil, data, nil); err != nil {
			return packet.Packet{}, nil, err
		}
	}
	return textPacket(packet.Type(typ), nsp, id, js, atts, maxAttachments)
}

// textPacket builds the socket.io-parser text form of a packet read by
// another parser (type, namespace, id, the data as JSON with placeholders
// for atts) and decodes it with packet.Decode, so that every parser's
// packets get the same checks. The attachments are copied.
func textPacket(t packet.Type, nsp string, id int64, js []byte, atts [][]byte, maxAttachments int) (packet.Packet, [][]byte, error) {
	if len(atts) > 0 {
		switch t {
		case packet.Event:
			t = packet.BinaryEvent
		case packet.Ack:
			t = packet.BinaryAck
		}
	}
	text := make([]byte, 0, 24+len(nsp)+len(js))
	text = append(text, byte('0'+t))
	if t.IsBinary() {
		text = append(strconv.AppendInt(text, int64(len(atts)), 10), '-')
	}
	if nsp != "/" {
		text = append(append(text, nsp...), ',')
	}
	if id != packet.NoID {
		text = strconv.AppendInt(text, id, 10)
	}
	text = append(text, js...)
	p, err := packet.Decode(text, maxAttachments)
	if err != nil {
		return packet.Packet{}, nil, err
	}
	return p, cloneAll(atts), nil
}

// sendMessage hands one packet (msg: its text form built after
// eio.BeginBuild; its attachments) to the session in the server's
// parser's encoding. Where writes reach the session only.
func (c *client) sendMessage(msg []byte, atts [][]byte) {
	if c.srv.cfg.Parser != MsgpackParser {
		c.sess.SendBuilt(msg, atts...)
		return
	}
	text := msg[eio.BuildReserve:]
	if c.v3 && len(text) > 0 && isJSONTypeV3(packet.Type(text[0]-'0')) {
		if js, err := encodeJSONV3(text); err == nil {
			c.sess.Send(js)
		}
		return
	}
	b := getBuf()
	var err error
	if b.B, err = encodeMsgpack(b.B[:0], text, atts); err == nil {
		c.sess.SendBinary(b.B)
	}
	putBuf(b)
}

// prepare encodes a packet (msg: its text form built after
// eio.BeginBuild, which prepare takes) for many sessions in the server's
// parser's encoding.
func (s *Server) prepare(msg []byte, atts [][]byte) *eio.Prepared {
	if s.cfg.Parser != MsgpackParser {
		return eio.PrepareBuilt(msg, atts...)
	}
	b, err := encodeMsgpack(nil, msg[eio.BuildReserve:], atts)
	if err != nil {
		b = nil
	}
	return eio.PrepareBinary(b)
}

// socket.io-msgpack-parser 2.x (the one of socket.io 2.x and its
// client) encodes CONNECT, DISCONNECT and ERROR packets as JSON in a text
// message, JSON.stringify(packet), and the rest as msgpack; its Decoder
// reads a text message as JSON and a binary one as msgpack, whatever the
// type (index.js of socket.io-msgpack-parser 2.2.1). For v3 clients the
// server writes those three types the same way and reads both forms.

// isJSONTypeV3 reports whether socket.io-msgpack-parser 2.x sends packets
// of type t as JSON text.
func isJSONTypeV3(t packet.Type) bool {
	return t == packet.Connect || t == packet.Disconnect || t == packet.ConnectError
}

// encodeJSONV3 returns the JSON text form of a CONNECT, DISCONNECT or
// ERROR packet given in socket.io-parser's text form:
// {"type":T,"data":D,"nsp":N}, data only when the packet has some.
func encodeJSONV3(text []byte) ([]byte, error) {
	p, err := packet.Decode(text, 0)
	if err != nil {
		return nil, err
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	ns, err := json.Marshal(nsp)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 32+len(ns)+len(p.Data))
	b = strconv.AppendInt(append(b, `{"type":`...), int64(p.Type), 10)
	if p.Data != nil {
		b = append(append(b, `,"data":`...), p.Data...)
	}
	b = append(append(append(b, `,"nsp":`...), ns...), '}')
	return b, nil
}

// decodeJSONV3 reads a text message of a v3 client with the msgpack
// parser, as socket.io-msgpack-parser 2.x's Decoder does: JSON.parse,
// then checkPacket (an integer type 0 to 6, a string nsp, data as the
// type needs, an integer id or none).
func decodeJSONV3(b []byte, maxAttachments int) (packet.Packet, error) {
	var in struct {
		Type *int64          `json:"type"`
		Nsp  *string         `json:"nsp"`
		Data json.RawMessage `json:"data"`
		ID   *int64          `json:"id"`
	}
	if err := json.Unmarshal(b, &in); err != nil || in.Type == nil || in.Nsp == nil {
		return packet.Packet{}, errMsgpackPacket
	}
	t, nsp := packet.Type(*in.Type), *in.Nsp
	if *in.Type < int64(packet.Connect) || *in.Type > int64(packet.BinaryAck) || len(nsp) == 0 || nsp[0] != '/' {
		return packet.Packet{}, errMsgpackPacket
	}
	id := int64(packet.NoID)
	if in.ID != nil {
		if *in.ID < 0 || *in.ID > packet.MaxID {
			return packet.Packet{}, errMsgpackPacket
		}
		id = *in.ID
	}
	var first byte
	if len(in.Data) > 0 {
		first = in.Data[0]
	}
	switch t {
	case packet.Connect, packet.Disconnect:
		if in.Data != nil {
			return packet.Packet{}, errMsgpackPacket
		}
	case packet.ConnectError:
		if first != '"' {
			return packet.Packet{}, errMsgpackPacket
		}
	default:
		// JSON has no binary: a BINARY_ type here has nothing attached.
		if first != '[' {
			return packet.Packet{}, errMsgpackPacket
		}
		if t == packet.BinaryEvent {
			t = packet.Event
		} else if t == packet.BinaryAck {
			t = packet.Ack
		}
	}
	p, _, err := textPacket(t, nsp, id, in.Data, nil, maxAttachments)
	return p, err
}
