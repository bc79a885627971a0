package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
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
	if cfg.ServerPID <= 0 {
		return -1
	}
	ns, err := procCPUNs(cfg.ServerPID)
	if err != nil {
		return -1
	}
	return ns
}

func serverRSS(cfg *config) int64 {
	if cfg.ServerPID <= 0 {
		return 0
	}
	b, err := procRSS(cfg.ServerPID)
	if err != nil {
		return 0
	}
	return b
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

// roomMembers returns the members of each room when subscriber i joins room
// i mod rooms.
func roomMembers(subs, rooms int) []int64 {
	m := make([]int64, rooms)
	for r := range m {
		m[r] = int64(subs / rooms)
		if r < subs%rooms {
			m[r]++
		}
	}
	return m
}

// pubResult is what the publishers did in one publishing window.
type pubResult struct {
	sent    int64
	planned int64
	perRoom []int64
	firstUs int64
	err     error
}

// pacing says how long a publishing window may overrun and where its
// progress shows.
type pacing struct {
	// grace is how long past the window publishers go on sending the
	// messages that fell due in it but could not be written in time.
	grace time.Duration
	// sent, when not nil, counts messages as their batch is written, for
	// a driver that samples progress while the window runs.
	sent *atomic.Int64
	// writeTimeout bounds one blocking write; past it the publisher gives
	// up and closes its connection. Zero means 5 s.
	writeTimeout time.Duration
}

// stepPacing lets a ladder step overrun by half its window plus 0.5 s, so
// a slow step still offers every planned message (and fails on time).
func stepPacing(dur time.Duration) pacing {
	return pacing{grace: dur/2 + 500*time.Millisecond}
}

// publish makes every publisher send at rate/len(pubs) messages/s for dur,
// tagged with step s. Publisher j sends its k-th message to room
// (j + k*P) mod rooms, so all rooms get an even share. Each publisher paces
// itself against its own start time and sends every message that has fallen
// due in one write (at most 256 per batch), stamping the batch with one
// clock reading. A publisher stops at dur+pc.grace even if it is behind.
func publish(ctx context.Context, cfg *config, pubs []*conn, s int, rate float64, dur time.Duration, rooms int, pc pacing) pubResult {
	P := len(pubs)
	names := make([]string, rooms)
	for i := range names {
		names[i] = "r" + strconv.Itoa(i+1)
	}
	raw := cfg.Proto == "raw"
	padding := pad(cfg.Pad)
	out := pubResult{perRoom: make([]int64, rooms)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for j, c := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rate / float64(P)
			total := int64(math.Round(r * dur.Seconds()))
			if total < 1 {
				total = 1
			}
			writeTimeout := pc.writeTimeout
			if writeTimeout <= 0 {
				writeTimeout = 5 * time.Second
			}
			perRoom := make([]int64, rooms)
			var sent, firstUs int64
			var err error
			var payload []byte
			start := time.Now()
			for sent < total && ctx.Err() == nil {
				el := time.Since(start)
				if el > dur+pc.grace {
					break // the server (or this tool) cannot absorb the rate
				}
				due := int64(el.Seconds()*r) + 1
				if due > total {
					due = total
				}
				n := due - sent
				if n <= 0 {
					next := time.Duration(float64(sent) / r * 1e9)
					d := next - el
					if d > 10*time.Millisecond {
						d = 10 * time.Millisecond
					}
					time.Sleep(d)
					continue
				}
				if n > 256 {
					n = 256
				}
				nowUs := time.Now().UnixMicro()
				if firstUs == 0 {
					firstUs = nowUs
				}
				err = c.writeBatch(func(dst []byte) []byte {
					for k := sent; k < sent+n; k++ {
						room := (int64(j) + k*int64(P)) % int64(rooms)
						perRoom[room]++
						payload = appendBcast(payload[:0], raw, names[room], s, k, nowUs, padding)
						dst = appendFrameText(dst, payload)
					}
					return dst
				}, writeTimeout)
				if err != nil {
					// perRoom already counts the batch; a failed write means
					// the step fails anyway, with this error as its reason.
					// The write may have left part of a frame on the
					// stream: close it, so that later windows fail at once
					// instead of sending garbage.
					c.nc.Close()
					break
				}
				sent += n
				if pc.sent != nil {
					pc.sent.Add(n)
				}
			}
			mu.Lock()
			out.sent += sent
			out.planned += total
			for i, v := range perRoom {
				out.perRoom[i] += v
			}
			if firstUs != 0 && (out.firstUs == 0 || firstUs < out.firstUs) {
				out.firstUs = firstUs
			}
			if err != nil && out.err == nil {
				out.err = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// broadcastRun is the state shared by the broadcast scenarios (fanout,
// chat, overload): the open publishers, the room sizes and the next step
// number.
type broadcastRun struct {
	ctx     context.Context
	cfg     *config
	cl      *cluster
	prog    *progress
	res     *Result
	pubs    []*conn
	members []int64
	s       int // the next step number
}

// openBroadcast opens the subscribers (joining cfg.Rooms rooms) and the
// publishers.
func openBroadcast(ctx context.Context, cfg *config, cl *cluster, prog *progress, res *Result) (*broadcastRun, error) {
	rooms := cfg.Rooms
	if rooms < 1 {
		rooms = 1
	}
	joinRooms := rooms
	if cfg.Proto == "raw" {
		joinRooms = 0 // raw mode has no join step
	}
	if _, err := openAll(ctx, cl, prog, res, cfg.Subs, joinRooms); err != nil {
		return nil, err
	}
	// Publishers take global indexes after the subscribers, so they use the
	// next source addresses, and they never join a room. They write with
	// blocking writes under a deadline (conn.writeBatch), so they are on
	// the goroutine path whatever -io says: a server that stops reading
	// then slows the publisher down, which fails the step.
	pspec := cl.spec(cfg.Publishers, cfg.Subs, 0, cfg.Concurrency)
	pspec.IO = ioGoroutine
	pr, err := cl.pubs.Open(ctx, pspec)
	if err != nil {
		return nil, err
	}
	if pr.Opened < cfg.Publishers {
		return nil, fmt.Errorf("only %d of %d publishers connected: %v", pr.Opened, cfg.Publishers, pr.Errors)
	}
	return &broadcastRun{ctx: ctx, cfg: cfg, cl: cl, prog: prog, res: res,
		pubs: cl.pubs.list(), members: roomMembers(cfg.Subs, rooms), s: 1}, nil
}

// runOne runs the next step and appends it to the result.
func (b *broadcastRun) runOne(target float64, pubRate float64, dur time.Duration, phase string) StepResult {
	sr := runStep(b.ctx, b.cfg, b.cl, b.prog, b.pubs, b.members, b.s, target, pubRate, dur, phase)
	b.s++
	b.res.Steps = append(b.res.Steps, sr)
	return sr
}

// runBroadcast runs fanout (a rate ladder, one room) and chat (one fixed-rate
// step over many rooms and publishers).
func runBroadcast(ctx context.Context, cfg *config, cl *cluster, prog *progress, res *Result) error {
	b, err := openBroadcast(ctx, cfg, cl, prog, res)
	if err != nil {
		return err
	}
	if cfg.Scenario == "chat" {
		perMsg := float64(cfg.Subs) / float64(len(b.members))
		sr := b.runOne(cfg.Rate*perMsg, cfg.Rate, cfg.Duration, "fixed")
		res.Headline = Headline{Name: "chat delivered", Value: sr.DeliveredPerS, Unit: "deliveries/s", HigherIsBetter: true}
		if sr.Pass {
			res.MaxSustainable = &res.Steps[0]
		}
		if sr.Lost == 0 {
			res.PeakThroughputPerS = sr.PeakPerS
		}
		return ctx.Err()
	}
	b.ladder()
	return ctx.Err()
}

// ladder runs the fanout rate ladder (or the -rates list) in deliveries/s
// and sets max_sustainable and the headline (finishLadder).
func (b *broadcastRun) ladder() {
	ctx, cfg, res := b.ctx, b.cfg, b.res
	subs := float64(cfg.Subs)
	step := func(target float64, phase string) StepResult {
		return b.runOne(target, target/subs, cfg.Step, phase)
	}
	if len(cfg.Rates) > 0 {
		for _, r := range cfg.Rates {
			if ctx.Err() != nil || b.s >= maxSteps {
				break
			}
			step(r, "fixed")
		}
	} else {
		r := cfg.Start
		lastPass, firstFail := 0.0, 0.0
		failedOnce := false
		for n := 0; n < cfg.MaxSteps && r <= cfg.MaxRate && ctx.Err() == nil; n++ {
			phase := "grow"
			if failedOnce {
				phase = "repeat"
			}
			if step(r, phase).Pass {
				lastPass, failedOnce = r, false
				r *= cfg.Growth
				continue
			}
			if !failedOnce {
				failedOnce = true
				continue
			}
			firstFail = r
			break
		}
		if firstFail == 0 && ctx.Err() == nil {
			res.Note = "ladder stopped by -max-steps or -max-rate before a confirmed failure: max_sustainable is a lower bound"
		}
		lo, hi := lastPass, firstFail
		for i := 0; i < cfg.Bisect && hi > 0 && ctx.Err() == nil && b.s < maxSteps; i++ {
			mid := (lo + hi) / 2
			if step(mid, "bisect").Pass {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	finishLadder(res)
}

// finishLadder picks max_sustainable (the passing step with the highest
// target) and peak throughput (best loss-free step, latency ignored).
func finishLadder(res *Result) {
	best := -1
	for i, st := range res.Steps {
		if st.Pass && (best < 0 || st.TargetPerS > res.Steps[best].TargetPerS) {
			best = i
		}
		if st.Lost == 0 && st.Delivered > 0 && st.Published == st.Planned && st.PeakPerS > res.PeakThroughputPerS {
			res.PeakThroughputPerS = st.PeakPerS
		}
	}
	res.Headline = Headline{Name: "max sustainable", Unit: "deliveries/s", HigherIsBetter: true}
	if best >= 0 {
		ms := res.Steps[best]
		res.MaxSustainable = &ms
		res.Headline.Value = ms.DeliveredPerS
	}
}

// runStep publishes for a warm-up and a measured window, waits for the
// deliveries (drain), and judges the step.
func runStep(ctx context.Context, cfg *config, cl *cluster, prog *progress, pubs []*conn, members []int64, s int, target, pubRate float64, dur time.Duration, phase string) StepResult {
	sr := StepResult{Step: s, Phase: phase, TargetPerS: target, PublishPerS: pubRate}
	rooms := len(members)
	if cfg.Warmup > 0 {
		prog.set(fmt.Sprintf("step %d (%s) %.0f deliveries/s: warm-up", s, phase, target))
		publish(ctx, cfg, pubs, 0, pubRate, cfg.Warmup, rooms, stepPacing(cfg.Warmup))
	}
	before, _, err := cl.stats(ctx, s, false)
	if err != nil {
		sr.Reason = err.Error()
		return sr
	}
	prog.set(fmt.Sprintf("step %d (%s) %.0f deliveries/s: measuring %v", s, phase, target, dur))
	prog.watch(ctx, cl, s)
	srv0, tool0, t0 := serverCPU(cfg), cl.toolCPU(ctx), time.Now()
	pr := publish(ctx, cfg, pubs, s, pubRate, dur, rooms, stepPacing(dur))
	srv1, tool1, t1 := serverCPU(cfg), cl.toolCPU(ctx), time.Now()
	sr.Published, sr.Planned = pr.sent, pr.planned
	for r, n := range pr.perRoom {
		sr.Expected += uint64(n * members[r])
	}

	prog.set(fmt.Sprintf("step %d (%s) %.0f deliveries/s: drain", s, phase, target))
	deadline := time.Now().Add(cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		st, _, err := cl.stats(ctx, s, false)
		if err != nil || st.Delivered >= sr.Expected {
			break
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	prog.watch(ctx, nil, 0)
	final, h, err := cl.stats(ctx, s, true)
	if err != nil {
		sr.Reason = err.Error()
		return sr
	}
	sr.Delivered = final.Delivered
	sr.Lost = int64(sr.Expected) - int64(sr.Delivered)
	sr.Latency = h.Summary()
	sr.Disconnects = final.Disconnects - before.Disconnects
	wall := t1.Sub(t0)
	sr.PublishS = wall.Seconds()
	// The last message is due 1/rate before the window ends, so the
	// nominal window is the divisor unless publishing overran it.
	sr.DeliveredPerS = float64(sr.Delivered) / max(wall, dur).Seconds()
	if final.LastUs > pr.firstUs && pr.firstUs > 0 {
		sr.PeakPerS = float64(sr.Delivered) / (float64(final.LastUs-pr.firstUs) / 1e6)
	}
	if srv0 >= 0 && srv1 >= 0 {
		sr.ServerCPUPct = pct(srv1-srv0, wall)
		if sr.Delivered > 0 {
			sr.ServerUsPerOp = float64(srv1-srv0) / 1e3 / float64(sr.Delivered)
		}
		sr.ServerRSS = serverRSS(cfg)
	}
	sr.ToolCPUPct = pct(tool1-tool0, wall)

	var reasons []string
	if pr.err != nil {
		reasons = append(reasons, "publish: "+pr.err.Error())
	}
	if sr.Lost > 0 {
		reasons = append(reasons, fmt.Sprintf("lost %d of %d", sr.Lost, sr.Expected))
	} else if sr.Lost < 0 {
		reasons = append(reasons, fmt.Sprintf("%d deliveries more than expected (duplicates)", -sr.Lost))
	}
	if bound := uint64(cfg.P99.Microseconds()); sr.Latency.P99Us >= bound {
		reasons = append(reasons, fmt.Sprintf("p99 %s >= %s", fmtUs(sr.Latency.P99Us), cfg.P99))
	}
	if sr.Disconnects > 0 {
		reasons = append(reasons, fmt.Sprintf("%d disconnects", sr.Disconnects))
	}
	if sr.Published < sr.Planned {
		reasons = append(reasons, fmt.Sprintf("publisher sent %d of %d planned", sr.Published, sr.Planned))
	} else if wall > dur+dur/20+50*time.Millisecond {
		// Writes blocked (the server is not reading fast enough) or this
		// tool is out of CPU: the rate was not really offered.
		reasons = append(reasons, fmt.Sprintf("publishing took %.2fs for a %v window", wall.Seconds(), dur))
	}
	sr.Pass = len(reasons) == 0 && ctx.Err() == nil
	for i, r := range reasons {
		if i > 0 {
			sr.Reason += "; "
		}
		sr.Reason += r
	}

	// Let late deliveries stop before the next step so an overloaded step
	// does not leak its backlog into the next one.
	prog.set(fmt.Sprintf("step %d: settling", s))
	settleEnd := time.Now().Add(cfg.SettleMax)
	last := final.Total
	for time.Now().Before(settleEnd) && sleepCtx(ctx, 200*time.Millisecond) {
		st, _, err := cl.stats(ctx, s, false)
		if err != nil || st.Total == last {
			break
		}
		last = st.Total
	}
	return sr
}

func fmtUs(us uint64) string {
	return (time.Duration(us) * time.Microsecond).String()
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
	if cfg.ServerPID > 0 {
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
