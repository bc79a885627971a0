// Package metrics exports a sio.Server's activity to Prometheus.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(srv))
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The collector reads sio.Server.Stats at each scrape; counting starts when
// it is created. Its metrics, all prefixed socketio_:
//
//	connections{transport}           gauge     open Engine.IO connections
//	sockets{namespace}               gauge     connected sockets
//	rooms{namespace}                 gauge     rooms with members on this node
//	events_received_total            counter   packets received
//	events_sent_total                counter   packets sent (a broadcast: one per recipient)
//	received_bytes_total             counter   their encoded bytes
//	sent_bytes_total                 counter
//	broadcasts_total                 counter   broadcasts delivered by this node
//	broadcast_recipients_total       counter   sockets they reached
//	volatile_dropped_total           counter   volatile packets not sent to a busy socket
//	slow_consumer_disconnects_total  counter   connections closed for not reading
//	handler_duration_seconds         histogram time taken by event handlers
//	loop_backlog{loop}               gauge     broadcast work queued on an event loop
//	loop_outbound_bytes{loop}        gauge     output an event loop holds for slow readers
//	mailbox_queue                    gauge     connections waiting for a handler worker
//	engine_refused_requests_total{code} counter refused Engine.IO requests by error code
package metrics
