package clusterwire

import (
	"encoding/json"

	"github.com/sioloop/sioloop/sio"
)

// Answer is the Message of one value another node answered (a client's
// ack of a broadcast, a server-side emit's reply): v, whose binaries if
// any are atts, as the only argument. A missing value is null, as a Node
// callback called without arguments sends it.
func Answer(v json.RawMessage, atts [][]byte) (sio.Message, error) {
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	p := &sio.Packet{Data: append(append([]byte{'['}, v...), ']'), Attachments: atts}
	return p.Message(false)
}
