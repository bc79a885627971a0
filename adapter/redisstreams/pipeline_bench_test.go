package redisstreams_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redisstreams"
	"github.com/sioloop/sioloop/internal/redistest"
	"github.com/sioloop/sioloop/sio"
)

// BenchmarkPipeline: broadcasts through the pipeline on a real
// redis-server, from Emit until delivered here (recovery: XADD, then the
// reader delivers with the offset; without: delivered at once, XADD
// after), one namespace or four at once, no client connected. Flush
// drains the pipelines before the timer stops.
func BenchmarkPipeline(b *testing.B) {
	rs := redistest.Start(b)
	for _, tc := range []struct {
		name     string
		recovery bool
		nsps     int
	}{
		{"recovery/1nsp", true, 1},
		{"recovery/4nsp", true, 4},
		{"norecovery/1nsp", false, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			ra, err := redisstreams.New(ctx, redisstreams.Config{Addr: rs.Addr(), StreamName: "bench-" + tc.name, MaxLen: 1000})
			if err != nil {
				b.Fatal(err)
			}
			defer ra.Close()
			sc := sio.Config{Adapter: ra.ForNamespace, Loops: 1}
			if tc.recovery {
				sc.ConnectionStateRecovery = &sio.RecoveryConfig{}
			}
			srv := sio.NewServer(sc)
			var nsps []*sio.Namespace
			for i := 0; i < tc.nsps; i++ {
				nsps = append(nsps, srv.Of("/n"+strconv.Itoa(i)))
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, ns := range nsps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < b.N/len(nsps); i++ {
						ns.To("room").Emit("news", "t", i)
						if i%1000 == 999 {
							ra.Flush(ctx) // stay within MaxQueuedBytes
						}
					}
				}()
			}
			wg.Wait()
			ra.Flush(ctx)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "broadcasts/s")
			if st := ra.Stats(); st.Dropped != 0 || st.AppendFailed != 0 {
				b.Errorf("%+v", st)
			}
		})
	}
}
