package sio_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// TestPollingClientsSpreadOverLoops: a polling client's work (its share of
// broadcasts, its ordered writes) runs on the loop of its handshake
// request's connection, so polling-first clients (every browser's io())
// spread over the loops as their connections do. Before, every polling
// handshake got group 0 and a 2-loop server ran all their fan-out on one.
// A broadcast then reaches every one of them.
func TestPollingClientsSpreadOverLoops(t *testing.T) {
	const clients = 24
	groups := make(chan int, clients)
	ts := startServer(t, sio.Config{Loops: 2}, func(srv *sio.Server) {
		srv.Of("/g").OnConnection(func(s *sio.Socket) { groups <- sio.SocketGroup(s) })
	})
	seen := map[int]int{}
	var polls []*pollClient
	for i := 0; i < clients; i++ {
		// A connection of its own for each handshake: the kernel spreads
		// connections over the loops' listeners.
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := hc.Get(ts.url("http", "EIO=4&transport=polling"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := openRE.FindStringSubmatch(string(body))
		if m == nil {
			t.Fatalf("handshake %q", body)
		}
		p := ts.pollSession(t, m[1])
		p.mustPost(t, "40/g,")
		if _, body := p.get(t); !strings.HasPrefix(body, "40/g,") {
			t.Fatalf("CONNECT reply %q", body)
		}
		select {
		case g := <-groups:
			seen[g]++
		case <-time.After(wait):
			t.Fatal("the connection handler did not run")
		}
		polls = append(polls, p)
	}
	if seen[0] == 0 || seen[1] == 0 {
		t.Fatalf("groups of %d polling clients: %v; want both loops used", clients, seen)
	}
	if err := ts.Of("/g").Emit("news", 1); err != nil {
		t.Fatal(err)
	}
	for i, p := range polls {
		if _, body := p.get(t); body != `42/g,["news",1]` {
			t.Fatalf("client %d got %q, want the broadcast", i, body)
		}
	}
}
