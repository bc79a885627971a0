package redisstreams

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/internal/msgpack"
	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/sio"
)

// The wire formats of @socket.io/redis-streams-adapter 0.3 (lib/adapter.ts
// and lib/util.ts): socket.io-adapter's ClusterAdapter messages {type,
// data, uid, nsp} (lib/cluster-adapter.ts), as stream entries (XADD fields
// uid, nsp, type, data, with data the JSON of the message's data, or
// base64 of its msgpack when it holds binaries) or, on pub/sub, as one
// msgpack map.
//
// sio carries an event's arguments as socket.io JSON plus binary
// attachments ({"_placeholder":true,"num":n} where attachment n goes).
// Encoders build a message's data as JSON around the packet's JSON and, when
// there are attachments, transcode it to msgpack once (internal/msgpack
// puts each attachment back inline as bin). Decoders turn msgpack into
// that same JSON plus attachments, then read it with encoding/json.

// errMalformed reports input that is not what a socket.io node sends.
var errMalformed = errors.New("redisstreams: malformed message")

// target is who a broadcast or a request selects, as published: room
// names (socket ids included) and except rooms, each once (socket.io keeps
// them in Sets); the except socket of socket.broadcast is an except room.
type target struct {
	rooms, except []string
}

func targetOf(opts *sio.BroadcastOptions) target {
	extra := ""
	if opts.ExceptSocket != nil {
		extra = opts.ExceptSocket.ID()
	}
	return target{rooms: uniq(opts.Rooms, ""), except: uniq(opts.Except, extra)}
}

// uniq returns ss (plus extra when not empty) without duplicates, never
// nil; ss itself when it has none to drop and nothing to add.
func uniq(ss []string, extra string) []string {
	dup := len(ss) > 16 // past that, quadratic checking costs more than a map
	for i := 0; i < len(ss) && !dup; i++ {
		dup = ss[i] == extra && extra != ""
		for j := i + 1; j < len(ss) && !dup; j++ {
			dup = ss[i] == ss[j]
		}
	}
	if !dup && extra == "" {
		if ss == nil {
			return []string{}
		}
		return ss
	}
	out := make([]string, 0, len(ss)+1)
	seen := make(map[string]bool, len(ss)+1)
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if extra != "" && !seen[extra] {
		out = append(out, extra)
	}
	return out
}

