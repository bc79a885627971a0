// Package wsframe is the server side of RFC 6455 as pure functions over
// byte slices: the opening handshake checks and 101 response, a resumable
// frame-to-message decoder for client frames, and append-style encoders for
// server frames. It builds on gobwas/ws primitives (ws.Cipher, ws.OpCode,
// ws.StatusCode) but never reads or writes a connection, starts a goroutine
// or blocks, so it runs inside gnet's OnTraffic on partial input.
//
// # Goroutines
//
// Nothing here is shared between goroutines except the package's scratch
// pool, which is safe for concurrent use. A Decoder is per-connection state
// and must be used by one goroutine at a time (on gnet, the connection's
// event loop).
//
// # Buffer lifetimes
//
//   - Decoder.Decode(b) borrows b for the call and modifies it: the frame's
//     payload is unmasked in place. b must start at the first byte not yet
//     consumed and hold everything received since; Decode never keeps a
//     reference to b after it returns, but it does remember how much of a
//     partial text frame at b's start it has already checked.
//   - Message.Payload and Message.CloseReason alias b (single-frame messages
//     and control frames) or the Decoder's pooled scratch buffer
//     (fragmented messages). Both are valid until the next Decode call or
//     Release, whichever comes first. Copy anything that must outlive them,
//     e.g. before handing a message to a handler goroutine.
//   - Fragments are copied once, into a scratch buffer taken from a
//     bytebufferpool.Pool at the first fragment. It goes back to the pool
//     at the next Decode call after the message completes, on a protocol
//     error, or on Release. Built with -tags siodebug, a returned buffer is
//     overwritten first, so a view kept too long shows garbage in tests.
//   - The encoders (AppendFrame, AppendClose, AppendUpgradeResponse,
//     AppendHandshakeError) copy their inputs into dst and return the
//     extended slice; PutHeader writes into the caller's buffer in front of
//     a payload already there, so a frame is built without moving it.
//   - CheckHandshake returns a key that aliases the value get returned.
//   - permessage-deflate (RFC 7692, deflate.go): NegotiateDeflate reads
//     the offers; with Decoder.Deflate set, Message.Compressed marks a
//     message whose Payload (aliasing as above) is still compressed;
//     Inflater.Inflate appends its inflation to the caller's dst and keeps
//     a copy of the last 32 KiB when the client keeps its context;
//     AppendDeflatedFrame and AppendDeflatedFrames append to dst with
//     pooled compressors that keep no reference to the input.
//
// # Limits
//
// Every message is bounded: MaxMessageSize (default 1e6, never unlimited)
// on the sum of fragment payloads, checked from each frame header before its
// payload is waited for, and MaxFragments (default: MaxMessageSize + 1, so
// any fragmentation of a message within the size limit passes) on the frame
// count.
// A fragmented message costs O(1) state per fragment plus its bytes. A
// compressed message is bounded twice: MaxMessageSize on its compressed
// size, and the limit given to Inflater.Inflate on its inflated size, which
// stops inflating one byte past it (1009), so a small frame that would
// expand without bound costs at most that limit.
package wsframe
