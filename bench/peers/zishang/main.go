// Command zishang is the Go peer of the sioloop benchmarks: a server on
// github.com/zishang520/socket.io v3 (goroutine per connection) implementing
// the benchmark contract (BENCHMARKS.md, Method):
//
//	join  (room, ack) -> socket.Join(room), then ack("ok")
//	bcast (obj)       -> io.To(obj.room).Emit("msg", obj)
//	echo  (obj, ack)  -> ack(obj)
//
// Library defaults are kept (pingInterval 25 s, pingTimeout 20 s, no
// compression of WebSocket frames) so the figures compare with a stock
// deployment.
//
// Usage: zishang -addr 127.0.0.1:3002
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

// ackFunc is the type zishang appends as the last handler argument when the
// client asked for an ack.
type ackFunc = func([]any, error)

func lastAck(args []any) (ackFunc, []any) {
	if n := len(args); n > 0 {
		if ack, ok := args[n-1].(ackFunc); ok {
			return ack, args[:n-1]
		}
	}
	return nil, args
}

// newHandler builds the Socket.IO server and its HTTP handler.
func newHandler() (*socket.Server, http.Handler) {
	io := socket.NewServer(nil, nil)
	io.On("connection", func(clients ...any) {
		s, ok := clients[0].(*socket.Socket)
		if !ok {
			return
		}
		s.On("join", func(args ...any) {
			ack, rest := lastAck(args)
			if len(rest) > 0 {
				if room, ok := rest[0].(string); ok {
					s.Join(socket.Room(room))
				}
			}
			if ack != nil {
				ack([]any{"ok"}, nil)
			}
		})
		s.On("bcast", func(args ...any) {
			_, rest := lastAck(args)
			if len(rest) == 0 {
				return
			}
			obj, ok := rest[0].(map[string]any)
			if !ok {
				return
			}
			room, ok := obj["room"].(string)
			if !ok {
				return
			}
			io.To(socket.Room(room)).Emit("msg", obj)
		})
		s.On("echo", func(args ...any) {
			ack, rest := lastAck(args)
			if ack != nil {
				ack(rest, nil)
			}
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(nil))
	return io, mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3002", "listen address")
	flag.Parse()

	io, h := newHandler()
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}

	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		io.Close(nil)
		srv.Shutdown(ctx)
	}()
	log.Printf("zishang520/socket.io v3 listening on %s", *addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
