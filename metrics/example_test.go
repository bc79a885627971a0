package metrics_test

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sioloop/sioloop/metrics"
	"github.com/sioloop/sioloop/sio"
)

// Register a server's collector and serve it at /metrics beside the app.
func ExampleNewCollector() {
	srv := sio.NewServer(sio.Config{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(srv))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// srv.ListenAndServe(":3000", mux)

	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() == "socketio_sockets" {
			fmt.Println(f.GetName(), f.Metric[0].GetGauge().GetValue())
		}
	}
	// Output:
	// socketio_sockets 0
}
