package redisbus

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/redistest"
)

func TestSlotOf(t *testing.T) {
	tests := []struct {
		name, key string
		want      uint16
	}{
		// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
		{"plain", "123456789", 12739},
		{"empty", "", 0},
		{"hash tag", "{user1000}.following", slotOf("user1000")},
		{"empty hash tag", "foo{}{bar}", slotOf("foo{}{bar}")},
		{"first tag only", "foo{{bar}}zap", slotOf("{bar")},
		{"unclosed", "foo{bar", slotOf("foo{bar")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slotOf(tt.key); got != tt.want {
				t.Fatalf("slotOf(%q) = %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}

// Sharded pub/sub on a three-master cluster: each shard channel is
// SSUBSCRIBEd on its slot's master, ShardNumSub sums the masters, and
// channels and patterns share the home node's connection.
func TestClusterShardedPubSub(t *testing.T) {
	cl := redistest.StartCluster(t)
	rec := newRecorder()
	sub := newBus(t, cl.Addrs(), rec.handle, nil)
	other := newBus(t, cl.Addrs(), nil, nil)
	if !sub.IsCluster() {
		t.Fatal("IsCluster() = false on a cluster")
	}

	// Twelve room channels, on every master.
	var channels []string
	owners := map[string]int{}
	for i := 0; len(channels) < 12 || len(owners) < 3; i++ {
		ch := "socket.io#/#room" + strconv.Itoa(i) + "#"
		channels = append(channels, ch)
		sub.mu.Lock()
		owners[sub.topo.owner(slotOf(ch))]++
		sub.mu.Unlock()
		want, err := cl.Nodes[0].Do("CLUSTER", "KEYSLOT", ch)
		if err != nil {
			t.Fatal(err)
		}
		if got := strconv.Itoa(int(slotOf(ch))); got != want {
			t.Fatalf("slotOf(%q) = %s, CLUSTER KEYSLOT says %s", ch, got, want)
		}
	}
	t.Logf("%d channels over masters %v", len(channels), owners)
	for _, key := range []string{"{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "foo{bar", "a{b}c{d}"} {
		want, err := cl.Nodes[0].Do("CLUSTER", "KEYSLOT", key)
		if err != nil {
			t.Fatal(err)
		}
		if got := strconv.Itoa(int(slotOf(key))); got != want {
			t.Fatalf("slotOf(%q) = %s, CLUSTER KEYSLOT says %s", key, got, want)
		}
	}

	sub.SSubscribe(channels...)
	sub.Subscribe("socket.io-request#/#")
	sub.PSubscribe("socket.io-classic#/#*")
	syncBus(t, sub)
	other.SSubscribe(channels[0])
	syncBus(t, other)

	for i, ch := range channels {
		want := int64(1)
		if i == 0 {
			want = 2
		}
		if n := numSub(t, other, ch, true); n != want {
			t.Fatalf("ShardNumSub(%s) = %d, want %d", ch, n, want)
		}
	}
	if n := numSub(t, other, "socket.io-request#/#", false); n != 1 {
		t.Fatalf("NumSub = %d summed over masters, want 1", n)
	}
	// One subscriber connection per master for sub (its channels span all
	// three; the home node's carries the channel and the pattern too), one
	// for other.
	total := 0
	for _, n := range cl.Nodes {
		total += clientsSubscribed(t, n)
	}
	if total != 4 {
		t.Fatalf("%d subscribed connections on the cluster, want 4", total)
	}

	for _, ch := range channels {
		other.SPublish(ch, []byte("s"+ch))
	}
	for _, ch := range channels {
		want := msg{KindSMessage, ch, "", "s" + ch}
		if got := rec.waitFor(t, "smessage on "+ch, func(m msg) bool { return m.payload == want.payload }); got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	other.Publish("socket.io-request#/#", []byte("req"))
	other.Publish("socket.io-classic#/#r1#", []byte("bcast"))
	if got, want := rec.waitFor(t, "message", func(m msg) bool { return m.payload == "req" }), (msg{KindMessage, "socket.io-request#/#", "", "req"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got, want := rec.waitFor(t, "pmessage", func(m msg) bool { return m.payload == "bcast" }), (msg{KindPMessage, "socket.io-classic#/#r1#", "socket.io-classic#/#*", "bcast"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if n, err := other.SPublishWait(ctxT(t), channels[0], []byte("waited")); err != nil || n != 2 {
		t.Fatalf("SPublishWait: %d receivers, %v; want 2 (sub and other)", n, err)
	}

	sub.SUnsubscribe(channels...)
	syncBus(t, sub)
	for i, ch := range channels {
		want := int64(0)
		if i == 0 {
			want = 1
		}
		if n := numSub(t, other, ch, true); n != want {
			t.Fatalf("ShardNumSub(%s) = %d after SUnsubscribe, want %d", ch, n, want)
		}
	}
	if err := other.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if s := other.Stats(); s.Dropped != 0 || s.Published != uint64(len(channels)+2) {
		t.Fatalf("publisher stats %+v, want %d published", s, len(channels)+2)
	}
}

// The streams adapter's commands on a cluster: keys route by slot, and the
// MULTI GET DEL EXEC transaction stays on one node.
func TestClusterStreamsCommands(t *testing.T) {
	cl := redistest.StartCluster(t)
	b := newBus(t, cl.Addrs(), nil, nil)
	for i := 0; i < 5; i++ {
		stream := fmt.Sprintf("socket.io-%d", i)
		id, err := b.XAdd(ctxT(t), stream, 100, "uid", "u", "nsp", "/", "type", "3", "data", "{}")
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.XRange(ctxT(t), stream, id, id, 0)
		if err != nil || len(got) != 1 || got[0].ID != id {
			t.Fatalf("XRange(%s): %+v, %v", stream, got, err)
		}
		key := fmt.Sprintf("sio:session:%d", i)
		if err := b.SetPX(ctxT(t), key, []byte("s"), 60e9); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := b.GetDel(ctxT(t), key); err != nil || !ok || string(v) != "s" {
			t.Fatalf("GetDel(%s) = %q, %v, %v", key, v, ok, err)
		}
	}
}

// Kill the master that owns some of the subscribed shard channels and start
// it again (its nodes.conf keeps its slots): the Bus reconnects to it and
// SSUBSCRIBEs its channels again, and ShardNumSub counts one again.
func TestClusterNodeRestart(t *testing.T) {
	cl := redistest.StartCluster(t)
	rec := newRecorder()
	sub := newBus(t, cl.Addrs(), rec.handle, nil)
	other := newBus(t, cl.Addrs(), nil, nil)
	var channels []string
	for i := 0; i < 12; i++ {
		channels = append(channels, "socket.io#/#room"+strconv.Itoa(i)+"#")
	}
	sub.SSubscribe(channels...)
	syncBus(t, sub)

	// The victim: the master of channels[0], which is not the home node
	// when another master owns a channel too.
	sub.mu.Lock()
	victimAddr := sub.topo.owner(slotOf(channels[0]))
	sub.mu.Unlock()
	var victim *redistest.Server
	for _, n := range cl.Nodes {
		if n.Addr() == victimAddr {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("no node %s", victimAddr)
	}
	victim.Kill()
	waitUntil(t, "the Bus to see the connection lost", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return !sub.conns[victimAddr].live
	})
	victim.Restart()
	restarted := time.Now()
	syncBus(t, sub)
	t.Logf("resubscribed on %s %v after its restart; stats %+v", victimAddr, time.Since(restarted).Round(time.Millisecond), sub.Stats())
	for _, ch := range channels {
		if n := numSub(t, other, ch, true); n != 1 {
			t.Fatalf("ShardNumSub(%s) = %d after the restart, want 1", ch, n)
		}
	}
	// The restarted node may need a moment before the cluster accepts
	// writes to its slots again (cluster_state): SPublishWait retries
	// until it is accepted.
	waitUntil(t, "SPUBLISH accepted again", func() bool {
		_, err := other.SPublishWait(ctxT(t), channels[0], []byte("back"))
		return err == nil
	})
	rec.waitFor(t, "a message on the restarted node", func(m msg) bool { return m.payload == "back" && m.channel == channels[0] })
	if s := sub.Stats(); s.Reconnects < 1 {
		t.Fatalf("Reconnects = %d, want at least 1", s.Reconnects)
	}
}
