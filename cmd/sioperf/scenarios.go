package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
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

// IdleResult is the idle scenario's outcome.
type IdleResult struct {
	Conns        int     `json:"conns"`
	RSSBefore    int64   `json:"rss_before,omitempty"`
	RSSAfter     int64   `json:"rss_after,omitempty"`
	BytesPerConn float64 `json:"bytes_per_conn,omitempty"`
	Disconnects  int64   `json:"disconnects"`
	ServerCPUPct float64 `json:"server_cpu_pct_settled,omitempty"`
}

// ConnectResult is the connect scenario's outcome.
type ConnectResult struct {
	Conns         int     `json:"conns"`
	PerS          float64 `json:"conns_per_s"`
	Latency       Latency `json:"handshake"`
	ServerUsPerOp float64 `json:"server_us_per_conn,omitempty"`
	ServerCPUPct  float64 `json:"server_cpu_pct,omitempty"`
	ToolCPUPct    float64 `json:"tool_cpu_pct"`
}

// cluster is the set of workers holding a scenario's connections, plus the
// local publishers.
type cluster struct {
	cfg       *config
	workers   []worker
	local     bool // the only worker is a pool in this process
	pubs      *pool
	closeOnce sync.Once
}

func newCluster(cfg *config) (*cluster, error) {
	// The publishers' pool exists from the start (empty unless a broadcast
	// scenario opens it) so the field never changes under the watchdog.
	cl := &cluster{cfg: cfg, pubs: &pool{handshakes: newHist()}}
	if cfg.Procs <= 1 {
		cl.workers = []worker{&pool{handshakes: newHist()}}
		cl.local = true
		return cl, nil
	}
	for i := 0; i < cfg.Procs; i++ {
		w, err := startWorker(cfg.Timeout)
		if err != nil {
			cl.close()
			return nil, err
		}
		cl.workers = append(cl.workers, w)
	}
	return cl, nil
}

func (cl *cluster) spec(count, first, rooms, concurrency int) openSpec {
	return openSpec{
		Addr:             cl.cfg.Addr,
		Path:             cl.cfg.Path,
		Raw:              cl.cfg.Proto == "raw",
		Count:            count,
		First:            first,
		Rooms:            rooms,
		Srcs:             cl.cfg.Srcs,
		Concurrency:      concurrency,
		HandshakeTimeout: cl.cfg.HSTimeout,
		RBufMax:          cl.cfg.RBufMax,
		Pad:              cl.cfg.Pad,
		IO:               cl.cfg.IO,
		Transport:        cl.cfg.Transport,
		EchoInterval:     cl.cfg.EchoEvery,
	}
}

// open spreads count connections over the workers and merges their results.
func (cl *cluster) open(ctx context.Context, count, rooms int) (openResult, error) {
	k := len(cl.workers)
	conc := (cl.cfg.Concurrency + k - 1) / k
	results := make([]openResult, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i, w := range cl.workers {
		first := count * i / k
		n := count*(i+1)/k - first
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = w.Open(ctx, cl.spec(n, first, rooms, conc))
		}()
	}
	wg.Wait()
	var m openResult
	h := newHist()
	seen := map[string]bool{}
	for i, r := range results {
		m.Opened += r.Opened
		m.Failed += r.Failed
		for _, e := range r.Errors {
			if !seen[e] {
				seen[e] = true
				m.Errors = append(m.Errors, e)
			}
		}
		if r.FirstStartUs != 0 && (m.FirstStartUs == 0 || r.FirstStartUs < m.FirstStartUs) {
			m.FirstStartUs = r.FirstStartUs
		}
		if r.LastReadyUs > m.LastReadyUs {
			m.LastReadyUs = r.LastReadyUs
		}
		h.Merge(r.Handshake)
		if errs[i] != nil {
			return m, errs[i]
		}
	}
	m.Handshake = h.Snapshot()
	return m, nil
}

// stats merges every worker's view of step s.
func (cl *cluster) stats(ctx context.Context, s int, withHist bool) (statsReply, *Hist, error) {
	return cl.merge(s, withHist, func(w worker) (statsReply, error) { return w.Stats(ctx, s, withHist) })
}

// secondStats merges every worker's view of second sec of the timeline.
func (cl *cluster) secondStats(ctx context.Context, sec int, withHist bool) (statsReply, *Hist, error) {
	return cl.merge(sec, withHist, func(w worker) (statsReply, error) { return w.SecondStats(ctx, sec, withHist) })
}

// startTimeline starts every worker's timeline at startUs (unix µs).
func (cl *cluster) startTimeline(ctx context.Context, startUs int64) error {
	for _, w := range cl.workers {
		if err := w.StartTimeline(ctx, startUs); err != nil {
			return err
		}
	}
	return nil
}

// merge asks every worker for the stats of one bin (get) at once and sums
// the replies, adding the local publishers' disconnects.
func (cl *cluster) merge(bin int, withHist bool, get func(worker) (statsReply, error)) (statsReply, *Hist, error) {
	replies := make([]statsReply, len(cl.workers))
	errs := make([]error, len(cl.workers))
	var wg sync.WaitGroup
	for i, w := range cl.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i], errs[i] = get(w)
		}()
	}
	wg.Wait()
	m := statsReply{Step: bin}
	var h *Hist
	if withHist {
		h = newHist()
	}
	for i, r := range replies {
		if errs[i] != nil {
			return m, h, errs[i]
		}
		m.Delivered += r.Delivered
		m.Total += r.Total
		m.Stray += r.Stray
		m.Disconnects += r.Disconnects
		m.ProtoErrors += r.ProtoErrors
		m.CPUNs += r.CPUNs
		if r.LastUs > m.LastUs {
			m.LastUs = r.LastUs
		}
		if h != nil && r.Hist != nil {
			h.Merge(*r.Hist)
		}
	}
	m.Disconnects += cl.pubs.disconnects.Load()
	return m, h, nil
}

// toolCPU is the load tool's CPU time: this process plus worker processes.
func (cl *cluster) toolCPU(ctx context.Context) int64 {
	if cl.local {
		return selfCPUNs()
	}
	st, _, _ := cl.stats(ctx, 0, false)
	return selfCPUNs() + st.CPUNs
}

// close closes every connection and stops the workers; it is idempotent,
// and the first caller does the work.
func (cl *cluster) close() {
	cl.closeOnce.Do(func() {
		cl.pubs.Close()
		var wg sync.WaitGroup
		for _, w := range cl.workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.Close() }()
		}
		wg.Wait()
	})
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
