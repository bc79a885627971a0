// Package redisstreams is a cluster adapter for sio on Redis Streams,
// wire-compatible with Node's @socket.io/redis-streams-adapter 0.3.1:
// sioloop nodes and Node socket.io nodes on the same Redis serve the same
// rooms, answer each other's requests, and restore each other's sessions
// (connection state recovery across nodes: a client that loses node A and
// reconnects to node B keeps its id, rooms and data, and gets every event
// it missed).
//
//	ra, err := redisstreams.New(ctx, redisstreams.Config{Addr: "127.0.0.1:6379"})
//	if err != nil { ... }
//	defer ra.Close()
//	srv := sio.NewServer(sio.Config{
//		Adapter:                 ra.ForNamespace,
//		ConnectionStateRecovery: &sio.RecoveryConfig{},
//	})
//
// is the Go side of
//
//	io = new Server({ adapter: createAdapter(redisClient), connectionStateRecovery: {} });
//
// # What goes where (as in the Node adapter's lib/adapter.ts)
//
// Broadcasts without acks, socketsJoin, socketsLeave and disconnectSockets
// are appended to the stream (XADD <StreamName> MAXLEN ~ <MaxLen> * uid
// nsp type data). Broadcasts with acks, serverSideEmit (with or without
// acks) and fetchSockets are published on <ChannelPrefix>#<nsp># as one
// msgpack message, and answered on <ChannelPrefix>#<nsp>#<uid>#. Every
// namespace has its own uid and subscribes both channels on the one
// subscriber connection of the Bus, so that PUBSUB NUMSUB of the first
// counts the nodes (ServerCount). AllRooms lists this node's rooms only:
// the protocol has no request for them.
//
// # The pipeline (pipeline.go)
//
// With connection state recovery, a broadcast's local delivery needs its
// entry id, the offset clients keep. Broadcast never waits for Redis: it
// queues the broadcast on its namespace's pipeline, whose sender appends it
// (one XADD in flight per namespace, in call order); the stream's reader
// then delivers it here with its offset when it reaches the entry, so that
// every socket gets the stream's entries in stream order and its offsets
// only grow (what an exact replay needs). Without recovery the broadcast
// is delivered at once and only the XADD waits. The queue holds at most MaxQueuedBytes;
// past it a broadcast is delivered at once and not appended. An XADD that
// fails or takes more than AppendTimeout leaves its broadcast delivered
// without offset, and the following XADDs are skipped, their broadcasts
// delivered at once, until a retry succeeds: local delivery goes on while
// Redis is away, other nodes miss what was not appended.
//
// # The readers (reader.go)
//
// One goroutine per stream (not per namespace) loops on XREAD COUNT
// ReadCount BLOCK BlockTime, from a start marker New appends (so that,
// unlike "$", nothing added between two XREADs is missed) and then from the
// last entry it saw, and hands each entry to its namespace's adapter with
// the entry id as offset. Entries of this node (its uid), of namespaces not
// served here, and without nsp are skipped. An entry that is not what a
// socket.io node writes is counted (Stats.Malformed) and skipped, never
// re-read. When Redis is down the reader retries with a backoff (50 ms to
// 1 s) from the same position: after a restart it reads what was added
// since. If the restart lost the stream (no persistence), the new stream's
// ids start at the server's clock, above this node's position, and are read
// as they come; nothing can be added while Redis is down.
//
// # Recovery (session.go)
//
// PersistSession and RestoreSession store and restore sessions exactly as
// the Node adapter does, so that either restores what the other saved;
// the replay is bounded and each missed event is delivered once, in order,
// before the CONNECT reply (session.go explains how).
//
// # Goroutines and locks
//
// A sio.Server's handlers call Broadcast and the other methods from any
// goroutine. Per Adapter: the Bus's goroutines, one reader per stream;
// per namespace: a sender goroutine while its pipeline is not empty. The
// reader and the senders deliver under the namespace's dispatchMu (also
// taken by RestoreSession, and by AddAll and DelAll while a socket is
// being restored), held while the MemoryAdapter queues a broadcast (which
// may wait for an overloaded event loop, at most 2 s). Lock order:
// nsAdapter.dispatchMu → stream.posMu, then hub locks; pipeline.mu,
// nsAdapter.mu, request.mu, Adapter.mu and health.mu are leaves. Joins,
// leaves and disconnects are applied with no adapter lock held, since
// joining calls back into AddAll.
//
// # Differences from the Node adapter
//
//   - A broadcast whose XADD fails is delivered here at once without
//     offset; node-redis would queue the XADD until Redis is back, holding
//     the local delivery.
//   - Own broadcasts are delivered here in stream order (by the reader);
//     Node delivers them when the XADD returns, possibly after a later
//     entry of another node, which a client's replay then repeats.
//   - The readers start from a marker entry rather than "$", skip bad
//     entries instead of re-reading them, and back off when Redis is down.
//   - The replay of a restored session stops at what this node had
//     delivered (later entries reach the socket through the reader, once),
//     instead of reading the stream until an empty reply.
//   - An entry whose packet has an ack id (Node's socket.emit with a
//     callback, recovery on) is delivered without the id, which only its
//     origin could answer.
//   - No sharded pub/sub (useShardedPubSub), no Redis Cluster.
//
// As in Node, with recovery on a broadcast (and Socket.Emit) reaches local
// sockets one XADD round trip later, while acks and EmitWithAck to one
// socket are written at once: these may overtake broadcasts still in the
// pipeline, unlike with sio's in-memory adapter.
package redisstreams
