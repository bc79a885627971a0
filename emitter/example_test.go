package emitter_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/sioloop/sioloop/emitter"
)

// Example sends into a cluster of socket.io servers (Node on
// @socket.io/redis-adapter, or sioloop on adapter/redis) that share the
// Redis at 127.0.0.1:6379. It needs that Redis, so it is compiled but not
// run; the tests cover the same calls against real servers.
func Example() {
	ctx := context.Background()
	em, err := emitter.New(ctx, emitter.Config{Addr: "127.0.0.1:6379"})
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close() // waits (at most 5 s) for what is still queued

	// io.to("room1").except("muted").emit("news", {...})
	if err := em.To("room1").Except("muted").Emit("news", map[string]any{"title": "hello"}); err != nil {
		// ErrDropped: Redis is down or the queue is full; Emit never blocks.
		log.Print(err)
	}
	// Binary data reaches the clients as a binary attachment (a Buffer / ArrayBuffer).
	em.Emit("avatar", "user42", []byte{0x89, 'P', 'N', 'G'})
	// Operators are values: keep one and derive others from it.
	ticks := em.Volatile().Compress(false)
	ticks.Emit("tick", time.Now().UnixMilli())

	// Another namespace; "admin" and "/admin" are the same.
	admin := em.Of("admin")
	admin.To("ops").Emit("alert", "disk full")

	// Requests wait until Redis took them (every node then applies them).
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := em.In("room1").SocketsJoin(ctx, "room2"); err != nil {
		log.Print(err)
	}
	em.Except("vip").SocketsLeave(ctx, "room2")
	admin.In("banned").DisconnectSockets(ctx, true)
	// Every server runs its io.on("reload") handlers; no acknowledgements.
	em.ServerSideEmit(ctx, "reload", map[string]string{"version": "v2"})

	if err := em.Emit("disconnect"); errors.Is(err, emitter.ErrReservedEvent) {
		log.Print("socket.io keeps that name for itself")
	}
}
