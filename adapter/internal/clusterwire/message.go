package clusterwire

import (
	"encoding/json"

	"github.com/sioloop/sioloop/internal/msgpack"
)

// Message types of socket.io-adapter's ClusterAdapter (its MessageType in
// lib/cluster-adapter.ts), used by the sharded adapter and the streams
// adapter.
// The streams adapter 0.3 sends neither the heartbeats nor ADAPTER_CLOSE.
const (
	MsgInitialHeartbeat       = 1
	MsgHeartbeat              = 2
	MsgBroadcast              = 3
	MsgSocketsJoin            = 4
	MsgSocketsLeave           = 5
	MsgDisconnectSockets      = 6
	MsgFetchSockets           = 7
	MsgFetchSocketsResponse   = 8
	MsgServerSideEmit         = 9
	MsgServerSideEmitResponse = 10
	MsgBroadcastClientCount   = 11
	MsgBroadcastAck           = 12
	MsgAdapterClose           = 13
)

// Message is the envelope of a ClusterAdapter message, {type, data, uid,
// nsp}, as decoded from JSON (or from msgpack through JSON); Data is the
// JSON of the type's data, which each adapter decodes itself.
type Message struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
	UID  string          `json:"uid"`
	Nsp  string          `json:"nsp"`
}

// AppendMessage appends the msgpack form of a message, the map {type,
// data, uid, nsp} in that order, as the Node adapters encode it: data
// transcoded from JSON once with atts inline as bin, and left out when
// dataJSON is empty (heartbeats and ADAPTER_CLOSE have none).
func AppendMessage(dst []byte, typ int, dataJSON []byte, atts [][]byte, uid, nsp string) ([]byte, error) {
	n := uint32(3)
	if len(dataJSON) > 0 {
		n++
	}
	dst = msgpack.AppendMapHeader(dst, n)
	dst = msgpack.AppendString(dst, "type")
	dst = msgpack.AppendInt(dst, int64(typ))
	if len(dataJSON) > 0 {
		dst = msgpack.AppendString(dst, "data")
		var err error
		if dst, err = msgpack.AppendJSON(dst, dataJSON, atts); err != nil {
			return nil, err
		}
	}
	dst = msgpack.AppendString(dst, "uid")
	dst = msgpack.AppendString(dst, uid)
	dst = msgpack.AppendString(dst, "nsp")
	return msgpack.AppendString(dst, nsp), nil
}
