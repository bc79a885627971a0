package redisbus

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/redistest"
)

// waitUntil checks cond every few milliseconds until it holds; it is for
// counters that have no event to wait on.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within %v", what, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Kill redis-server under traffic and start it again on the same port: the
// publishers never block and count what they drop while it is down, and
// the subscriber reconnects and resubscribes its channel, pattern and
// shard channel by itself.
func TestRestartUnderTraffic(t *testing.T) {
	srv := redistest.Start(t)
	rec := newRecorder()
	sub := newBus(t, []string{srv.Addr()}, rec.handle, nil)
	pub := newBus(t, []string{srv.Addr()}, nil, nil)
	sub.Subscribe("socket.io-request#/#")
	sub.PSubscribe("socket.io#/#*")
	sub.SSubscribe("socket.io#/shard#")
	syncBus(t, sub)

	// Traffic: a message on each subscription every half millisecond, from
	// another Bus and from the subscriber's own Bus.
	var seq, slowest atomic.Int64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p := []byte(strconv.FormatInt(seq.Add(1), 10))
			start := time.Now()
			pub.Publish("socket.io-request#/#", p)
			pub.Publish("socket.io#/#room1#", p)
			pub.SPublish("socket.io#/shard#", p)
			sub.Publish("socket.io#/#room2#", p)
			if d := int64(time.Since(start)); d > slowest.Load() {
				slowest.Store(d)
			}
		}
	}()
	defer func() { close(stop); <-stopped }()

	after := func(n int64) func(m msg) bool {
		return func(m msg) bool { v, _ := strconv.ParseInt(m.payload, 10, 64); return v > n }
	}
	kinds := []struct {
		name string
		ok   func(m msg) bool
	}{
		{"message", func(m msg) bool { return m.kind == KindMessage && m.channel == "socket.io-request#/#" }},
		{"pmessage", func(m msg) bool { return m.kind == KindPMessage && m.channel == "socket.io#/#room1#" }},
		{"pmessage from its own Bus", func(m msg) bool { return m.kind == KindPMessage && m.channel == "socket.io#/#room2#" }},
		{"smessage", func(m msg) bool { return m.kind == KindSMessage && m.channel == "socket.io#/shard#" }},
	}
	for _, k := range kinds {
		rec.waitFor(t, k.name+" before the kill", k.ok)
	}

	dropped := pub.Dropped()
	srv.Kill()
	killed := time.Now()
	waitUntil(t, "dropping while Redis is down", func() bool { return pub.Dropped() > dropped })
	srv.Restart()
	restarted := time.Now()
	syncBus(t, sub)
	resubscribed := time.Since(restarted)
	if n := numSub(t, pub, "socket.io-request#/#", false); n != 1 {
		t.Fatalf("NUMSUB after the restart = %d, want 1", n)
	}
	if n := numSub(t, pub, "socket.io#/shard#", true); n != 1 {
		t.Fatalf("SHARDNUMSUB after the restart = %d, want 1", n)
	}
	mark := seq.Load()
	for _, k := range kinds {
		ok := k.ok
		rec.waitFor(t, k.name+" after the restart", func(m msg) bool { return ok(m) && after(mark)(m) })
	}
	flowing := time.Since(restarted)

	ps, ss := pub.Stats(), sub.Stats()
	t.Logf("down %v; resubscribed %v after the restart, every kind flowing again after %v; "+
		"slowest round of 4 publishes %v; publisher %+v; subscriber %+v",
		restarted.Sub(killed).Round(time.Millisecond), resubscribed.Round(time.Millisecond),
		flowing.Round(time.Millisecond), time.Duration(slowest.Load()), ps, ss)
	if ss.Reconnects < 1 {
		t.Fatalf("subscriber Reconnects = %d, want at least 1", ss.Reconnects)
	}
	if ps.Dropped == 0 || ss.Dropped == 0 {
		t.Fatalf("no drops counted while Redis was down: publisher %d, subscriber %d", ps.Dropped, ss.Dropped)
	}
	// Publish never waits for Redis: a round of four calls stays far below
	// the dial timeout (5 s) and the command timeout (10 s) even on a
	// loaded machine.
	if d := time.Duration(slowest.Load()); d > time.Second {
		t.Fatalf("a round of Publish calls took %v", d)
	}
}
