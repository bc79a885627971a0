// Package hub keeps room membership for broadcasts and finds the recipients
// of one, grouped by event loop.
//
// A Hub is generic over its member type M (in sio, a socket handle). Each
// member reports the event loop it lives on through Group, so a broadcast can
// hand every loop its share of the recipients in one call and the caller can
// post one task per loop instead of one per member.
//
// # Data layout
//
// Rooms are spread over 64 shards by a seeded hash of the room name. A shard
// has a mutex that serializes writers (Join, Leave, LeaveAll) and a lock-free
// index from name to room (a sync.Map, whose loads take no lock and do not
// allocate). Each room keeps its authoritative member set, guarded by the
// shard mutex, and an atomic pointer to an immutable read snapshot in which
// the members are already bucketed by group.
//
// Snapshots are copy-on-write with two shortcuts that keep bulk changes
// linear instead of quadratic:
//
//   - A join appends the member to the current snapshot's group slice and
//     publishes a new snapshot header that shares the backing array. Readers
//     of the old snapshot never look past their own length, so the append is
//     invisible to them. Cost: O(groups) per join, amortized.
//   - A leave only drops the snapshot (sets it to nil). The first reader
//     afterwards rebuilds it once, under the shard mutex, in O(members).
//     Ten thousand leaves followed by one broadcast cost one rebuild.
//
// A room whose last member leaves is removed from the index; a room that was
// never read never builds a snapshot, which keeps one-member rooms (such as a
// socket's own id) small.
//
// Besides the named rooms the hub keeps a hidden "all" set holding every
// registered member. A member enters it on its first Join (Join with no room
// names only registers it) and leaves it only in LeaveAll, as in socket.io
// where leaving every room does not stop io.emit from reaching the socket.
// Broadcasting to everyone therefore costs the same as broadcasting to one
// room.
//
// The hub also records, per member, the rooms it is in (for Rooms, Has and
// LeaveAll), in a second set of 64 shards keyed by a hash of the member.
//
// # Concurrency contract
//
// Every method of Hub is safe to call from any goroutine.
//
//   - ForEachGroup, Count and Size take no lock in the common case; the first
//     read of a room after a leave takes its shard mutex once to rebuild the
//     snapshot. AllRooms takes no lock. Rooms, Has and Registered take the
//     member's shard mutex briefly.
//   - Join, Leave, LeaveAll and Regrouped of one member are serialized by
//     that member's shard mutex. Lock order: member shard, then one room shard (or the
//     "all" set) at a time, then the hook queue mutex. Readers take at most
//     one room shard mutex.
//   - ForEachGroup calls fn with no hub lock held, so fn may call any hub
//     method, including ForEachGroup. Each call sees, per room, the state as
//     of one instant; rooms of a multi-room selection are read one after the
//     other, not atomically together.
//   - Hooks (OnCreateRoom, OnJoinRoom, OnLeaveRoom, OnDeleteRoom) run with no
//     hub lock held, so they may call hub methods. All hook events of a hub go
//     through one queue and are delivered one at a time, in the order the
//     changes happened: per room (create, joins and leaves, delete) and per
//     call (a Join of "a", "b" reports a before b). They may run on another
//     goroutine that is already delivering, so Join, Leave or LeaveAll may
//     return before their hooks have run. A slow hook delays all the others
//     and lets the queue grow, so hooks must be quick; a panicking hook
//     loses the rest of its batch.
//
// # Buffer lifetimes
//
// The members slice given to a ForEachGroup callback is valid only until fn
// returns: it is either an immutable snapshot or pooled scratch space. It must
// not be modified or kept. Room names passed to Join are copied once when a
// room is created (strings.Clone), so callers may pass names that alias
// buffers they will reuse. Rooms and AllRooms return fresh slices owned by
// the caller; LeaveAll hands over the member's internal slice.
package hub
