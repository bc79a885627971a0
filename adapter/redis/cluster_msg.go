package redis

import (
	"encoding/json"
	"strconv"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/sio"
)

// The ClusterAdapter message format (socket.io-adapter's cluster adapter,
// lib/cluster-adapter.ts, used by the sharded adapter,
// @socket.io/redis-adapter lib/sharded-adapter.ts): {type, data, uid, nsp},
// JSON, or msgpack when a message that may carry binaries does.

// clusterMsg is a decoded message; Data is JSON (from msgpack through
// JSON when it came as msgpack: atts then holds its binaries).
type clusterMsg struct {
	clusterwire.Message
	atts [][]byte
}

func decodeClusterMsg(b []byte) (*clusterMsg, error) {
	m := new(clusterMsg)
	atts, err := decodeJSONOrMsgpack(b, m)
	if err != nil {
		return nil, errMalformed
	}
	m.atts = atts
	return m, nil
}

// clusterData is the union of the data of every message type.
type clusterData struct {
	Packet      json.RawMessage   `json:"packet"`
	RequestID   string            `json:"requestId"`
	Opts        *requestOpts      `json:"opts"`
	Rooms       rooms             `json:"rooms"`
	Close       bool              `json:"close"`
	Sockets     []json.RawMessage `json:"sockets"`
	ClientCount int               `json:"clientCount"`
}

// clusterOpts is {rooms, except, flags} as a JSON value.
func clusterOpts(t target, volatile bool, timeoutMs int64) map[string]any {
	flags := map[string]any{}
	if volatile {
		flags["volatile"] = true
	}
	if timeoutMs > 0 {
		flags["timeout"] = timeoutMs
	}
	return map[string]any{"rooms": t.rooms, "except": t.except, "flags": flags}
}

// encodeClusterMsg encodes {type, data, uid, nsp}. data is a JSON value
// whose binaries are atts: with none, the message is JSON; with some (the
// types that may carry them), msgpack with the binaries inline, as the
// Node adapters encode it.
func encodeClusterMsg(typ int, data json.RawMessage, atts [][]byte, uid, nsp string) ([]byte, error) {
	if len(atts) == 0 {
		out := make([]byte, 0, len(data)+len(uid)+len(nsp)+40)
		out = append(out, `{"type":`...)
		out = strconv.AppendInt(out, int64(typ), 10)
		if len(data) > 0 {
			out = append(out, `,"data":`...)
			out = append(out, data...)
		}
		out = append(out, `,"uid":`...)
		out = appendJSONString(out, uid)
		out = append(out, `,"nsp":`...)
		out = appendJSONString(out, nsp)
		return append(out, '}'), nil
	}
	return clusterwire.AppendMessage(nil, typ, data, atts, uid, nsp)
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}

// packetJSON is socket.io's packet {type: 2, data} for cluster messages
// (no nsp: the envelope has it).
func packetJSON(p *sio.Packet) json.RawMessage {
	out := make([]byte, 0, len(p.Data)+20)
	out = append(out, `{"type":2,"data":`...)
	out = append(out, p.Data...)
	return append(out, '}')
}

// marshalData builds a message's data: fields, in order, as JSON; raw
// values are inserted as they are.
func marshalData(kv ...any) (json.RawMessage, error) {
	out := []byte{'{'}
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, kv[i].(string))
		out = append(out, ':')
		switch v := kv[i+1].(type) {
		case json.RawMessage:
			out = append(out, v...)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
	}
	return append(out, '}'), nil
}
