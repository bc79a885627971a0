// Command conformance runs the servers the official Engine.IO v4 and
// Socket.IO v5 test suites expect at http://localhost:3000:
//
//	go run ./examples/conformance -mode eio -addr 127.0.0.1:3000
//	go run ./examples/conformance -mode sio -addr 127.0.0.1:3000
//
// Both use pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6 and CORS
// "*". In eio mode every message is echoed back (text as text, binary as
// binary) on /engine.io/; in sio mode namespaces "/" and "/custom" emit
// "auth" on connection and echo "message" and "message-with-ack".
package main
