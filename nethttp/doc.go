// Package nethttp is the net/http side of sioloop's transports, beside the
// event loops of package loop: Handler serves the Engine.IO requests of a
// net/http server as eio.Exchange values and moves their WebSocket
// connections onto event loops (loop.Enroller); ServeBuffered runs an
// http.Handler for a request that an event loop read.
//
// Package sio builds on it: sio.Server.ServeHTTP is a Handler, and
// ListenAndServe's fallback handler runs through ServeBuffered. Neither
// needs anything from sio, so this package imports only eio, loop and
// wsframe.
package nethttp
