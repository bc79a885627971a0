// Package sio is a Socket.IO v5 server: namespaces, sockets, events with
// acknowledgements, rooms and broadcasts, middleware, with the words and
// behaviour of socket.io 4.8, on the Engine.IO server of package eio.
//
// Handler contract. Every callback the application registers for a
// connection (namespace middleware, OnConnection, event handlers, ack
// callbacks, OnDisconnect) runs off the event loops, on a goroutine that
// drains that connection's mailbox: one connection's callbacks run one at a
// time and in arrival order, and a slow callback delays only its own
// connection. Callbacks may block; while one connection's callbacks lag, its
// queued events are bounded by Config.MaxQueuedInputBytes, past which that
// connection is no longer read (its client waits, TCP flow control slows
// it, nothing is dropped) until half of them are handled. EmitWithAck may
// be called from the socket's own handler: acknowledgements are resolved
// as soon as they arrive, not queued behind the handler waiting for them.
//
// Panics. A panic in a callback (event handler, middleware, OnConnection,
// OnDisconnect and the other listeners, room hooks, sio.Handle's function,
// OnNewNamespace, the fallback handler of ListenAndServe) is recovered and
// logged at error level through Config.Logger with the socket id, the
// namespace and the stack; that one connection is closed as
// Disconnect(true) would (the fallback handler answers 500). The worker
// that ran it goes on serving other connections.
//
// Overload. Each event loop bounds the broadcast work queued on it and not
// yet run (Config.MaxLoopBacklog). While a loop is over it, a volatile
// broadcast to it is dropped and any other broadcast waits in Emit until
// the loop has worked off half: a publisher is slowed to the rate its
// recipients can be served, and the delay of a delivered message stays
// bounded. Do not broadcast from OnConnectionError, which may run on an
// event loop: its wait could not end before a 2 s safety timeout. The
// request callbacks that may block (AllowRequest, the header hooks, a CORS
// origin func) run on goroutines of their own (Config.MaxBlockingRequests).
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
