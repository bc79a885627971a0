// Package chatdemo is the server side of sioloop's chat-and-rooms demo, the
// classic socket.io examples, with the page that drives them. It is shared
// by examples/chat (one server) and examples/cluster (several nodes on one
// Redis behind nginx), so that both run the same handlers and page.
//
// Events, as in the socket.io examples:
//
//   - connection: the socket id is logged;
//   - "client-message": logged with the sender's id;
//   - "chat-message": re-sent as "new-chat-message" to everyone but the
//     sender (socket.broadcast.emit);
//   - "join-team-room" (team): the socket joins the room named team and
//     alone receives "welcome-message";
//   - "score-update": sent to one team's room only, from outside any socket
//     handler: POST /score?team=team-red with the score as the body (the
//     mux of NewMux), or every interval of Tick with a random score. A
//     body that is a JSON number (3, -1, 2.5) is sent as a number, any
//     other short text ("Red: 1, Blue: 0", as in the socket.io examples)
//     as a string.
//
// Every broadcast goes through the server's adapter, so with a cluster
// adapter (sio.Config.Adapter) it reaches the sockets of every node: a chat
// message sent to one node, a score posted to another.
package chatdemo
