// Package packet is the Socket.IO v5 packet codec (the socket.io-parser
// "default parser", lib/index.ts): text packet decoding and encoding,
// binary attachment reassembly, and helpers that build and take apart the
// JSON argument arrays of events and acks without a full unmarshal.
//
// Everything here is a pure function or a plain value used by one goroutine
// at a time: no goroutines, no locks, no logging. Package sio calls it from
// whichever goroutine owns the connection (the event loop for inbound
// packets, the emitting goroutine for outbound ones).
//
// # Buffer lifetimes
//
//   - Decode returns a Packet whose Data aliases the input slice; it is
//     valid only as long as the input is (for gnet input, until OnTraffic
//     returns). Namespace is an owned string.
//   - SplitArgs/AppendSplitArgs return views into the array they were given.
//   - Reassembler.Start and Reassembler.Add copy what they keep, because the
//     header and the attachments arrive in different, borrowed buffers. The
//     packet and attachments that Add returns when done belong to the caller.
//   - AppendEncode, AppendArgs, AppendQuote, AppendUnquote and
//     AppendSubstituteBase64 append to dst and return the extended slice, in
//     the manner of strconv.AppendInt. Attachments returned by AppendArgs
//     alias the caller's []byte arguments.
//   - SubstituteBase64 returns its input when it has nothing to replace, a
//     new slice otherwise. Resolve modifies the decoded value in place and
//     the []byte it inserts alias the attachments.
//
// # Errors
//
// Every error for malformed input is a preallocated *Error that satisfies
// errors.Is(err, ErrInvalid), so rejecting hostile input does not allocate.
// In the reference any of them closes the Engine.IO connection ("parse
// error").
//
// # Limits
//
// Attachment counts are capped by Decode's maxAttachments (reference default
// 10), attachment bytes by Reassembler.MaxAttachmentBytes (default 1e6), ack
// ids by MaxID (2^53-1) and JSON nesting by MaxDepth (32).
package packet
