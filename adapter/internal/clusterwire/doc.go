// Package clusterwire holds what adapter/redis and adapter/redisstreams
// share about talking to other socket.io nodes through Redis: the message
// envelope and types of socket.io-adapter's ClusterAdapter, the request
// types of the classic adapter, the JSON forms of room lists and of
// sockets in a fetchSockets answer, and the tables of requests that wait
// for other nodes' answers.
//
// Each adapter had its own copy of these; they are one package so that a
// fix to how Node's messages are read reaches every adapter at once. What
// differs between the wire formats (the classic adapter's msgpack
// broadcasts, the streams adapter's XADD fields) stays in each package.
//
// emitter does not import this package: it would pull in sio (for
// sio.RemoteSocket and sio.Message) and with it the whole server, which a
// program that only emits does not need. The emitter shares internal/msgpack
// instead and keeps its four request types.
//
// Nothing here holds a lock while calling back into an adapter: Table and
// Pending take their own mutex, a leaf, and release it before any
// callback runs.
package clusterwire
