//go:build !race

package soak

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// The soak's server runs in a child process (the test binary started again
// with serverEnv set), so that its memory, goroutines and descriptors are
// measured apart from the 10,000 clients', and each process stays under the
// per-process file limit.
const (
	serverEnv = "SIOLOOP_SOAK_SERVER"
	addrEnv   = "SIOLOOP_SOAK_ADDR"
)

// serve runs the soak's chat server on $SIOLOOP_SOAK_ADDR until killed:
//
//   - "join" (room) joins the room and acks "ok";
//   - "chat" (room, from, seq) sends ("chat", from, seq) to the room's other
//     members, then acks seq;
//   - GET /stats answers {"goroutines": n} for the sampler.
//
// It prints "ready" on stdout once it listens.
func serve() int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv := sio.NewServer(sio.Config{Logger: logger})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(ev *sio.Event) {
			var room string
			if ev.Decode(&room) != nil {
				s.Disconnect(true)
				return
			}
			s.Join(room)
			ev.Ack("ok")
		})
		s.On("chat", func(ev *sio.Event) {
			var room, from string
			var seq int64
			if ev.Decode(&room, &from, &seq) != nil {
				s.Disconnect(true)
				return
			}
			if err := s.To(room).Emit("chat", from, seq); err != nil {
				logger.Error("soak: broadcast", "err", err)
			}
			ev.Ack(seq)
		})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]int{"goroutines": runtime.NumGoroutine()})
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(os.Getenv(addrEnv), mux) }()
	select {
	case <-srv.Ready():
		fmt.Println("ready")
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "soak server:", err)
		return 1
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "soak server: not listening after 30s")
		return 1
	}
	err := <-errc
	fmt.Fprintln(os.Stderr, "soak server:", err)
	return 1
}
