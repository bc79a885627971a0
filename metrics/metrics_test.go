package metrics_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/metrics"
	"github.com/sioloop/sioloop/sio"
)

const wait = 10 * time.Second

// scrape fetches url and parses the Prometheus text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}

// value returns the value of family name's sample whose labels include
// want (nil: the only sample), or -1.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestCollector: a server's activity scraped through promhttp: sockets,
// rooms, connections by transport, events both ways, broadcasts and their
// recipients, handler timings, refused requests by code, loop gauges.
func TestCollector(t *testing.T) {
	srv := sio.NewServer(sio.Config{Loops: 1})
	srv.OnConnection(func(s *sio.Socket) {
		s.Join("lobby")
		s.On("shout", func(ev *sio.Event) {
			_ = srv.To("lobby").Emit("news", "hello")
			_ = ev.Ack("ok")
		})
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(srv))
	ms := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer ms.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	go func() { _ = srv.ListenAndServe(addr, nil) }()
	defer srv.Close()
	select {
	case <-srv.Ready():
	case <-time.After(wait):
		t.Fatal("server not ready")
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	base := "http://" + addr
	var socks []*client.Socket
	news := make(chan struct{}, 8)
	for _, tr := range [][]string{{"websocket"}, {"websocket"}, {"polling"}} {
		c, err := client.Connect(ctx, base, client.Options{Transports: tr})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.On("news", func(*client.Event) { news <- struct{}{} })
		socks = append(socks, c)
	}
	if _, err := socks[0].EmitWithAck(ctx, "shout"); err != nil {
		t.Fatal(err)
	}
	for range socks {
		select {
		case <-news:
		case <-time.After(wait):
			t.Fatal("a broadcast did not arrive")
		}
	}
	if resp, err := http.Get(base + "/socket.io/?EIO=4&transport=polling&sid=nosuchsid"); err == nil {
		resp.Body.Close()
	}

	fams := scrape(t, ms.URL)
	checks := []struct {
		name   string
		labels map[string]string
		min    float64
		max    float64
	}{
		{"socketio_sockets", map[string]string{"namespace": "/"}, 3, 3},
		{"socketio_rooms", map[string]string{"namespace": "/"}, 1, 1},
		{"socketio_connections", map[string]string{"transport": "websocket"}, 2, 2},
		{"socketio_connections", map[string]string{"transport": "polling"}, 1, 1},
		{"socketio_events_received_total", nil, 4, 1e9}, // 3 CONNECTs and the shout
		{"socketio_events_sent_total", nil, 7, 1e9},     // 3 CONNECT replies, the ack, 3 news
		{"socketio_received_bytes_total", nil, 1, 1e9},
		{"socketio_sent_bytes_total", nil, 1, 1e9},
		{"socketio_broadcasts_total", nil, 1, 1},
		{"socketio_broadcast_recipients_total", nil, 3, 3},
		{"socketio_volatile_dropped_total", nil, 0, 0},
		{"socketio_handler_duration_seconds", nil, 1, 1},
		{"socketio_engine_refused_requests_total", map[string]string{"code": "1"}, 1, 1},
		{"socketio_loop_backlog", map[string]string{"loop": "0"}, 0, 1e9},
		{"socketio_loop_outbound_bytes", map[string]string{"loop": "0"}, 0, 1e9},
		{"socketio_mailbox_queue", nil, 0, 1e9},
		{"socketio_slow_consumer_disconnects_total", nil, 0, 0},
	}
	for _, c := range checks {
		if v := value(fams, c.name, c.labels); v < c.min || v > c.max {
			t.Errorf("%s%v = %v, want [%v, %v]", c.name, c.labels, v, c.min, c.max)
		}
	}
}
