// Package eio is an Engine.IO v4 server: handshake, long-polling, WebSocket,
// the upgrade between them, heartbeats and close semantics, behaving on the
// wire as Node's engine.io 6.6. With Config.AllowEIO3 it also serves
// protocol revision 3 (socket.io-client 2.x): session_v3.go,
// payload_v3.go and heartbeat_v3.go hold the differences.
//
// eio does no I/O of its own. A provider hands it HTTP requests as Exchange
// values and WebSocket connections as WSConn values: package loop does so
// from gnet event loops, and package nethttp from net/http.
//
// Goroutines. Server.Handle runs on the provider's goroutine (an event
// loop) and never blocks. A Session's state is guarded by its mutex, so
// Send, Close and the other Session methods may be called from any
// goroutine. A session's Handler (Session.SetHandler, or the funcs given
// to OnMessage, OnClose and OnUpgrade) is told of its messages one at a
// time per session, in order, with data valid only during the call,
// usually on the transport's goroutine (held.go says when not); OnClose
// runs once. Heartbeats and upgrade
// deadlines run on timer wheels (package internal/timer), not on a
// runtime timer per session.
//
// Memory. A Session is small (128 bytes) since most connections are on
// WebSocket: the long-polling queue, parked GET and upgrade probe live in
// a separate struct that a session has only while it is on polling.
//
// Bytes. Sends copy their input. A Prepared message is encoded once, for
// both transports, and shared read-only by every session it is sent to.
package eio