// selects reports whether a socket whose rooms are member (its own id
// included) is among the recipients: Node's shouldIncludePacket, used when
// a session is restored.
func (t target) selects(member map[string]bool) bool {
	in := len(t.rooms) == 0
	for _, r := range t.rooms {
		if member[r] {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	for _, r := range t.except {
		if member[r] {
			return false
		}
	}
	return true
}

// options is the target as this node's MemoryAdapter takes it.
func (t target) options(volatile bool) *sio.BroadcastOptions {
	return &sio.BroadcastOptions{Rooms: t.rooms, Except: t.except, Volatile: volatile, Local: true}
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = packet.AppendQuote(dst, s)
	}
	return append(dst, ']')
}

// appendOpts appends {"rooms":[..],"except":[..],"flags":{..}}: flags
// holds volatile when set and timeout (ms) when not 0, as socket.io sets
// them.
func appendOpts(dst []byte, t target, volatile bool, timeoutMs int64) []byte {
	dst = append(dst, `{"rooms":`...)
	dst = appendStrings(dst, t.rooms)
	dst = append(dst, `,"except":`...)
	dst = appendStrings(dst, t.except)
	dst = append(dst, `,"flags":{`...)
	if volatile {
		dst = append(dst, `"volatile":true`...)
	}
	if timeoutMs > 0 {
		if volatile {
			dst = append(dst, ',')
		}
		dst = append(dst, `"timeout":`...)
		dst = strconv.AppendInt(dst, timeoutMs, 10)
	}
	return append(dst, "}}"...)
}

// appendBroadcastData appends a BROADCAST's data, {"packet":{"type":2,
// "data":[..]},"opts":{..}}, with "requestId" between them when requestID
// is not empty (a broadcast with acks), in socket.io's key order.
func appendBroadcastData(dst []byte, p *sio.Packet, t target, volatile bool, requestID string, timeoutMs int64) []byte {
	dst = append(dst, `{"packet":{"type":2,"data":`...)
	dst = append(dst, p.Data...)
	dst = append(dst, '}')
	if requestID != "" {
		dst = append(dst, `,"requestId":`...)
		dst = packet.AppendQuote(dst, requestID)
	}
	dst = append(dst, `,"opts":`...)
	dst = appendOpts(dst, t, volatile, timeoutMs)
	return append(dst, '}')
}

// appendChangeData appends the data of SOCKETS_JOIN and SOCKETS_LEAVE
// ({"opts":..,"rooms":[..]}) or DISCONNECT_SOCKETS ({"opts":..,"close":b}).
func appendChangeData(dst []byte, typ int, t target, rooms []string, closeConn bool) []byte {
	dst = append(dst, `{"opts":`...)
	dst = appendOpts(dst, t, false, 0)
	if typ == clusterwire.MsgDisconnectSockets {
		dst = append(dst, `,"close":`...)
		dst = strconv.AppendBool(dst, closeConn)
	} else {
		dst = append(dst, `,"rooms":`...)
		dst = appendStrings(dst, uniq(rooms, ""))
	}
	return append(dst, '}')
}

// streamData is the data field of an XADD: js itself, or with binaries
// base64 of its msgpack (the attachments inline as bin), as the Node
// adapter writes them.
func streamData(js []byte, atts [][]byte) (string, error) {
	if len(atts) == 0 {
		return string(js), nil
	}
	mp, err := msgpack.AppendJSON(nil, js, atts)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(mp), nil
}

// wireData is the union of the data of every message type.
type wireData struct {
	Packet      json.RawMessage   `json:"packet"`
	RequestID   string            `json:"requestId"`
	Opts        *wireOpts         `json:"opts"`
	Rooms       clusterwire.Rooms `json:"rooms"`
	Close       bool              `json:"close"`
	Sockets     []json.RawMessage `json:"sockets"`
	ClientCount int               `json:"clientCount"`
}

type wireOpts struct {
	Rooms  clusterwire.Rooms `json:"rooms"`
	Except clusterwire.Rooms `json:"except"`
	Flags  json.RawMessage   `json:"flags"`
}

// flags is what receivers use of opts.flags: volatile (truthy delivers it
// as volatile; present at all, Node gives no offset) and timeout (ms, for
// broadcasts with acks).
type flags struct {
	volatile, volatileSet bool
	timeoutMs             float64
}

func (o *wireOpts) flags() flags {
	var f flags
	if o == nil || len(o.Flags) == 0 || o.Flags[0] != '{' || string(o.Flags) == "{}" {
		return f
	}
	var raw struct {
		Volatile json.RawMessage `json:"volatile"`
		Timeout  json.RawMessage `json:"timeout"`
	}
	if json.Unmarshal(o.Flags, &raw) != nil {
		return f
	}
	if len(raw.Volatile) > 0 {
		f.volatileSet = true
		switch string(raw.Volatile) {
		case "false", "null", "0", `""`:
		default:
			f.volatile = true
		}
	}
	if len(raw.Timeout) > 0 {
		if t, err := strconv.ParseFloat(string(raw.Timeout), 64); err == nil && t > 0 {
			f.timeoutMs = t
		}
	}
	return f
}

func (o *wireOpts) target() target {
	t := target{rooms: o.Rooms, except: o.Except}
	if t.rooms == nil {
		t.rooms = []string{}
	}
	if t.except == nil {
		t.except = []string{}
	}
	return t
}

// wirePacket is a BROADCAST's packet {type, data, id?}.
type wirePacket struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
	ID   json.RawMessage `json:"id"`
}

// broadcast is a decoded BROADCAST: the event's arguments as sio takes
// them, who gets it and how.
type broadcast struct {
	packet sio.Packet
	target target
	flags  flags
	// acked: the packet has an ack id (socket.emit with a callback and
	// recovery on, on a Node node): no offset, and this node delivers it
	// without the id, which only its origin could answer.
	acked bool
}

// decodeBroadcast reads a BROADCAST's data: the packet's data must be a
// JSON array whose placeholders name attachments that exist, and opts
// must be there (a Node reader wedges on one without: the handler throws,
// and its XREAD loop polls again from the same offset).
func decodeBroadcast(d *wireData, atts [][]byte) (*broadcast, error) {
	if d.Opts == nil || len(d.Packet) == 0 || d.Packet[0] != '{' {
		return nil, errMalformed
	}
	var p wirePacket
	if json.Unmarshal(d.Packet, &p) != nil || !isArray(p.Data) {
		return nil, errMalformed
	}
	if len(atts) > 0 && packet.ValidatePlaceholders(p.Data, len(atts)) != nil {
		return nil, errMalformed
	}
	b := &broadcast{packet: sio.Packet{Data: p.Data, Attachments: atts}, target: d.Opts.target(), flags: d.Opts.flags()}
	b.acked = len(p.ID) > 0 && string(p.ID) != "null"
	return b, nil
}

func isArray(b []byte) bool { return len(b) > 1 && b[0] == '[' }

// decodeData reads a stream entry's data field: JSON when it starts with
// '{', else base64 of msgpack. The attachments alias a buffer of their own.
func decodeData(data string) (*wireData, [][]byte, error) {
	var js []byte
	var atts [][]byte
	if len(data) > 0 && data[0] == '{' {
		js = []byte(data)
	} else {
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			// Buffer.from(s, "base64") also takes it unpadded.
			if raw, err = base64.RawStdEncoding.DecodeString(data); err != nil {
				return nil, nil, errMalformed
			}
		}
		var rest []byte
		js, atts, rest, err = msgpack.AppendToJSON(nil, raw, nil)
		if err != nil || len(rest) != 0 {
			return nil, nil, errMalformed
		}
	}
	d := new(wireData)
	if len(js) == 0 || js[0] != '{' || json.Unmarshal(js, d) != nil {
		return nil, nil, errMalformed
	}
	return d, atts, nil
}

