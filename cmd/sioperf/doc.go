// Command sioperf is a load tool for Socket.IO servers. It speaks Engine.IO
// v4 / Socket.IO v5 over WebSocket itself and implements the scenarios of the
// benchmark contract (BENCHMARKS.md, Method): fanout (a rate ladder to the
// highest sustainable broadcast rate), echo (closed-loop acks), idle (server
// memory per connection), connect (handshake rate), chat (many rooms and
// publishers at a fixed rate) and overload (a fanout room offered more than
// its sustainable rate, then less, reported second by second). -proto raw speaks the contract's raw WebSocket
// mode used for the ceiling server.
//
// Usage:
//
//	sioperf <fanout|echo|idle|connect|chat|overload> -addr 127.0.0.1:3000 [flags]
//	sioperf summarize <dir-of-json-results>
//
// One JSON object per run goes to stdout with -json; a progress line goes to
// stderr when it is a terminal; -report DIR writes a Markdown table and an
// SVG chart of p99 latency against rate.
//
// Connections are served by gnet event loops (package loop's Dialer, as in
// the Go client): the receive path holds no goroutine per connection and
// starts none per message. -io goroutine selects the former path instead,
// one reader goroutine per connection blocked in Read, parsing frames in
// batches out of a per-connection buffer. Publishers always use blocking
// writes on their own goroutine, so a server that stops reading slows them
// down. -procs K spreads connections over K worker processes (each process
// may hold at most the file-descriptor limit) and -src spreads them over
// several loopback source addresses.
package main
