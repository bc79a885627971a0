package redis

import "github.com/sioloop/sioloop/adapter/internal/clusterwire"

// pending is a request waiting for other nodes' answers: fetchSockets,
// allRooms or a server-side emit with acks. It is done once it counted
// as many answers as there are subscribers of the request channel
// (NUMSUB), this node's own result counting as the first for fetchSockets
// and allRooms, as socket.io's classic adapter counts.
type pending = clusterwire.Pending

// newPending returns a request of type typ that completes at want answers
// and has counted got; request raises want to the server count.
func newPending(typ, want, got int) *pending {
	p := clusterwire.NewPending(typ, got)
	p.Want = want
	return p
}

// addResponse counts one answer from res (classic adapter).
func addResponse(p *pending, a *adapter, res *response) {
	switch p.Type {
	case clusterwire.ReqRemoteFetch:
		clusterwire.AddSockets[rooms](p, a.ns, res.Sockets)
	case clusterwire.ReqAllRooms:
		p.AddRooms(res.Rooms)
	case clusterwire.ReqServerSideEmit:
		p.AddAnswer(res.Data, res.atts)
	}
}
