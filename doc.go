// Package sioloop is a Socket.IO v5 / Engine.IO v4 server for Go on epoll
// event loops. The server API is in package sio; this root package holds
// only repository-wide tests. See README.md.
package sioloop
