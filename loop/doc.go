// Package loop runs HTTP/1.1 and WebSocket connections on gnet event loops.
// It is the only package of sioloop that imports gnet.
//
// Goroutines. Every connection belongs to one event loop. OnTraffic parses
// the connection's inbound bytes on that loop: HTTP requests are handed to
// Config.Handler as eio.Exchange values, WebSocket messages to the
// eio.FrameHandler given at upgrade. Both run on the loop and must not block.
//
// Writes. Write, Respond and Close may be called from any goroutine. They
// append to the connection's pending buffer (its outbox) and put the
// connection on its loop's dirty list; one gnet task per loop then runs the
// ops queued on the loop (Loop.Defer: consecutive ops that implement Merger
// are merged, so several broadcasts to the same members walk them once) and
// writes every dirty connection's bytes with one write(2) each. Many
// messages queued for one connection between two wake-ups of its loop leave
// in one syscall. Loop.Pending lets a writer that must stay ordered behind
// queued ops queue its write as an op too.
//
// Input limits. A connection's reading can be paused (eio.ReadPauser on
// every WSConn this package returns, and automatically on an HTTP
// connection that piles up more than one maximal request behind a request
// awaiting its response): the socket is then taken out of gnet's poller,
// so the peer is slowed by TCP flow control instead of being buffered, and
// what still gets in is capped by Config.MaxPausedInputBytes
// (readpause_linux.go has the mechanism and its bound). Near the process's
// file descriptor limit new connections are refused on arrival instead of
// letting gnet's accept fail, which would stop the engine (fdlimit.go).
//
// Buffers. Bytes passed to handlers alias gnet's inbound buffer and are valid
// only during the call. Pending outbound bytes live in pooled buffers that go
// back to the pool after the write; an idle connection holds none.
package loop
