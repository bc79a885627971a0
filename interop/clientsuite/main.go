// Command clientsuite serves what the official JavaScript clients' own
// test suites expect of their server, built on sioloop, so that those
// suites run against this server unchanged:
//
//   - -suite sio (port 3210): socket.io-client's suite
//     (packages/socket.io-client/test in github.com/socketio/socket.io),
//     whose support server is Node's socket.io with a few namespaces,
//     middlewares and event handlers (sio.go);
//   - -suite eio (port 3000): engine.io-client's suite
//     (packages/engine.io-client/test), whose support server is an
//     engine.io echo server (eio.go).
//
// run.sh takes a checkout of that repository, copies a suite to a scratch
// directory beside the pinned npm client, starts this server and runs
// mocha there. The suites' code is not part of this repository.
package main

import (
	"flag"
	"log"
	"log/slog"
	"os"
)

func main() {
	suite := flag.String("suite", "sio", "sio (socket.io-client's suite) or eio (engine.io-client's)")
	addr := flag.String("addr", "", "listen address (default: where the suite dials, 127.0.0.1:3210 or 127.0.0.1:3000)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	switch *suite {
	case "sio":
		if *addr == "" {
			*addr = "127.0.0.1:3210"
		}
		log.Printf("socket.io-client suite server on http://%s/socket.io/", *addr)
		log.Fatal(newSIOServer(logger).ListenAndServe(*addr, nil))
	case "eio":
		if *addr == "" {
			*addr = "127.0.0.1:3000"
		}
		log.Printf("engine.io-client suite server on http://%s/engine.io/", *addr)
		log.Fatal(serveEIO(*addr, logger))
	default:
		log.Fatalf("unknown -suite %q", *suite)
	}
}
