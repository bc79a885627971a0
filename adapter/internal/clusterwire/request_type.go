package clusterwire

// Request types of the classic Redis adapter (socket.io-redis-adapter's
// RequestType), on its request and response channels.
const (
	ReqSockets          = 0
	ReqAllRooms         = 1
	ReqRemoteJoin       = 2
	ReqRemoteLeave      = 3
	ReqRemoteDisconnect = 4
	ReqRemoteFetch      = 5
	ReqServerSideEmit   = 6
	ReqBroadcast        = 7
	ResClientCount      = 8
	ResBroadcastAck     = 9
)

// EventType is socket.io's EVENT packet type. Broadcasts through Redis are
// published as type 2 even with binary arguments, which travel inline as
// msgpack bin rather than as BINARY_EVENT attachments.
const EventType = 2
