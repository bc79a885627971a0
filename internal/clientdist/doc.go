// Package clientdist serves the socket.io browser client (socket.io.js and its
// siblings) the way Node's socket.io server does when serveClient is on.
//
// The files come from one of two places. The embedded bundle (Embedded) is
// the npm package socket.io-client pinned in the repository's
// package-lock.json: build.mjs copies it into dist/ and precompresses each
// file with gzip and brotli, and //go:embed puts them into the binary. dist/
// is not committed (only its README.txt is), so on a fresh clone, and in
// every module download of github.com/sioloop/sioloop, the package still
// compiles, Available reports false, and every client file is answered with
// 503 and NotBuiltMessage. Load instead reads an application's own copy of
// the files from an fs.FS (sio.Config.ClientFiles).
//
// Either way a request costs a map lookup and a write: nothing is read from
// disk or compressed per request.
//
// Concurrency: every function and method may be called from any goroutine,
// including an event loop; none blocks except Load, which reads the files
// and is called once, before serving. The embedded files are parsed once, on
// first use.
//
// Buffers: a Reply's Body aliases memory shared by every request for the life
// of the process. Callers write it out and never modify it.
package clientdist
