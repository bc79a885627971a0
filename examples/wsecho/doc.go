// Command wsecho is a plain WebSocket echo server built from packages loop
// and wsframe alone, with no Engine.IO or Socket.IO: every message comes
// back to its sender as it arrived (text as text, binary as binary). It
// exists so the framing layer can be checked on its own against RFC 6455
// conformance tools such as the Autobahn test suite:
//
//	go run ./examples/wsecho -addr 127.0.0.1:9001
//	# then point Autobahn's fuzzingclient at ws://127.0.0.1:9001/
//
// With -deflate it accepts the permessage-deflate extension (RFC 7692) and
// compresses every echoed message of at least -threshold bytes, for the
// compression cases (Autobahn groups 12 and 13).
package main
