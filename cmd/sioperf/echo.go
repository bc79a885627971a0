package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// EchoResult is the echo scenario's outcome.
type EchoResult struct {
	Clients        int     `json:"clients"`
	Completed      uint64  `json:"completed"`
	RoundTripsPerS float64 `json:"round_trips_per_s"`
	Latency        Latency `json:"rtt"`
	Mismatched     uint64  `json:"mismatched"`
	Disconnects    int64   `json:"disconnects"`
	ServerCPUPct   float64 `json:"server_cpu_pct,omitempty"`
	ServerUsPerOp  float64 `json:"server_us_per_round_trip,omitempty"`
	ToolCPUPct     float64 `json:"tool_cpu_pct"`
}

func runEcho(ctx context.Context, cfg *config, cl *cluster, prog *progress, res *Result) error {
	if _, err := openAll(ctx, cl, prog, res, cfg.Clients, 0); err != nil {
		return err
	}
	prog.set(fmt.Sprintf("echo: %d clients for %v", cfg.Clients, cfg.Duration))
	srv0, tool0, t0 := serverCPU(cfg), cl.toolCPU(ctx), time.Now()
	replies := make([]echoReply, len(cl.workers))
	errs := make([]error, len(cl.workers))
	var wg sync.WaitGroup
	for i, w := range cl.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i], errs[i] = w.Echo(ctx, cfg.Duration)
		}()
	}
	wg.Wait()
	srv1, tool1, t1 := serverCPU(cfg), cl.toolCPU(ctx), time.Now()
	h := newHist()
	er := &EchoResult{Clients: cfg.Clients}
	for i, r := range replies {
		if errs[i] != nil {
			return errs[i]
		}
		er.Completed += r.Completed
		er.Mismatched += r.Mismatched
		er.Disconnects += r.Disconnects
		h.Merge(r.Hist)
	}
	er.Latency = h.Summary()
	er.RoundTripsPerS = float64(er.Completed) / cfg.Duration.Seconds()
	wall := t1.Sub(t0)
	if srv0 >= 0 && srv1 >= 0 {
		er.ServerCPUPct = pct(srv1-srv0, wall)
		if er.Completed > 0 {
			er.ServerUsPerOp = float64(srv1-srv0) / 1e3 / float64(er.Completed)
		}
	}
	er.ToolCPUPct = pct(tool1-tool0, wall)
	res.Echo = er
	res.Headline = Headline{Name: "echo", Value: er.RoundTripsPerS, Unit: "round trips/s", HigherIsBetter: true}
	if er.Completed == 0 {
		return errors.New("no echo completed")
	}
	if er.Disconnects > 0 {
		return fmt.Errorf("%d clients disconnected during the echo run", er.Disconnects)
	}
	return nil
}
