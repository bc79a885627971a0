// Package redis is a cluster adapter for sio on Redis pub/sub,
// wire-compatible with Node's @socket.io/redis-adapter 8.3 (its classic
// createAdapter): sioloop nodes and Node socket.io nodes on the same Redis
// serve the same rooms, and @socket.io/redis-emitter reaches both.
//
//	ra, err := redis.New(ctx, redis.Config{Addr: "127.0.0.1:6379"})
//	if err != nil { ... }
//	defer ra.Close()
//	srv := sio.NewServer(sio.Config{Adapter: ra.ForNamespace})
//
// is the Go side of
//
//	io.adapter(createAdapter(pubClient, subClient));
//
// Each namespace gets its own node id (uid) and channels, as in Node:
// <key>#<nsp># and <key>#<nsp>#<room># for broadcasts (one PSUBSCRIBE),
// <key>-request#<nsp># for requests and <key>-response#<nsp># (and
// ...#<uid>#) for answers. A broadcast is encoded once per node, in
// msgpack as Node encodes it, and published once whatever the number of
// recipients and nodes; this node's own sockets get it through the same
// per-loop path as a local broadcast. Requests (fetchSockets, allRooms,
// serverSideEmit, broadcasts with acks) wait for as many answers as the
// request channel has subscribers (PUBSUB NUMSUB), at most until their
// context ends, RequestsTimeout when it has no deadline.
//
// Publishing never blocks a handler or an event loop: broadcasts are
// queued to Redis with a bound, and a broadcast that cannot be published
// (Redis down, queue full) is counted (Stats) and logged, while local
// delivery goes on. The connection reconnects and resubscribes by itself.
// Pub/sub is at most once: what is published while a node is cut from
// Redis does not reach it.
//
// Messages from other nodes are validated before anything is done with
// them: a malformed one is counted and logged, never fatal (Node nodes
// exit on some: a broadcast that is not msgpack makes notepack.io throw in
// the subscriber's listener).
package redis
