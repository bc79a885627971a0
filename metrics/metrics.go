package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sioloop/sioloop/sio"
)

// Collector is a prometheus.Collector for one server.
type Collector struct {
	srv *sio.Server

	connections, sockets, rooms                  *prometheus.Desc
	eventsIn, eventsOut, bytesIn, bytesOut       *prometheus.Desc
	broadcasts, recipients, volatile, slow       *prometheus.Desc
	handler, backlog, outbound, mailbox, refused *prometheus.Desc
}

// NewCollector returns a collector of srv's activity, and starts counting
// it (sio.Server.Stats).
func NewCollector(srv *sio.Server) *Collector {
	srv.Stats()
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("socketio_"+name, help, labels, nil)
	}
	return &Collector{
		srv:         srv,
		connections: d("connections", "Open Engine.IO connections by transport.", "transport"),
		sockets:     d("sockets", "Connected sockets by namespace.", "namespace"),
		rooms:       d("rooms", "Rooms with members on this node by namespace, sockets' own rooms excepted.", "namespace"),
		eventsIn:    d("events_received_total", "Socket.IO packets received."),
		eventsOut:   d("events_sent_total", "Socket.IO packets sent, one per recipient of a broadcast."),
		bytesIn:     d("received_bytes_total", "Encoded bytes of the packets received, attachments included."),
		bytesOut:    d("sent_bytes_total", "Encoded bytes of the packets sent, attachments included."),
		broadcasts:  d("broadcasts_total", "Broadcasts delivered by this node."),
		recipients:  d("broadcast_recipients_total", "Sockets reached by broadcasts."),
		volatile:    d("volatile_dropped_total", "Volatile packets not sent to a busy socket."),
		slow:        d("slow_consumer_disconnects_total", "Connections closed because they did not read what they were sent."),
		handler:     d("handler_duration_seconds", "Time taken by event handlers."),
		backlog:     d("loop_backlog", "Broadcast work queued on an event loop, in recipient visits.", "loop"),
		outbound:    d("loop_outbound_bytes", "Output an event loop holds for readers slower than it.", "loop"),
		mailbox:     d("mailbox_queue", "Connections waiting for a handler worker."),
		refused:     d("engine_refused_requests_total", "Refused Engine.IO requests by engine.io error code.", "code"),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.connections, c.sockets, c.rooms, c.eventsIn, c.eventsOut, c.bytesIn, c.bytesOut,
		c.broadcasts, c.recipients, c.volatile, c.slow, c.handler, c.backlog, c.outbound,
		c.mailbox, c.refused,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	count := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for t, n := range st.Connections {
		gauge(c.connections, float64(n), t)
	}
	for ns, n := range st.Sockets {
		gauge(c.sockets, float64(n), ns)
	}
	for ns, n := range st.Rooms {
		gauge(c.rooms, float64(n), ns)
	}
	count(c.eventsIn, st.EventsReceived)
	count(c.eventsOut, st.EventsSent)
	count(c.bytesIn, st.BytesReceived)
	count(c.bytesOut, st.BytesSent)
	count(c.broadcasts, st.Broadcasts)
	count(c.recipients, st.BroadcastRecipients)
	count(c.volatile, st.VolatileDropped)
	count(c.slow, st.SlowConsumerDisconnects)
	buckets := make(map[float64]uint64, len(st.Handler.Bounds))
	for i, b := range st.Handler.Bounds {
		buckets[b.Seconds()] = st.Handler.Counts[i]
	}
	ch <- prometheus.MustNewConstHistogram(c.handler, st.Handler.Count, st.Handler.Sum.Seconds(), buckets)
	for i, n := range st.LoopBacklog {
		gauge(c.backlog, float64(n), strconv.Itoa(i))
	}
	for i, n := range st.LoopOutboundBytes {
		gauge(c.outbound, float64(n), strconv.Itoa(i))
	}
	gauge(c.mailbox, float64(st.MailboxQueue))
	for code, n := range st.RefusedRequests {
		count(c.refused, n, strconv.Itoa(code))
	}
}
