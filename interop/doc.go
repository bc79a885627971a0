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
// The tests need node and node_modules (npm ci at the repository root).
// Without them they skip, unless the CI environment variable is set, where a
// missing tool is a broken set-up and fails the test.
package interop
