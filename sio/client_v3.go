package sio

import (
	"encoding/json"
	"errors"
	"net/url"

	"github.com/sioloop/sioloop/internal/packet"
)

// Clients of Engine.IO v3 (Config.AllowEIO3, socket.io-client 2.x) speak
// Socket.IO protocol v4, which differs from v5 as socket.io's
// `protocol === 3` branches say:
//
//   - the client is connected to the main namespace "/" at the handshake,
//     without sending a CONNECT for it (startV3);
//   - a CONNECT to another namespace carries the client's query in the
//     namespace, "/nsp?x=y", which becomes the auth (namespaceV3);
//   - the CONNECT reply has no payload (Server.sendConnect);
//   - a socket's id is the Engine.IO id, prefixed with "/nsp#" outside
//     the main namespace (socketIDV3);
//   - a refusal by middleware carries the error's data, or its message
//     as a JSON string (connectErrorDataV3), and an unknown namespace is
//     refused with the string "Invalid namespace" (client.connect).

// startV3 marks c as a v3 client and connects it to "/", as socket.io
// does on the connection of a v3 engine. Called by newClient, before any
// message of the client is handled.
func (c *client) startV3() {
	c.v3 = true
	c.postPacket(packet.Packet{Type: packet.Connect, Namespace: "/", ID: packet.NoID}, nil)
}

// namespaceV3 splits a v3 CONNECT namespace "/nsp?x=y" into the
// namespace and the auth object of its query ({"x":"y"}; of a key given
// twice, the last value).
func namespaceV3(nsp string) (string, []byte) {
	u, err := url.Parse(nsp)
	if err != nil || u.Path == "" {
		return nsp, nil
	}
	if u.RawQuery == "" {
		return u.Path, nil
	}
	auth := make(map[string]string)
	for k, vs := range u.Query() {
		auth[k] = vs[len(vs)-1]
	}
	b, err := json.Marshal(auth)
	if err != nil {
		return u.Path, nil
	}
	return u.Path, b
}

// socketIDV3 is the id socket.io gives a v3 client's socket in nsp.
func socketIDV3(nsp, engineID string) string {
	if nsp == "/" {
		return engineID
	}
	return nsp + "#" + engineID
}

// connectErrorDataV3 encodes a middleware error as the v3 CONNECT_ERROR
// payload: the *ConnectError's Data if it has some, else the message.
func connectErrorDataV3(err error) []byte {
	var ce *ConnectError
	if errors.As(err, &ce) && ce.Data != nil {
		if b, mErr := json.Marshal(ce.Data); mErr == nil {
			return b
		}
	}
	b, mErr := json.Marshal(err.Error())
	if mErr != nil {
		return []byte(`"connection refused"`)
	}
	return b
}
