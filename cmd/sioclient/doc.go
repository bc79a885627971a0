// Command sioclient writes the socket.io browser client into a Go package of
// an application, so that a program that gets sioloop as a module dependency
// can serve /socket.io/socket.io.js (sio.Config.ClientFiles). sioloop's own
// embedded copy of the client is built from a checkout (make bundle) and is
// never part of a module download.
//
// Usage, from the application's module root:
//
//	go run github.com/sioloop/sioloop/cmd/sioclient -out ./web/socketio
//
// Inside a module that requires github.com/sioloop/sioloop this runs the
// tool of the required version; elsewhere add @latest or a version. It
// downloads the tarball of socket.io-client from the npm registry, in the
// version sioloop pins (the one its tests run against), checks it against
// the integrity hash npm publishes for it (sha512, pinned in this tool, so a
// changed or substituted tarball is refused), and writes into -out the files
// of its dist directory (socket.io.js, socket.io.min.js,
// socket.io.esm.min.js, socket.io.msgpack.min.js and their .map files),
// a gzip-compressed copy of each (name.gz, so that the server need not
// compress them when it starts), its LICENSE, and embed.go, a package whose
// Files (an embed.FS) holds them. The application then serves them with
//
//	srv := sio.NewServer(sio.Config{ClientFiles: socketio.Files})
//
// Flags:
//
//	-out DIR       where to write (created if needed; required)
//	-pkg NAME      the package name of embed.go (default: from DIR, else socketio)
//	-registry URL  the npm registry (default https://registry.npmjs.org);
//	               a mirror must serve the same tarball, as the hash is fixed
//
// Nothing is written unless the download is complete and verified. An
// existing embed.go that this tool did not write is never overwritten.
package main
