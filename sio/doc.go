// Package sio is a Socket.IO v5 server: namespaces, sockets, events with
// acknowledgements, rooms and broadcasts, middleware, with the words and
// behaviour of socket.io 4.8, on the Engine.IO server of package eio.
//
// Handler contract. Every callback the application registers for a
// connection (namespace middleware, OnConnection, event handlers, ack
// callbacks, OnDisconnect) runs off the event loops, on a goroutine that
// drains that connection's mailbox: one connection's callbacks run one at a
// time and in arrival order, and a slow callback delays only its own
// connection. Callbacks may block briefly; EmitWithAck blocks until the
// answer or the context's end, so call it from your own goroutine if the
// connection must keep receiving meanwhile.
//
// Delivery order. A socket receives packets in the order they were emitted
// to it from one goroutine, whether by broadcast or directly, as in
// socket.io. A broadcast to one room (or to everyone) returns before its
// packets are written: each event loop walks its share of the room's
// members later, and walks once for all the broadcasts queued to the same
// members meanwhile. Direct emits, acks and disconnects of a socket queue
// behind the broadcasts pending on its loop, so they never overtake them.
//
// Every exported method of Server, Namespace, Socket and BroadcastOperator is
// safe to call from any goroutine. An *Event and the bytes it exposes are
// valid only until its handler returns.
package sio
