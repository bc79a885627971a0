package redisbus_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/redisbus"
	"github.com/sioloop/sioloop/internal/redistest"
)

// exampleAddr is the redis-server that TestMain starts for the examples
// (internal/redistest; go test needs redis-server installed).
var exampleAddr string

func TestMain(m *testing.M) {
	srv, stop, err := redistest.StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exampleAddr = srv.Addr()
	code := m.Run()
	stop()
	os.Exit(code)
}

// A classic adapter's use of a Bus: the broadcast pattern and the request
// channel on one subscriber connection, the server count from NUMSUB, and
// a fire-and-forget broadcast.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := make(chan string, 1)
	bus, err := redisbus.New(ctx, redisbus.Options{
		Addrs: []string{exampleAddr},
		Handler: func(kind redisbus.Kind, channel, pattern string, payload []byte) {
			// payload is valid only during the call: format copies it.
			got <- fmt.Sprintf("%s on %s (pattern %s): %q", kind, channel, pattern, payload)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Close()

	bus.PSubscribe("socket.io#/#*")
	bus.Subscribe("socket.io-request#/#", "socket.io-response#/#")
	if err := bus.Sync(ctx); err != nil {
		fmt.Println(err)
		return
	}
	servers, err := bus.NumSub(ctx, "socket.io-request#/#")
	fmt.Println("servers:", servers, err)

	bus.Publish("socket.io#/#room1#", []byte("hello"))
	fmt.Println(<-got)
	// Output:
	// servers: 1 <nil>
	// pmessage on socket.io#/#room1# (pattern socket.io#/#*): "hello"
}
