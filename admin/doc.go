// Package admin is the server side of the Socket.IO Admin UI
// (@socket.io/admin-ui 0.5.1): what instrument(io, options) does on a Node
// server, for a sio.Server, wire-compatible with the UI (the hosted one at
// https://admin.socket.io, or the built files in the npm package's
// ui/dist).
//
//	srv := sio.NewServer(sio.Config{CORS: &sio.CORS{Origins: []string{"https://admin.socket.io"}, Credentials: true}})
//	in, err := admin.Instrument(srv, admin.Options{
//		Auth: &admin.BasicAuth{Username: "admin", Password: "$2b$10$..."}, // bcrypt hash
//	})
//
// The UI connects to the admin namespace ("/admin"), with its username and
// password or the session id it was given; it is then sent its config (the
// actions it may take), server_stats every 2 seconds and, in Development
// mode, every socket (all_sockets) and each socket's connection, rooms,
// data, upgrade, events and disconnection as they happen. Its actions
// (emit, join, leave, _disconnect, on one socket, a room or a whole
// namespace) act on the server unless Options.Readonly.
//
// Differences from admin-ui, all in what the UI displays:
//   - event_sent for a broadcast is told, as socket.io does, for each of
//     its recipients on this node, but those are the sockets the broadcast
//     selects when it is emitted: sioloop delivers it a moment later.
//   - packetsIn/Out and bytesIn/Out count Socket.IO packets
//     (sio.Server.Stats), attachments included in their bytes, and are
//     counted in the second each server_stats is sent rather than in the
//     second each packet moved; the UI sums them over 10 seconds.
//   - uptime counts from this package's initialization.
//   - another node's sockets (a cluster adapter) have no clientId and
//     transport, which admin-ui reads from a field it adds to socket.data.
package admin
