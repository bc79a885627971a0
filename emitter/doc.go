// Package emitter sends into a cluster of Socket.IO servers from a Go
// program that is not one: the Go counterpart of Node's
// @socket.io/redis-emitter 5.1. Node socket.io nodes on
// @socket.io/redis-adapter (classic pub/sub, createAdapter) and sioloop
// nodes on adapter/redis receive what it publishes as if another node had
// sent it.
//
//	em, err := emitter.New(ctx, emitter.Config{Addr: "127.0.0.1:6379"})
//	if err != nil { ... }
//	defer em.Close()
//	em.To("room1").Except("muted").Emit("news", payload)
//	em.Of("/admin").Emit("alert", "disk full")
//	em.In("room1").SocketsJoin(ctx, "room2")
//	em.ServerSideEmit(ctx, "reload", version)
//
// is the Go side of
//
//	const emitter = new Emitter(redisClient);
//	emitter.to("room1").except("muted").emit("news", payload);
//	emitter.of("/admin").emit("alert", "disk full");
//	emitter.in("room1").socketsJoin("room2");
//	emitter.serverSideEmit("reload", version);
//
// # On the wire
//
// The messages are byte for byte those of the Node emitter 5.1.0 (its
// lib/index.ts). The package's tests check it against the real Node
// emitter's output, live when node is installed and always against the
// recording in testdata/node-emitter.jsonl:
//
//   - Emit publishes the msgpack array ["emitter", {type: 2, data: [event,
//     ...args], nsp}, {rooms, flags, except}] on <key>#<nsp>#<room># when
//     exactly one room is selected, on <key>#<nsp># otherwise. Arguments
//     are encoded as sio encodes them (as encoding/json writes them, with
//     every []byte becoming a binary attachment, also in struct fields,
//     behind pointers and in typed slices and maps), then transcoded to msgpack as notepack.io writes
//     the same JS value: a []byte is msgpack bin, which the receiving
//     nodes hand to their clients as a binary attachment, as they do with
//     the Node emitter's Buffers.
//   - SocketsJoin, SocketsLeave and DisconnectSockets publish the JSON
//     requests {type: 2|3, opts: {rooms, except}, rooms} and {type: 4,
//     opts, close} on <key>-request#<nsp>#, without a uid, so that every
//     node applies them. ServerSideEmit publishes {uid: "emitter", type:
//     6, data: [event, ...args]} there, written as JSON.stringify writes
//     it (a []byte becomes {"type":"Buffer","data":[...]}, as a Buffer
//     does).
//
// # Operators
//
// To, In, Except, Volatile and Compress return a BroadcastOperator, an
// immutable value: each call returns a new one and leaves its receiver as
// it was, so operators can be kept and shared between goroutines. Rooms
// are de-duplicated in the order they were first named, as the Node
// emitter's Sets are. Of returns an Emitter for another namespace that
// shares the connection.
//
// # Delivery and blocking
//
// Emit never waits for Redis: the message is queued (bounded by
// Config.MaxQueuedBytes) and written by a sender goroutine in order. While
// Redis is down, or the queue is full, Emit drops the message at once,
// counts it (Stats) and returns ErrDropped; a nil error means queued, not
// delivered. Pub/sub is at most once: a node cut from Redis misses what is
// published meanwhile. The connection comes back by itself.
//
// SocketsJoin, SocketsLeave, DisconnectSockets and ServerSideEmit take a
// context and return once Redis has taken the request (or with the error
// that prevented it, ctx's included). They first wait until every message
// queued by an earlier Emit was written, so a request never overtakes an
// Emit made before it; Emits made meanwhile by other goroutines are held
// back and follow the request, so a busy emitter cannot starve it. Every
// message thus reaches Redis in the order of the calls, as the Node
// emitter's do on its one connection. None of them waits for the nodes to
// apply the request.
//
// # What the emitter cannot do
//
// As the Node emitter, it never subscribes, so it cannot ask for answers:
// no acknowledgements (Node's serverSideEmit throws "Acknowledgements are
// not supported"; here there is simply no ...WithAck method), no
// fetchSockets, serverCount, timeout or local. It speaks the classic
// adapter protocol only: not the sharded adapter (SPUBLISH) nor the
// streams adapter.
//
// # Concurrency and buffers
//
// Every method is safe for concurrent use. Arguments are encoded and
// copied before Emit and the request methods return; nothing of them is
// retained.
package emitter
