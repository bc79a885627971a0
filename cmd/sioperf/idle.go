package main

import (
	"context"
	"fmt"
	"time"
)

// IdleResult is the idle scenario's outcome.
type IdleResult struct {
	Conns        int     `json:"conns"`
	RSSBefore    int64   `json:"rss_before,omitempty"`
	RSSAfter     int64   `json:"rss_after,omitempty"`
	BytesPerConn float64 `json:"bytes_per_conn,omitempty"`
	Disconnects  int64   `json:"disconnects"`
	ServerCPUPct float64 `json:"server_cpu_pct_settled,omitempty"`
}

func runIdle(ctx context.Context, cfg *config, cl *cluster, prog *progress, res *Result) error {
	ir := &IdleResult{Conns: cfg.Conns}
	res.Idle = ir
	ir.RSSBefore = serverRSS(cfg)
	if _, err := openAll(ctx, cl, prog, res, cfg.Conns, 0); err != nil {
		return err
	}
	prog.set(fmt.Sprintf("idle: %d connections, settling %v", cfg.Conns, cfg.IdleSettle))
	srv0, t0 := serverCPU(cfg), time.Now()
	if !sleepCtx(ctx, cfg.IdleSettle) {
		return ctx.Err()
	}
	srv1, t1 := serverCPU(cfg), time.Now()
	ir.RSSAfter = serverRSS(cfg)
	st, _, err := cl.stats(ctx, 0, false)
	if err != nil {
		return err
	}
	ir.Disconnects = st.Disconnects
	if srv0 >= 0 && srv1 >= 0 {
		ir.ServerCPUPct = pct(srv1-srv0, t1.Sub(t0))
	}
	res.Headline = Headline{Name: "idle memory", Unit: "bytes/conn"}
	if len(cfg.ServerPIDs) > 0 {
		ir.BytesPerConn = float64(ir.RSSAfter-ir.RSSBefore) / float64(cfg.Conns)
		res.Headline.Value = ir.BytesPerConn
	}
	if ir.Disconnects > 0 {
		return fmt.Errorf("%d idle connections dropped", ir.Disconnects)
	}
	return nil
}
