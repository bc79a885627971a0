package main

import (
	"context"
	"time"
)

// ConnectResult is the connect scenario's outcome.
type ConnectResult struct {
	Conns         int     `json:"conns"`
	PerS          float64 `json:"conns_per_s"`
	Latency       Latency `json:"handshake"`
	ServerUsPerOp float64 `json:"server_us_per_conn,omitempty"`
	ServerCPUPct  float64 `json:"server_cpu_pct,omitempty"`
	ToolCPUPct    float64 `json:"tool_cpu_pct"`
}

func runConnect(ctx context.Context, cfg *config, cl *cluster, prog *progress, res *Result) error {
	srv0, tool0, t0 := serverCPU(cfg), cl.toolCPU(ctx), time.Now()
	r, err := openAll(ctx, cl, prog, res, cfg.Conns, 0)
	srv1, tool1, t1 := serverCPU(cfg), cl.toolCPU(ctx), time.Now()
	h := newHist()
	h.Merge(r.Handshake)
	cr := &ConnectResult{Conns: r.Opened, Latency: h.Summary()}
	if span := r.LastReadyUs - r.FirstStartUs; span > 0 {
		cr.PerS = float64(r.Opened) / (float64(span) / 1e6)
	}
	wall := t1.Sub(t0)
	if srv0 >= 0 && srv1 >= 0 {
		cr.ServerCPUPct = pct(srv1-srv0, wall)
		if r.Opened > 0 {
			cr.ServerUsPerOp = float64(srv1-srv0) / 1e3 / float64(r.Opened)
		}
	}
	cr.ToolCPUPct = pct(tool1-tool0, wall)
	res.Connect = cr
	res.Headline = Headline{Name: "connect", Value: cr.PerS, Unit: "conns/s", HigherIsBetter: true}
	return err
}
