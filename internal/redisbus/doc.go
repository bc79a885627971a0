// Package redisbus is the Redis transport of the cluster adapters (classic
// pub/sub, sharded pub/sub, streams) and of the Go emitter: one Bus per
// server process, on github.com/redis/rueidis (chosen by measurement:
// BENCHMARKS.md, "Redis client: rueidis against go-redis").
//
// # Publishing
//
// Publish and SPublish never block: they copy the payload into a queue
// bounded by Options.QueueBytes (DefaultQueueBytes, 4 MiB, counting channel
// names and payloads) and return. One sender goroutine writes everything
// queued as one pipeline (at most 1000 commands a write), waits for the
// replies and starts again, so one Bus's messages reach Redis in order.
// A message is dropped, counted (Stats().Dropped, Dropped) and logged at
// most once per Options.LogInterval when the queue is full, when Redis is
// down (from the first failed batch until a PING is answered again: the
// queue is emptied then, and Publish drops at once), when its batch fails,
// or when the Bus closes. PublishWait and SPublishWait send one command and
// wait for Redis, for callers that must (the ClusterAdapter's senders).
// Flush waits until the queue is empty.
//
// # Subscribing
//
// Subscribe, PSubscribe, SSubscribe and their Unsubscribe counterparts
// change a counted set of wanted names and return at once. A manager
// goroutine per subscriber connection sends the commands; after a
// connection is lost (a Redis restart) it reconnects with a backoff
// (Options.ReconnectMin to ReconnectMax) and subscribes everything again by
// itself. Sync waits until the wanted set is in effect. A single server
// gets exactly one subscriber connection per Bus, and each name is
// subscribed at most once on it, so PUBSUB NUMSUB counts one Bus once, as
// Node's nodes expect (their serverCount is PUBSUB NUMSUB of the request
// channel, @socket.io/redis-adapter lib/index.ts). On a cluster, channels
// and patterns share the connection of the home node (the first master), and
// each shard channel goes to the connection of its slot's master, moved
// when CLUSTER SLOTS says its slot moved (a MOVED reply or an unrequested
// sunsubscribe makes the Bus look again).
//
// Every message goes to Options.Handler, called on the reading goroutine
// of its connection, never concurrently with itself. payload is a
// read-only view, valid only until the handler returns; channel and
// pattern are ordinary strings and may be kept.
//
// # Commands
//
// NumSub and ShardNumSub (summed over the masters of a cluster), XAdd,
// XRead (on rueidis's pool of connections for blocking commands), XRange,
// SetPX and GetDel (MULTI GET DEL EXEC) take a context. Their arguments
// are read during the call only.
//
// # Goroutines
//
// A Bus runs the publish sender, one manager per subscriber connection,
// on a cluster a topology goroutine, and rueidis's own reading and writing
// goroutines. Close stops them all and returns when they have.
package redisbus
