package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Result is the JSON object printed for one run.
type Result struct {
	Scenario string    `json:"scenario"`
	Label    string    `json:"label,omitempty"`
	Proto    string    `json:"proto"`
	Addr     string    `json:"addr"`
	Started  time.Time `json:"started"`
	ElapsedS float64   `json:"elapsed_s"`
	Headline Headline  `json:"headline"`
	Config   *config   `json:"config"`

	Open *OpenSummary `json:"open,omitempty"`

	Steps              []StepResult `json:"steps,omitempty"`
	MaxSustainable     *StepResult  `json:"max_sustainable,omitempty"`
	PeakThroughputPerS float64      `json:"peak_throughput_per_s,omitempty"`

	Echo    *EchoResult    `json:"echo,omitempty"`
	Idle    *IdleResult    `json:"idle,omitempty"`
	Connect *ConnectResult `json:"connect,omitempty"`

	Overload *OverloadResult `json:"overload,omitempty"`

	// Note qualifies the result, e.g. a ladder that hit -max-steps or
	// -max-rate before any failure (max_sustainable is then a lower bound).
	Note string `json:"note,omitempty"`

	Error string `json:"error,omitempty"`
}

// Headline is the one figure a summary table shows for a run.
type Headline struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// HigherIsBetter orders results in summaries.
	HigherIsBetter bool `json:"higher_is_better"`
}

// OpenSummary describes the connections a scenario opened.
type OpenSummary struct {
	Wanted    int      `json:"wanted"`
	Opened    int      `json:"opened"`
	Failed    int      `json:"failed"`
	Errors    []string `json:"errors,omitempty"`
	Handshake Latency  `json:"handshake"`
	Seconds   float64  `json:"seconds"`
}

// StepResult is one fanout ladder step (or the single chat step).
type StepResult struct {
	Step          int     `json:"step"`
	Phase         string  `json:"phase"`
	TargetPerS    float64 `json:"target_per_s"`  // deliveries/s asked for
	PublishPerS   float64 `json:"publish_per_s"` // published messages/s asked for
	Published     int64   `json:"published"`
	Planned       int64   `json:"planned"`
	Expected      uint64  `json:"expected"`
	Delivered     uint64  `json:"delivered"`
	Lost          int64   `json:"lost"`
	DeliveredPerS float64 `json:"delivered_per_s"` // delivered / measured seconds
	PeakPerS      float64 `json:"peak_per_s"`      // delivered / (last delivery - first publish)
	Latency       Latency `json:"latency"`
	Disconnects   int64   `json:"disconnects"`
	PublishS      float64 `json:"publish_s"` // wall time of the measured publishing
	ServerCPUPct  float64 `json:"server_cpu_pct,omitempty"`
	ServerUsPerOp float64 `json:"server_us_per_delivery,omitempty"`
	ServerRSS     int64   `json:"server_rss,omitempty"`
	// ServerRSSEach is each -server-pid process's RSS, in that order.
	ServerRSSEach []int64 `json:"server_rss_each,omitempty"`
	ToolCPUPct    float64 `json:"tool_cpu_pct"`
	Pass          bool    `json:"pass"`
	Reason        string  `json:"reason,omitempty"`
}

// serverCPU returns the server's CPU time, or -1 without -server-pid.
func serverCPU(cfg *config) int64 {
	if len(cfg.ServerPIDs) == 0 {
		return -1
	}
	var sum int64
	for _, pid := range cfg.ServerPIDs {
		ns, err := procCPUNs(pid)
		if err != nil {
			return -1
		}
		sum += ns
	}
	return sum
}

func serverRSS(cfg *config) int64 {
	var sum int64
	for _, b := range serverRSSEach(cfg) {
		sum += b
	}
	return sum
}

// serverRSSEach returns the RSS of each -server-pid process (0 for one that
// cannot be read), in the order given.
func serverRSSEach(cfg *config) []int64 {
	if len(cfg.ServerPIDs) == 0 {
		return nil
	}
	out := make([]int64, len(cfg.ServerPIDs))
	for i, pid := range cfg.ServerPIDs {
		if b, err := procRSS(pid); err == nil {
			out[i] = b
		}
	}
	return out
}

// firstAddr is the first of a comma-separated list of addresses.
func firstAddr(addrs string) string {
	a, _, _ := strings.Cut(addrs, ",")
	return a
}

func pct(cpuNs int64, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * float64(cpuNs) / float64(wall.Nanoseconds())
}

// sleepCtx sleeps for d or until ctx ends; it reports whether ctx is alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// run executes one scenario and always returns a Result; failures are in
// Result.Error.
func run(ctx context.Context, cfg *config, prog *progress) *Result {
	res := &Result{Scenario: cfg.Scenario, Label: cfg.Label, Proto: cfg.Proto, Addr: cfg.Addr, Config: cfg, Started: time.Now()}
	cl, err := newCluster(cfg)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	// When -timeout fires, closing every connection unblocks whatever the
	// driver waits on (a write to a server that stopped reading, a read).
	stopWatchdog := context.AfterFunc(ctx, cl.close)
	defer stopWatchdog()
	switch cfg.Scenario {
	case "fanout", "chat":
		err = runBroadcast(ctx, cfg, cl, prog, res)
	case "overload":
		err = runOverload(ctx, cfg, cl, prog, res)
	case "echo":
		err = runEcho(ctx, cfg, cl, prog, res)
	case "idle":
		err = runIdle(ctx, cfg, cl, prog, res)
	case "connect":
		err = runConnect(ctx, cfg, cl, prog, res)
	default:
		err = fmt.Errorf("unknown scenario %q", cfg.Scenario)
	}
	prog.set("closing connections")
	cl.close()
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("run cut short by -timeout: %w", ctx.Err())
	}
	if err != nil {
		res.Error = err.Error()
	}
	res.ElapsedS = time.Since(res.Started).Seconds()
	return res
}

func summarizeOpen(want int, r openResult) *OpenSummary {
	h := newHist()
	h.Merge(r.Handshake)
	return &OpenSummary{
		Wanted: want, Opened: r.Opened, Failed: r.Failed, Errors: r.Errors,
		Handshake: h.Summary(),
		Seconds:   float64(r.LastReadyUs-r.FirstStartUs) / 1e6,
	}
}

// openAll opens count connections and fails unless all of them came up:
// every scenario of the contract assumes the full population.
func openAll(ctx context.Context, cl *cluster, prog *progress, res *Result, count, rooms int) (openResult, error) {
	prog.set(fmt.Sprintf("opening %d connections", count))
	r, err := cl.open(ctx, count, rooms)
	res.Open = summarizeOpen(count, r)
	if err != nil {
		return r, err
	}
	if r.Opened < count {
		return r, fmt.Errorf("only %d of %d connections opened (%d failed): %v", r.Opened, count, r.Failed, r.Errors)
	}
	return r, nil
}

// medianOf returns the median, min and max of vs (vs is sorted in place).
func medianOf(vs []float64) (med, lo, hi float64) {
	if len(vs) == 0 {
		return 0, 0, 0
	}
	sort.Float64s(vs)
	n := len(vs)
	if n%2 == 1 {
		med = vs[n/2]
	} else {
		med = (vs[n/2-1] + vs[n/2]) / 2
	}
	return med, vs[0], vs[n-1]
}
