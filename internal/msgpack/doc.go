// Package msgpack is the MessagePack layer of the cluster adapters: what a
// Go node needs to exchange messages with Node.js servers that use
// @socket.io/redis-adapter (notepack.io 3), @socket.io/redis-streams-adapter
// (@msgpack/msgpack 3) and @socket.io/redis-emitter (notepack.io 3 as
// well).
//
// sio keeps an event's arguments as socket.io JSON text plus binary
// attachments, the JSON holding {"_placeholder":true,"num":N} where
// attachment N goes. The two transcoders turn that into msgpack once per
// broadcast and back when a message arrives, in one pass and without an
// intermediate Go value:
//
//   - AppendJSON: JSON + attachments -> msgpack, byte for byte what
//     notepack.io's encode(JSON.parse(json)) gives once the placeholders are
//     Buffers again (one documented exception for integers beyond 2^64).
//   - AppendToJSON: msgpack -> JSON + attachments, the JSON.stringify of
//     what the JS decoders give, with Buffers turned back into placeholders.
//
// The envelopes around the data ([uid, packet, opts] arrays, {type, data,
// uid, nsp} maps) are built with the Append* writers and taken apart with a
// Reader.
//
// # JS semantics, in one place
//
// The transcoders' doc comments give the details; the choices are:
//
//   - Numbers are JS doubles. JSON -> msgpack writes integral values as the
//     smallest int form, others as float64 (AppendNumber). msgpack -> JSON
//     formats floats as Number.prototype.toString, NaN/±Inf as null, and
//     64-bit ints as exact decimals (a JS client rounds them to the same
//     double a JS decoder would have produced).
//   - Strings are UTF-8. Invalid UTF-8 becomes U+FFFD per maximal subpart
//     (the WHATWG decoder, as Buffer.toString and TextDecoder do), a lone
//     surrogate escape becomes U+FFFD, JSON output uses JSON.stringify's
//     escapes.
//   - Timestamps (ext -1) become the JSON of the JS Date (toISOString).
//   - Placeholders follow socket.io-parser's reconstructPacket
//     (_placeholder === true, an integral num below the attachment count).
//
// # Limits
//
// Nesting is bounded by MaxDepth (1000) in both directions. A msgpack
// header that announces more bytes or elements than the input holds fails
// with ErrShortBuffer before anything is allocated for it, so a hostile
// 4-byte length costs nothing. Nothing here panics on input; the writers
// panic only for strings and binaries of 4 GiB or more, which msgpack
// cannot express.
//
// # Buffer lifetimes
//
//   - Append* functions append to dst and return the extended slice, in the
//     manner of strconv.AppendInt; they never retain their inputs.
//   - AppendToJSON's attachments and rest alias its input (attachments with
//     their capacity clipped), and so do Reader.ReadStringBytes,
//     Reader.ReadBytes, Reader.Raw and Reader.Rest; ReadString copies.
//
// # Concurrency
//
// Everything is a pure function or a plain value (Reader) used by one
// goroutine at a time: no goroutines, no locks, no globals that change, no
// logging.
//
// # Errors
//
// Every error for unacceptable input is a preallocated value that
// satisfies errors.Is(err, ErrInvalid), so rejecting hostile input does not
// allocate; a Reader type mismatch is a *TypeError naming both types.
package msgpack
