package emitter

import (
	"context"
	"fmt"
	"slices"
)

// reservedEvents are the names Emit refuses, as the Node emitter's
// RESERVED_EVENTS (a client would take them for its own lifecycle events).
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

// reservedServerSide are the names socket.io's io.serverSideEmit refuses:
// a receiving Node namespace would run its own lifecycle listeners for
// them ("connect" is an alias of "connection"). The Node emitter does not
// check; this one does.
var reservedServerSide = map[string]bool{"connect": true, "connection": true, "new_namespace": true}

// BroadcastOperator selects sockets and flags for an Emit, a SocketsJoin,
// a SocketsLeave or a DisconnectSockets. It is an immutable value: every
// method returns a new operator and leaves its receiver unchanged, so an
// operator may be kept and used by several goroutines. The zero value is
// not usable; operators come from an Emitter.
type BroadcastOperator struct {
	e *Emitter
	// rooms and except never change once set: methods that add rooms
	// copy them (their capacity is clipped, so an append reallocates).
	rooms, except []string
	flags         flags
}

// flags are the broadcast flags the emitter supports, kept in the order
// they were first set, which is the order of the keys of the published
// flags map (Object.assign keeps a key's first position).
type flags struct {
	volatile, compress, hasCompress bool
	compressFirst                   bool // compress was set before volatile
}

// To adds rooms to the selection: sockets in any of the selected rooms
// receive (a socket id is a room). Rooms already selected are not added
// again.
func (o BroadcastOperator) To(rooms ...string) BroadcastOperator {
	o.rooms = union(o.rooms, rooms)
	return o
}

// In is To.
func (o BroadcastOperator) In(rooms ...string) BroadcastOperator { return o.To(rooms...) }

// Except adds rooms whose sockets are left out, even when they are in a
// selected room.
func (o BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	o.except = union(o.except, rooms)
	return o
}

// Volatile marks the event as one that may be lost: a receiving node drops
// it for a client that is not ready to take it (a polling client between
// two requests, a full buffer).
func (o BroadcastOperator) Volatile() BroadcastOperator {
	o.flags.volatile = true
	return o
}

// Compress sets the compress flag to compress; the receiving Node nodes
// then compress (or not) the event's WebSocket frames when per-message
// deflate is on. The flag is published even when false, as the Node
// emitter does.
func (o BroadcastOperator) Compress(compress bool) BroadcastOperator {
	if !o.flags.hasCompress {
		o.flags.hasCompress = true
		o.flags.compressFirst = !o.flags.volatile
	}
	o.flags.compress = compress
	return o
}

// union returns a followed by the elements of b that are in neither a nor
// earlier in b, in a new slice (a is never appended to in place).
func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := slices.Clip(a)
	if len(a)+len(b) <= 32 {
		for _, r := range b {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
		return slices.Clip(out)
	}
	seen := make(map[string]struct{}, len(a)+len(b))
	for _, r := range a {
		seen[r] = struct{}{}
	}
	for _, r := range b {
		if _, ok := seen[r]; !ok {
			seen[r] = struct{}{}
			out = append(out, r)
		}
	}
	return slices.Clip(out)
}

// Emit sends event name with args to the selected sockets of every node
// (emit). It never waits for Redis: the message is encoded, queued and
// written by the connection's sender goroutine, in order. A nil error
// means queued; ErrDropped means Redis is down or the queue is full (the
// message is counted in Stats().Dropped).
//
// Arguments are encoded as sio's Emit encodes them: a []byte anywhere in
// args (in []any and maps, in struct fields, behind pointers, in typed
// slices; not a json.Marshaler's inside, not a [N]byte array) becomes a
// binary attachment, published as msgpack bin as the Node emitter
// publishes a Buffer; everything else is written as encoding/json writes
// it (struct tags and omitempty included). Numbers become JS
// numbers: integers beyond ±2^53 are rounded as JSON.parse would.
//
// Errors: ErrReservedEvent for socket.io's reserved names, ErrAck for a
// function argument, ErrEncode (wrapping the cause) for other values that
// cannot be encoded, ErrClosed.
func (o BroadcastOperator) Emit(name string, args ...any) error {
	if reservedEvents[name] {
		return fmt.Errorf("%w: %q", ErrReservedEvent, name)
	}
	b := getBuffers()
	defer putBuffers(b)
	var err error
	b.msg, b.js, err = appendBroadcast(b.msg[:0], b.js[:0], o.e.nsp, name, args, o.rooms, o.except, o.flags)
	if err != nil {
		return encodeError(err, args)
	}
	return o.e.c.publish(o.channel(), b.msg)
}

// channel is where a broadcast goes: the room's own channel when exactly
// one room is selected, else the namespace's.
func (o BroadcastOperator) channel() string {
	if len(o.rooms) == 1 {
		return o.e.broadcast + o.rooms[0] + "#"
	}
	return o.e.broadcast
}

// SocketsJoin makes the selected sockets of every node join rooms
// (socketsJoin). The request carries no uid, so every node applies it,
// the node of a socket included. It returns once Redis has taken the
// request, after any Emit queued before it, or with the error that
// prevented it (ctx's included); it does not wait for the nodes. Flags do
// not apply.
func (o BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return o.e.c.publishWait(ctx, o.e.request, appendRoomsRequest(nil, reqRemoteJoin, o.rooms, o.except, rooms))
}

// SocketsLeave makes the selected sockets of every node leave rooms
// (socketsLeave); otherwise as SocketsJoin.
func (o BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return o.e.c.publishWait(ctx, o.e.request, appendRoomsRequest(nil, reqRemoteLeave, o.rooms, o.except, rooms))
}

// DisconnectSockets disconnects the selected sockets of every node from
// the namespace (disconnectSockets); with close, their whole connections
// are closed (every namespace). Otherwise as SocketsJoin.
func (o BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	return o.e.c.publishWait(ctx, o.e.request, appendDisconnectRequest(nil, o.rooms, o.except, close))
}
