package redis

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/internal/msgpack"
	"github.com/sioloop/sioloop/sio"
)

// The classic adapter's messages, as @socket.io/redis-adapter encodes them
// (lib/index.ts): broadcasts are msgpack arrays [uid, packet, opts] on the
// namespace's broadcast channels; requests and responses are JSON, except
// the broadcast with acks and its acks, which are msgpack maps. Receivers
// accept both encodings: JSON when the first byte is '{'.

// errMalformed reports a message that is not what a socket.io node sends.
var errMalformed = errors.New("redis adapter: malformed message")

// target is who a broadcast or a request selects, as published: room
// names (socket ids included) and the except rooms.
type target struct {
	rooms  []string
	except []string
}

// targetOf is opts as published: rooms and except de-duplicated, as
// socket.io's are Sets (so that io.to("r").to("r") goes to r's own channel,
// where nodes without r drop it undecoded), the except socket added to the
// except rooms (socket.io's socket.broadcast is except [own id]).
func targetOf(opts *sio.BroadcastOptions) target {
	t := target{rooms: opts.Rooms, except: opts.Except}
	if hasDuplicates(opts.Rooms) {
		t.rooms = dedupe(opts.Rooms)
	}
	if opts.ExceptSocket != nil || hasDuplicates(opts.Except) {
		except := opts.Except
		if s := opts.ExceptSocket; s != nil {
			except = append(except[:len(except):len(except)], s.ID())
		}
		t.except = dedupe(except)
	}
	if t.rooms == nil {
		t.rooms = []string{}
	}
	if t.except == nil {
		t.except = []string{}
	}
	return t
}

