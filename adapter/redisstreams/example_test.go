package redisstreams_test

import (
	"context"
	"log"
	"time"

	"github.com/sioloop/sioloop/adapter/redisstreams"
	"github.com/sioloop/sioloop/sio"
)

// A server on the streams adapter with connection state recovery: its
// clients can lose it and come back to any node of the cluster (sioloop
// or Node socket.io on @socket.io/redis-streams-adapter) with their id,
// rooms, data and every event they missed.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ra, err := redisstreams.New(ctx, redisstreams.Config{Addr: "127.0.0.1:6379"})
	if err != nil {
		log.Fatal(err)
	}
	defer ra.Close()
	srv := sio.NewServer(sio.Config{
		Adapter:                 ra.ForNamespace,
		ConnectionStateRecovery: &sio.RecoveryConfig{MaxDisconnectionDuration: 2 * time.Minute, SkipMiddlewares: true},
	})
	srv.OnConnection(func(s *sio.Socket) {
		if !s.Recovered() {
			s.Join("lobby")
		}
		s.Emit("hello", "from a node of the cluster") // logged in the stream: replayed if missed
	})
	srv.To("lobby").Emit("news", "to every node's lobby")
	log.Fatal(srv.ListenAndServe(":3000", nil))
}
