// Package interop holds no code, only tests: they run sioloop's servers
// in-process and drive them with the real npm clients pinned in the
// repository's package.json (socket.io-client 4.8 and engine.io-client 6.6),
// through the node scripts under js/.
//
// Each test starts a server on a free loopback port, runs one node script
// (which prints one JSON line with what the client saw and exits non-zero on
// a protocol failure or timeout), then checks both what the client reported
// and what the server's handlers recorded.
//
// The cluster tests (cluster_test.go) run whole socket.io clusters on a real
// redis-server (internal/redistest): Node socket.io 4.8 nodes on the Redis
// adapters (js/cluster-node.mjs), many real clients (js/cluster-clients.mjs)
// and the Redis emitter (js/cluster-emitter.mjs). These scripts stay up and
// are driven by JSON commands, one a line on stdin, each answered by one line
// on stdout; other lines report what happened (js/cluster-lib.mjs documents
// the protocol). cluster_harness_test.go is the Go side: the clusterNode
// interface that a sioloop node will also implement, and an event log that
// keeps every report, so that a test waits for events, never for time.
//
// The tests need node and node_modules (npm ci at the repository root), and
// the cluster tests redis-server (bash .ci/setup installs it). Without node
// they skip, unless the CI environment variable is set, where a missing tool
// is a broken set-up and fails the test.
package interop