func dedupe(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// hasDuplicates is quadratic, for the few rooms of a broadcast; a long
// list is assumed to have some and goes through dedupe.
func hasDuplicates(ss []string) bool {
	if len(ss) > 16 {
		return true
	}
	for i := range ss {
		for j := i + 1; j < len(ss); j++ {
			if ss[i] == ss[j] {
				return true
			}
		}
	}
	return false
}

// options is the target as the receiving node's MemoryAdapter takes it.
func (t target) options(volatile bool) *sio.BroadcastOptions {
	return &sio.BroadcastOptions{Rooms: t.rooms, Except: t.except, Volatile: volatile, Local: true}
}

// appendPacket appends socket.io's packet {type: 2, data, nsp} with the
// event's arguments transcoded from JSON once.
func appendPacket(dst []byte, p *sio.Packet, nsp string) ([]byte, error) {
	dst = msgpack.AppendMapHeader(dst, 3)
	dst = msgpack.AppendString(dst, "type")
	dst = msgpack.AppendInt(dst, clusterwire.EventType)
	dst = msgpack.AppendString(dst, "data")
	dst, err := msgpack.AppendJSON(dst, p.Data, p.Attachments)
	if err != nil {
		return dst, err
	}
	dst = msgpack.AppendString(dst, "nsp")
	return msgpack.AppendString(dst, nsp), nil
}

// appendOpts appends {rooms, except, flags}; flags holds volatile when set
// and timeout (milliseconds) when not 0, as socket.io sets them.
func appendOpts(dst []byte, t target, volatile bool, timeoutMs int64) []byte {
	dst = msgpack.AppendMapHeader(dst, 3)
	dst = msgpack.AppendString(dst, "rooms")
	dst = msgpack.AppendStrings(dst, t.rooms)
	dst = msgpack.AppendString(dst, "except")
	dst = msgpack.AppendStrings(dst, t.except)
	dst = msgpack.AppendString(dst, "flags")
	n := uint32(0)
	if volatile {
		n++
	}
	if timeoutMs > 0 {
		n++
	}
	dst = msgpack.AppendMapHeader(dst, n)
	if volatile {
		dst = msgpack.AppendString(dst, "volatile")
		dst = msgpack.AppendBool(dst, true)
	}
	if timeoutMs > 0 {
		dst = msgpack.AppendString(dst, "timeout")
		dst = msgpack.AppendInt(dst, timeoutMs)
	}
	return dst
}

// encodeBroadcast is the broadcast message [uid, packet, opts].
func encodeBroadcast(dst []byte, uid, nsp string, p *sio.Packet, t target, volatile bool) ([]byte, error) {
	dst = msgpack.AppendArrayHeader(dst, 3)
	dst = msgpack.AppendString(dst, uid)
	dst, err := appendPacket(dst, p, nsp)
	if err != nil {
		return dst, err
	}
	return appendOpts(dst, t, volatile, 0), nil
}

// encodeAckBroadcast is the request {uid, requestId, type: 7, packet, opts}.
func encodeAckBroadcast(dst []byte, uid, requestID, nsp string, p *sio.Packet, t target, volatile bool, timeoutMs int64) ([]byte, error) {
	dst = msgpack.AppendMapHeader(dst, 5)
	dst = msgpack.AppendString(dst, "uid")
	dst = msgpack.AppendString(dst, uid)
	dst = msgpack.AppendString(dst, "requestId")
	dst = msgpack.AppendString(dst, requestID)
	dst = msgpack.AppendString(dst, "type")
	dst = msgpack.AppendInt(dst, clusterwire.ReqBroadcast)
	dst = msgpack.AppendString(dst, "packet")
	dst, err := appendPacket(dst, p, nsp)
	if err != nil {
		return dst, err
	}
	dst = msgpack.AppendString(dst, "opts")
	return appendOpts(dst, t, volatile, timeoutMs), nil
}

// broadcastMsg is a decoded broadcast.
type broadcastMsg struct {
	uid      string
	nsp      string // "/" when absent
	packet   sio.Packet
	target   target
	volatile bool
}

// decodeBroadcast decodes [uid, packet, opts]. The packet's arguments
// become socket.io JSON with the binaries as attachments (copies: msg is
// the bus's buffer).
func decodeBroadcast(msg []byte) (*broadcastMsg, error) {
	r := msgpack.NewReader(msg)
	n, err := r.ReadArrayHeader()
	if err != nil || n < 3 {
		return nil, errMalformed
	}
	m := &broadcastMsg{nsp: "/"}
	if m.uid, err = readStringish(&r); err != nil {
		return nil, err
	}
	if err := decodePacket(&r, &m.packet, &m.nsp); err != nil {
		return nil, err
	}
	if err := decodeOpts(&r, &m.target, &m.volatile); err != nil {
		return nil, err
	}
	return m, nil
}

// decodePacket reads {type, data, nsp, ...}; data must be an array.
func decodePacket(r *msgpack.Reader, p *sio.Packet, nsp *string) error {
	n, err := r.ReadMapHeader()
	if err != nil {
		return errMalformed
	}
	seenData := false
	for i := 0; i < n; i++ {
		key, err := r.ReadString()
		if err != nil {
			return errMalformed
		}
		switch key {
		case "data":
			if t, _ := r.Peek(); t != msgpack.Array {
				return errMalformed
			}
			raw, err := r.Raw()
			if err != nil {
				return errMalformed
			}
			js, atts, _, err := msgpack.AppendToJSON(nil, raw, nil)
			if err != nil {
				return errMalformed
			}
			p.Data, p.Attachments = js, copyAll(atts)
			seenData = true
		case "nsp":
			if t, _ := r.Peek(); t == msgpack.Nil {
				r.Skip()
				continue
			}
			if *nsp, err = r.ReadString(); err != nil {
				return errMalformed
			}
		default:
			if err := r.Skip(); err != nil {
				return errMalformed
			}
		}
	}
	if !seenData {
		return errMalformed
	}
	return nil
}

// copyAll copies each slice (they alias the bus's buffer).
func copyAll(atts [][]byte) [][]byte {
	for i, a := range atts {
		atts[i] = bytes.Clone(a)
	}
	return atts
}

// decodeOpts reads {rooms, except, flags}; a missing part is empty.
func decodeOpts(r *msgpack.Reader, t *target, volatile *bool) error {
	if typ, _ := r.Peek(); typ == msgpack.Nil {
		return r.Skip()
	}
	n, err := r.ReadMapHeader()
	if err != nil {
		return errMalformed
	}
	for i := 0; i < n; i++ {
		key, err := r.ReadString()
		if err != nil {
			return errMalformed
		}
		switch key {
		case "rooms":
			if t.rooms, err = readRooms(r); err != nil {
				return err
			}
		case "except":
			if t.except, err = readRooms(r); err != nil {
				return err
			}
		case "flags":
			if err := readFlags(r, volatile); err != nil {
				return err
			}
		default:
			if err := r.Skip(); err != nil {
				return errMalformed
			}
		}
	}
	return nil
}

// readRooms reads an array of room names; JavaScript users may pass
// numbers (io.to(123)), which name the room "123".
func readRooms(r *msgpack.Reader) ([]string, error) {
	if typ, _ := r.Peek(); typ == msgpack.Nil {
		return nil, r.Skip()
	}
	n, err := r.ReadArrayHeader()
	if err != nil {
		return nil, errMalformed
	}
	rooms := make([]string, 0, n)
	for i := 0; i < n; i++ {
		s, err := readStringish(r)
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, s)
	}
	return rooms, nil
}

