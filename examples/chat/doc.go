// Command chat is sioloop's demo: the server side of the classic socket.io
// chat-and-rooms examples, with a page at / that uses the unchanged browser
// client (<script src="/socket.io/socket.io.js">, io()).
//
//	go run ./examples/chat                    # http://localhost:3000
//	go run ./examples/chat -addr :8080 -ticker 2s -mode nethttp
//
// The events and the page are package chatdemo's, shared with
// examples/cluster, which runs the same demo as several nodes on one Redis.
//
// -mode standalone runs HTTP and WebSocket on sioloop's event loops, with the
// page and /score served by the fallback mux; -mode nethttp mounts the server
// in a net/http server next to the same routes, the way an existing Go
// application would.
package main
