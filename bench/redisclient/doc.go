// Package redisclient holds the benchmarks that chose the Redis client under
// internal/redisbus: github.com/redis/rueidis against
// github.com/redis/go-redis/v9, on a real redis-server (internal/redistest),
// in one run, for the cluster adapters' hot paths:
//
//   - publish: PUBLISH of a 200-byte payload, from one goroutine and from many
//     (b.RunParallel with SetParallelism), waiting for each reply ("sync") or
//     fire-and-forget through a bounded queue drained by one batching sender
//     ("async", the shape redisbus.Bus.Publish has);
//   - receive: one subscriber connection receiving a stream of 200-byte
//     messages on an exact channel (SUBSCRIBE) and on a pattern (PSUBSCRIBE),
//     timed per received message; the stream comes from a raw TCP connection
//     that writes pre-encoded PUBLISH commands and allocates nothing, so
//     allocs/op are the subscriber client's;
//   - sharded: SPUBLISH and SSUBSCRIBE on a three-master Redis Cluster.
//
// The package has no code outside its tests. The loser of the comparison,
// go-redis, is imported here and nowhere else. Run it with
//
//	go test ./bench/redisclient -run '^$' -bench . -benchtime 20000x -count 5
//
// and compare with benchstat -col /client. BENCHMARKS.md has the figures.
package redisclient
