// Command server is sioloop's implementation of the benchmark scenario
// contract (BENCHMARKS.md, Method):
// events "join" (ack after the join), "bcast" (io.to(room).emit("msg", obj))
// and "echo" (ack with the same arguments), registered by package
// bench/scenario on the public sio API.
//
//	go run ./bench/server -addr 127.0.0.1:3001
//	go run ./bench/server -addr 127.0.0.1:3002 -redis 127.0.0.1:6379
//
// -redis sets the classic Redis adapter (adapter/redis, wire-compatible with
// Node's @socket.io/redis-adapter), so that several server processes on one
// Redis form a cluster: a broadcast on one reaches the room's members on all.
package main