// readStringish reads a string, or a number as its decimal form.
func readStringish(r *msgpack.Reader) (string, error) {
	switch typ, _ := r.Peek(); typ {
	case msgpack.String:
		s, err := r.ReadString()
		if err != nil {
			return "", errMalformed
		}
		return s, nil
	case msgpack.Int:
		i, err := r.ReadInt()
		if err != nil {
			return "", errMalformed
		}
		return strconv.FormatInt(i, 10), nil
	case msgpack.Float:
		f, err := r.ReadFloat()
		if err != nil {
			return "", errMalformed
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	}
	return "", errMalformed
}

func readFlags(r *msgpack.Reader, volatile *bool) error {
	if typ, _ := r.Peek(); typ != msgpack.Map {
		return r.Skip()
	}
	n, err := r.ReadMapHeader()
	if err != nil {
		return errMalformed
	}
	for i := 0; i < n; i++ {
		key, err := r.ReadString()
		if err != nil {
			return errMalformed
		}
		if key == "volatile" {
			if typ, _ := r.Peek(); typ == msgpack.Bool {
				*volatile, _ = r.ReadBool()
				continue
			}
		}
		if err := r.Skip(); err != nil {
			return errMalformed
		}
	}
	return nil
}

// rooms is clusterwire.Rooms, except that null decodes to no rooms rather
// than nil, as the classic adapter has always read it: decodeResponse
// tells an allRooms answer by a non-nil Rooms, and a fetchSockets answer
// with rooms null gives sockets with an empty Rooms.
type rooms []string

func (rs *rooms) UnmarshalJSON(b []byte) error {
	var out clusterwire.Rooms
	if err := out.UnmarshalJSON(b); err != nil {
		return err
	}
	if out == nil {
		out = clusterwire.Rooms{}
	}
	*rs = rooms(out)
	return nil
}

// requestOpts is a request's {rooms, except}.
type requestOpts struct {
	Rooms  rooms           `json:"rooms"`
	Except rooms           `json:"except"`
	Flags  json.RawMessage `json:"flags,omitempty"`
}

// request is any message of the request channel, decoded from JSON (or
// from msgpack through JSON: atts then holds its binaries).
type request struct {
	UID       string          `json:"uid"`
	RequestID string          `json:"requestId"`
	Type      int             `json:"type"`
	Opts      *requestOpts    `json:"opts,omitempty"`
	Rooms     rooms           `json:"rooms,omitempty"`
	Close     bool            `json:"close,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	Packet    json.RawMessage `json:"packet,omitempty"`
	// The forms of 2, 3 and 4 from before 8.0 (one local socket).
	Sid  string `json:"sid,omitempty"`
	Room string `json:"room,omitempty"`

	atts [][]byte
}

// response is any message of the response channels.
type response struct {
	Type        int               `json:"type,omitempty"`
	RequestID   string            `json:"requestId"`
	Sockets     []json.RawMessage `json:"sockets,omitempty"`
	Rooms       rooms             `json:"rooms,omitempty"`
	Data        json.RawMessage   `json:"data,omitempty"`
	ClientCount int               `json:"clientCount,omitempty"`
	Packet      json.RawMessage   `json:"packet,omitempty"`

	hasSockets, hasRooms bool
	atts                 [][]byte
}

// decodeJSONOrMsgpack decodes msg into v: as JSON when it starts with '{',
// else as msgpack turned into JSON, whose binaries are returned.
func decodeJSONOrMsgpack(msg []byte, v any) ([][]byte, error) {
	if len(msg) > 0 && msg[0] == '{' {
		return nil, json.Unmarshal(msg, v)
	}
	js, atts, rest, err := msgpack.AppendToJSON(nil, msg, nil)
	if err != nil || len(rest) != 0 {
		return nil, errMalformed
	}
	return copyAll(atts), json.Unmarshal(js, v)
}

func decodeRequest(msg []byte) (*request, error) {
	req := new(request)
	atts, err := decodeJSONOrMsgpack(msg, req)
	if err != nil {
		return nil, errMalformed
	}
	req.atts = atts
	return req, nil
}

func decodeResponse(msg []byte) (*response, error) {
	res := new(response)
	var probe struct {
		Sockets json.RawMessage `json:"sockets"`
		Rooms   json.RawMessage `json:"rooms"`
	}
	atts, err := decodeJSONOrMsgpack(msg, res)
	if err != nil {
		return nil, errMalformed
	}
	if msg[0] == '{' {
		json.Unmarshal(msg, &probe)
	}
	res.hasSockets = res.Sockets != nil || isJSONArray(probe.Sockets)
	res.hasRooms = res.Rooms != nil || isJSONArray(probe.Rooms)
	res.atts = atts
	return res, nil
}

func isJSONArray(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '['
}

// remoteSocketJSON is a socket in a fetchSockets answer (a RemoteSocket of
// socket.io, as @socket.io/redis-adapter lib/index.ts sends it).
type remoteSocketJSON = clusterwire.RemoteSocket[rooms]

// firstArg returns the first argument of an answer's JSON arguments, as
// raw JSON ("null" when there is none).
func firstArg(p *sio.Packet) (json.RawMessage, error) {
	m, err := p.Message(false)
	if err != nil {
		return nil, err
	}
	if m.Len() == 0 {
		return json.RawMessage("null"), nil
	}
	return m.Arg(0), nil
}

// nodeJSON is p's arguments as a Node node puts them in a JSON request:
// binary attachments as JSON.stringify(Buffer) gives them,
// {"type":"Buffer","data":[bytes...]} (socket.io-redis-adapter JSON-encodes
// server-side emits, so a Buffer reaches Node handlers in that form).
func nodeJSON(p *sio.Packet) (json.RawMessage, error) {
	if len(p.Attachments) == 0 {
		return p.Data, nil
	}
	dec := json.NewDecoder(bytes.NewReader(p.Data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v = replacePlaceholders(v, p.Attachments)
	return json.Marshal(v)
}

func replacePlaceholders(v any, atts [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = replacePlaceholders(x[i], atts)
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph && len(x) == 2 {
			if n, ok := x["num"].(json.Number); ok {
				if i, err := n.Int64(); err == nil && i >= 0 && int(i) < len(atts) {
					data := make([]int, len(atts[i]))
					for j, b := range atts[i] {
						data[j] = int(b)
					}
					return map[string]any{"type": "Buffer", "data": data}
				}
			}
		}
		for k := range x {
			x[k] = replacePlaceholders(x[k], atts)
		}
	}
	return v
}