// streamMsg is a stream entry's fields.
type streamMsg struct {
	uid, nsp, data string
	typ            int
	hasNsp         bool
}

// entryFields reads an entry's fields (uid, nsp, type, data). An entry
// without nsp is not a socket.io message (a node's start marker, a
// harness's warm-up): every reader skips it.
func entryFields(fields []string) (streamMsg, error) {
	var m streamMsg
	var typ string
	var hasType bool
	for i := 0; i+1 < len(fields); i += 2 {
		switch v := fields[i+1]; fields[i] {
		case "uid":
			m.uid = v
		case "nsp":
			m.nsp, m.hasNsp = v, true
		case "type":
			typ, hasType = v, true
		case "data":
			m.data = v
		}
	}
	if !m.hasNsp || m.nsp == "" {
		m.hasNsp = false
		return m, nil
	}
	n, err := strconv.Atoi(typ)
	if !hasType || err != nil || n < 0 {
		return m, errMalformed
	}
	m.typ = n
	return m, nil
}

// decodeMessage reads a pub/sub message: one msgpack map, never JSON (a
// Node node drops a JSON payload as invalid, and so does this one). payload
// is not retained; the attachments are copies.
func decodeMessage(payload []byte) (*clusterwire.Message, *wireData, [][]byte, error) {
	js, atts, rest, err := msgpack.AppendToJSON(nil, payload, nil)
	if err != nil || len(rest) != 0 || len(js) == 0 || js[0] != '{' {
		return nil, nil, nil, errMalformed
	}
	for i, a := range atts {
		atts[i] = bytes.Clone(a)
	}
	m := new(clusterwire.Message)
	if json.Unmarshal(js, m) != nil {
		return nil, nil, nil, errMalformed
	}
	d := new(wireData)
	if len(m.Data) > 0 && string(m.Data) != "null" {
		if m.Data[0] != '{' || json.Unmarshal(m.Data, d) != nil {
			return nil, nil, nil, errMalformed
		}
	}
	return m, d, atts, nil
}

// appendOffset returns a copy of the JSON array data with offset appended
// as its last element (socket.io's packet.data.push(offset)).
func appendOffset(data []byte, offset string) []byte {
	end := len(data) - 1
	for end > 0 && data[end] != ']' {
		end--
	}
	empty := true
	for _, c := range data[1:end] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			empty = false
			break
		}
	}
	out := make([]byte, 0, len(data)+len(offset)+4)
	if empty {
		out = append(out, '[')
	} else {
		out = append(append(out, data[:end]...), ',')
	}
	out = append(out, '"')
	out = append(out, offset...) // digits and '-': nothing to escape
	return append(out, "\"]"...)
}

// wireSocket is one socket of a FETCH_SOCKETS_RESPONSE (a RemoteSocket of
// socket.io, as socket.io-adapter lib/cluster-adapter.ts sends it).
type wireSocket = clusterwire.RemoteSocket[clusterwire.Rooms]

// wireSession is a saved session, {sid, pid, rooms, data}, as socket.io
// gives it to persistSession.
type wireSession struct {
	SID   string            `json:"sid"`
	PID   string            `json:"pid"`
	Rooms clusterwire.Rooms `json:"rooms"`
	Data  json.RawMessage   `json:"data"`
}

// encodeSession is the value persistSession stores: base64 of the msgpack
// map {sid, pid, rooms, data}.
func encodeSession(s *sio.Session) (string, error) {
	data := s.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	b := msgpack.AppendMapHeader(nil, 4)
	b = msgpack.AppendString(b, "sid")
	b = msgpack.AppendString(b, s.SID)
	b = msgpack.AppendString(b, "pid")
	b = msgpack.AppendString(b, s.PID)
	b = msgpack.AppendString(b, "rooms")
	b = msgpack.AppendStrings(b, s.Rooms)
	b = msgpack.AppendString(b, "data")
	b, err := msgpack.AppendJSON(b, data, nil)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// decodeSession reads a value persistSession stored. Binary values in
// socket.data (a Node socket's Buffer) come back as placeholder objects:
// sio's socket.data is JSON.
func decodeSession(v []byte) (*sio.Session, error) {
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
	n, err := base64.StdEncoding.Decode(raw, v)
	if err != nil {
		return nil, errMalformed
	}
	js, _, rest, err := msgpack.AppendToJSON(nil, raw[:n], nil)
	if err != nil || len(rest) != 0 || len(js) == 0 || js[0] != '{' {
		return nil, errMalformed
	}
	var w wireSession
	if json.Unmarshal(js, &w) != nil || w.SID == "" {
		return nil, errMalformed
	}
	if len(w.Data) == 0 {
		w.Data = json.RawMessage(`{}`) // socket.data's default
	}
	return &sio.Session{SID: w.SID, PID: w.PID, Rooms: w.Rooms, Data: w.Data}, nil
}
