package sio

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkEmitRecovery measures io.to(room).emit with connection state
// recovery off and on (each event recorded once, with its offset), and on
// with 10,000 sessions saved: an emit must not cost more with them. The
// default log (64 MiB) fills within the run, so "on" includes the cost of
// keeping that much for the garbage collector; "log=1MiB" shows the
// recording alone.
func BenchmarkEmitRecovery(b *testing.B) {
	for _, tc := range []struct {
		name     string
		recovery bool
		logBytes int // MaxLogBytes; 0: the default (64 MiB)
		saved    int
	}{
		{name: "off", recovery: false},
		{name: "on", recovery: true},
		{name: "on/log=1MiB", recovery: true, logBytes: 1 << 20},
		{name: "on/saved=10000", recovery: true, saved: 10000},
	} {
		for _, members := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/members=%d", tc.name, members), func(b *testing.B) {
				cfg := Config{Loops: 2}
				if tc.recovery {
					cfg.ConnectionStateRecovery = &RecoveryConfig{MaxLogBytes: tc.logBytes}
				}
				srv := NewServer(cfg)
				srv.OnConnection(func(s *Socket) { s.Join("r1") })
				for i := 0; i < tc.saved; i++ {
					c := connectFake(b, srv, i%2)
					c.fh.OnClose(c, nil) // transport close: the session is saved
				}
				waitSaved(b, srv, tc.saved)
				conns := make([]*fakeWS, members)
				for i := range conns {
					conns[i] = connectFake(b, srv, i%2)
				}
				waitSockets(b, srv.root, members)
				for srv.root.adapter.(*MemoryAdapter).hub.Size("r1") < members {
					time.Sleep(time.Millisecond)
				}
				obj := json.RawMessage(`{"room":"r1","s":1,"seq":2,"t":1700000000000000,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := srv.To("r1").Emit("msg", obj); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				var frames int64
				for _, c := range conns {
					frames += c.frames.Load()
				}
				if frames < int64(b.N)*int64(members) {
					b.Fatalf("delivered %d frames, want >= %d", frames, int64(b.N)*int64(members))
				}
			})
		}
	}
}

// waitSaved waits until n sessions are saved for recovery.
func waitSaved(tb testing.TB, srv *Server, n int) {
	tb.Helper()
	if n == 0 {
		return
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.store.savedCount() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d sessions saved", srv.store.savedCount(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
