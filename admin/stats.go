package admin

import (
	"os"
	"sort"
	"sync"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// aggregatedEvent is admin-ui's NamespaceEvent: count events of one type
// (and subtype) in the second starting at timestamp (unix milliseconds).
type aggregatedEvent struct {
	Timestamp int64  `json:"timestamp"`
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     uint64 `json:"count"`
}

type eventKey struct {
	second       int64
	typ, subType string
}

// eventBuffer gathers counts per second between two server_stats
// (admin-ui's EventBuffer).
type eventBuffer struct {
	mu sync.Mutex
	m  map[eventKey]uint64 // guarded by mu
}

func newEventBuffer() *eventBuffer { return &eventBuffer{m: map[eventKey]uint64{}} }

func (b *eventBuffer) push(typ, subType string, n uint64) {
	if n == 0 {
		return
	}
	k := eventKey{time.Now().Truncate(time.Second).UnixMilli(), typ, subType}
	b.mu.Lock()
	b.m[k] += n
	b.mu.Unlock()
}

// take returns the counts gathered and forgets them, oldest first.
func (b *eventBuffer) take() []aggregatedEvent {
	b.mu.Lock()
	m := b.m
	b.m = make(map[eventKey]uint64, len(m))
	b.mu.Unlock()
	out := make([]aggregatedEvent, 0, len(m))
	for k, n := range m {
		out = append(out, aggregatedEvent{Timestamp: k.second, Type: k.typ, SubType: k.subType, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Timestamp != b.Timestamp {
			return a.Timestamp < b.Timestamp
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.SubType < b.SubType
	})
	return out
}

// observeEngine counts Engine.IO connections and their closes by reason
// (rawConnection, rawDisconnection), as admin-ui's engine listeners do.
func (in *Instrumentation) observeEngine() {
	in.srv.OnEngineConnection(func(string, string) {
		if !in.closed.Load() {
			in.stats.push("rawConnection", "", 1)
		}
	})
	in.srv.OnEngineClose(func(_, reason string) {
		if !in.closed.Load() {
			in.stats.push("rawDisconnection", reason, 1)
		}
	})
}

// namespaceDetails is admin-ui's NamespaceDetails.
type namespaceDetails struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// serverStats is admin-ui's ServerStats, with the aggregatedEvents it
// sends.
type serverStats struct {
	ServerID            string             `json:"serverId"`
	Hostname            string             `json:"hostname"`
	PID                 int                `json:"pid"`
	Uptime              float64            `json:"uptime"`
	ClientsCount        int                `json:"clientsCount"`
	PollingClientsCount int                `json:"pollingClientsCount"`
	AggregatedEvents    []aggregatedEvent  `json:"aggregatedEvents"`
	Namespaces          []namespaceDetails `json:"namespaces"`
}

// statsLoop sends server_stats now and every 2 seconds.
func (in *Instrumentation) statsLoop() {
	defer in.done.Done()
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		_ = in.nsp.Emit("server_stats", in.serverStats())
		select {
		case <-in.stop:
			return
		case <-t.C:
		}
	}
}

// serverStats reads the server's statistics; the packets and bytes moved
// since the previous call are counted in the current second (packetsIn,
// packetsOut, bytesIn, bytesOut: Socket.IO packets, one per recipient of
// a broadcast, with their attachments).
func (in *Instrumentation) serverStats() serverStats {
	st := in.srv.Stats()
	in.mu.Lock()
	last := in.last
	in.last = st
	in.mu.Unlock()
	in.stats.push("packetsIn", "", st.EventsReceived-last.EventsReceived)
	in.stats.push("packetsOut", "", st.EventsSent-last.EventsSent)
	in.stats.push("bytesIn", "", st.BytesReceived-last.BytesReceived)
	in.stats.push("bytesOut", "", st.BytesSent-last.BytesSent)
	out := serverStats{
		ServerID:            in.serverID,
		Hostname:            in.hostname,
		PID:                 os.Getpid(),
		Uptime:              time.Since(processStart).Seconds(),
		PollingClientsCount: st.Connections[eio.Polling],
		AggregatedEvents:    in.stats.take(),
		Namespaces:          []namespaceDetails{},
	}
	for _, n := range st.Connections {
		out.ClientsCount += n
	}
	for name, n := range st.Sockets {
		out.Namespaces = append(out.Namespaces, namespaceDetails{Name: name, SocketsCount: n})
	}
	sort.Slice(out.Namespaces, func(i, j int) bool { return out.Namespaces[i].Name < out.Namespaces[j].Name })
	return out
}
