package client_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/client"
)

// TestNoGoroutinePerConnection opens many WebSocket connections and checks
// that, once idle, they hold no goroutine each: reads run on the dialer's
// event loops and callbacks on goroutines that exist only while work is
// queued.
func TestNoGoroutinePerConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 300 connections")
	}
	fx := goFixture(t)
	const n = 300
	opts := client.Options{Transports: []string{client.WebSocket}}
	// Warm up the shared dialer and the server.
	warm, _ := connect(t, fx.url, opts, "/", client.SocketOptions{})
	_ = warm
	settle := func() int {
		// Goroutines of finished callbacks and of the HTTP client wind
		// down asynchronously; take the lowest of a few samples.
		low := runtime.NumGoroutine()
		for range 20 {
			time.Sleep(20 * time.Millisecond)
			low = min(low, runtime.NumGoroutine())
		}
		return low
	}
	before := settle()
	socks := make([]*client.Socket, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range socks {
		socks[i] = client.NewManager(fx.url, opts).Socket("/", client.SocketOptions{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := socks[i].ConnectContext(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range socks {
			s.Manager().Close()
		}
	}()
	after := settle()
	t.Logf("goroutines: %d before, %d with %d more connections", before, after, n)
	if after-before > n/10 {
		t.Fatalf("%d goroutines for %d connections", after-before, n)
	}
	for _, s := range socks {
		if !s.Connected() {
			t.Fatal("a socket disconnected while idle")
		}
	}
}
