// Package message holds the arguments of a Socket.IO event or
// acknowledgement as both ends of this module hand them to their handlers:
// the server (sio.Message) and the Go client (client.Message) are this one
// type, so code that reads arguments works the same on either side.
//
// Arguments stay raw JSON until decoded. A binary attachment (a Buffer or
// ArrayBuffer on the JavaScript side) stands in the JSON as the placeholder
// {"_placeholder":true,"num":n}, as the socket.io-parser wire format writes
// it, and is read with Binary or decoded into a []byte.
package message
