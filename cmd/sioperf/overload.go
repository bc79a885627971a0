package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// The overload scenario: N subscribers in one room (as in fanout) and one
// or more publishers that never join. After a warm-up at the sustainable
// rate, the publishers offer -overload times that rate for -duration, then
// half of it for -recovery, then stop for a drain. Every delivery counts in
// the second it arrived in (the pool's timeline), so the per-second rows
// show when the server delivered, and a server that stalls shows seconds
// with nothing delivered. Messages may be lost: a server may drop or cut
// slow consumers under overload. The loss is reported, never judged.

// Phases of an overload run, in order.
const (
	phaseWarmup   = "warmup"
	phaseOverload = "overload"
	phaseRecovery = "recovery"
	phaseDrain    = "drain"
)

// OverloadResult is the overload scenario's outcome.
type OverloadResult struct {
	Subs int `json:"subs"`
	// SustainablePerS is the sustainable rate in deliveries/s: -rate, or
	// the target of the short ladder's max_sustainable step.
	SustainablePerS float64 `json:"sustainable_per_s"`
	SustainableFrom string  `json:"sustainable_from"` // "rate" or "ladder"
	Factor          float64 `json:"factor"`
	P99BoundUs      uint64  `json:"p99_bound_us"`

	Seconds  []OverloadSecond `json:"seconds"`
	Phases   []OverloadPhase  `json:"phases"`
	Overload *OverloadPhase   `json:"overload"`
	Recovery *OverloadPhase   `json:"recovery"`
	// RecoveryS is how long after the recovery phase started the
	// per-second p99 fell under the p99 bound and stayed there until the
	// end of the recovery phase, in whole seconds of the timeline; -1 if
	// it never did.
	RecoveryS int `json:"recovery_s"`

	// Totals over all phases: Expected is Published × Subs, Lost is
	// Expected − Delivered (deliveries dropped by the server, or later
	// than the drain).
	Offered     float64  `json:"offered"`
	Published   int64    `json:"published"`
	Expected    uint64   `json:"expected"`
	Delivered   uint64   `json:"delivered"`
	Lost        int64    `json:"lost"`
	Disconnects int64    `json:"disconnects"`
	PublishErrs []string `json:"publish_errors,omitempty"`
	MaxRSS      int64    `json:"max_server_rss,omitempty"`
}

// OverloadSecond is one second of the timeline.
type OverloadSecond struct {
	Second    int     `json:"second"` // since the timeline's start
	Phase     string  `json:"phase"`  // the phase that published for most of it
	Offered   float64 `json:"offered"`
	Published int64   `json:"published"`
	// Delivered counts deliveries arriving in this second, so it is also
	// the second's deliveries/s.
	Delivered   uint64  `json:"delivered"`
	Latency     Latency `json:"latency"` // of this second's deliveries: arrival − t
	ServerRSS   int64   `json:"server_rss,omitempty"`
	Disconnects int64   `json:"disconnects"` // during this second
}

// OverloadPhase sums the seconds of one phase.
type OverloadPhase struct {
	Phase string `json:"phase"`
	// TargetPerS is the offered rate in deliveries/s, PublishPerS in
	// published messages/s.
	TargetPerS  float64 `json:"target_per_s"`
	PublishPerS float64 `json:"publish_per_s"`
	Seconds     int     `json:"seconds"` // rows of the timeline in this phase
	// Offered and Published count the phase's messages (its schedule and
	// what was written); Delivered counts the deliveries in its rows.
	Offered       float64 `json:"offered"`
	Published     int64   `json:"published"`
	Delivered     uint64  `json:"delivered"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	// OfSustainable is DeliveredPerS as a fraction of the sustainable rate.
	OfSustainable float64 `json:"of_sustainable"`
	Latency       Latency `json:"latency"`
	// SilentSeconds counts the phase's rows with no delivery at all: a
	// server stalled behind its backlog.
	SilentSeconds int     `json:"silent_seconds"`
	MaxRSS        int64   `json:"max_server_rss,omitempty"`
	Disconnects   int64   `json:"disconnects"`
	ServerCPUPct  float64 `json:"server_cpu_pct,omitempty"`
	// ServerUsPerOp is the server's CPU time over the phase's publishing
	// divided by the deliveries of its rows.
	ServerUsPerOp float64 `json:"server_us_per_delivery,omitempty"`
	ToolCPUPct    float64 `json:"tool_cpu_pct"`
}

// overloadDefaults gives the overload scenario its own defaults for the
// flags it shares with others, unless they were given: 10,000 subscribers,
// one publisher, a 20 s overload phase, a 5 s drain, and a short ladder
// (2 s steps, one bisection) when -rate is 0.
func overloadDefaults(c *config, fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	defaults := []struct {
		name  string
		apply func()
	}{
		{"subs", func() { c.Subs = 10000 }},
		{"publishers", func() { c.Publishers = 1 }},
		{"rate", func() { c.Rate = 0 }},
		{"duration", func() { c.Duration = 20 * time.Second }},
		{"drain", func() { c.Drain = 5 * time.Second }},
		{"step", func() { c.Step = 2 * time.Second }},
		{"bisect", func() { c.Bisect = 1 }},
	}
	for _, d := range defaults {
		if !set[d.name] {
			d.apply()
		}
	}
	c.Rooms = 1
	switch {
	case c.Subs < 1 || c.Publishers < 1:
		return errors.New("overload needs -subs and -publishers of at least 1")
	case c.Rate < 0:
		return errors.New("-rate must not be negative")
	case c.Overload <= 0:
		return errors.New("-overload must be > 0")
	case c.Duration <= 0 || c.Recovery <= 0:
		return errors.New("overload needs a positive -duration and -recovery")
	}
	// Settling after the drain is bounded by SettleMax; one more second
	// for phases that start late.
	if total := c.Warmup + c.Duration + c.Recovery + c.Drain + c.SettleMax + 2*time.Second; total > maxSeconds*time.Second {
		return fmt.Errorf("overload phases, drain and -settle-max last %v: at most %ds are tracked", total, maxSeconds)
	}
	return nil
}

// phaseRun is one publishing phase on the timeline.
type phaseRun struct {
	name         string
	target       float64 // deliveries/s
	pubRate      float64 // messages/s
	dur          time.Duration
	startS       float64 // since the timeline's start
	endS         float64
	srv0, srv1   int64
	tool0, tool1 int64
	pub          pubResult
}

// sample is the state of the run at one whole second of the timeline.
type sample struct {
	published   int64
	rss         int64
	disconnects int64
}

// sampler records, at every whole second of the timeline, how many
// messages were written, the server's RSS and the disconnects so far.
type sampler struct {
	last    atomic.Int64 // the last second to sample (finish sets it)
	samples []sample     // samples[k] is taken at second k; owned by the sampler until done
	done    chan struct{}
}

func startSampler(ctx context.Context, cfg *config, cl *cluster, start time.Time, published *atomic.Int64) *sampler {
	sm := &sampler{samples: []sample{{rss: serverRSS(cfg)}}, done: make(chan struct{})}
	sm.last.Store(maxSeconds - 1)
	go func() {
		defer close(sm.done)
		for k := 1; int64(k) <= sm.last.Load(); k++ {
			t := time.NewTimer(time.Until(start.Add(time.Duration(k) * time.Second)))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			s := sample{published: published.Load(), rss: serverRSS(cfg)}
			if st, _, err := cl.stats(ctx, 0, false); err == nil {
				s.disconnects = st.Disconnects
			}
			sm.samples = append(sm.samples, s)
		}
	}()
	return sm
}

// finish waits for the sample of second n (it is taken at second n of the
// timeline, so finish may wait up to a second) and returns the samples.
func (sm *sampler) finish(n int) []sample {
	sm.last.Store(int64(n))
	<-sm.done
	return sm.samples
}

// runOverload runs the overload scenario (see the comment at the top).
func runOverload(ctx context.Context, cfg *config, cl *cluster, prog *progress, res *Result) error {
	b, err := openBroadcast(ctx, cfg, cl, prog, res)
	if err != nil {
		return err
	}
	or := &OverloadResult{Subs: cfg.Subs, Factor: cfg.Overload, P99BoundUs: uint64(cfg.P99.Microseconds()), RecoveryS: -1,
		SustainablePerS: cfg.Rate, SustainableFrom: "rate"}
	res.Overload = or
	if cfg.Rate == 0 {
		b.ladder()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if res.MaxSustainable == nil {
			return errors.New("the ladder found no sustainable rate to overload")
		}
		or.SustainablePerS, or.SustainableFrom = res.MaxSustainable.TargetPerS, "ladder"
	}
	sus, subs := or.SustainablePerS, float64(cfg.Subs)
	phases := []*phaseRun{
		{name: phaseWarmup, target: sus, dur: cfg.Warmup},
		{name: phaseOverload, target: cfg.Overload * sus, dur: cfg.Duration},
		{name: phaseRecovery, target: sus / 2, dur: cfg.Recovery},
	}
	if cfg.Warmup <= 0 {
		phases = phases[1:]
	}

	// The timeline starts up to a second before the warm-up, so that the
	// overload phase starts on a whole second of it and, with whole-second
	// durations, every row belongs to one phase.
	lead := (cfg.Warmup + time.Second - 1).Truncate(time.Second) - cfg.Warmup
	start := time.Now().Add(-lead)
	if err := cl.startTimeline(ctx, start.UnixMicro()); err != nil {
		return err
	}
	total0, _, err := cl.stats(ctx, 0, false)
	if err != nil {
		return err
	}
	var published atomic.Int64
	sm := startSampler(ctx, cfg, cl, start, &published)
	for _, ph := range phases {
		ph.pubRate = ph.target / subs
		prog.set(fmt.Sprintf("overload: %s at %.0f deliveries/s for %v", ph.name, ph.target, ph.dur))
		ph.srv0, ph.tool0 = serverCPU(cfg), cl.toolCPU(ctx)
		// No grace: a publisher that fell behind gives up the rest of its
		// phase, so the next phase starts on time. Writes are blocking,
		// so a server that stops reading a publisher (backpressure) shows
		// here as published < offered; the publisher waits for it until
		// the drain would have ended, not the 5 s of a ladder step.
		phaseStart := time.Now()
		ph.startS = phaseStart.Sub(start).Seconds()
		pc := pacing{sent: &published, writeTimeout: cfg.Duration + cfg.Recovery + cfg.Drain}
		ph.pub = publish(ctx, cfg, b.pubs, len(or.Phases)+1, ph.pubRate, ph.dur, 1, pc)
		// The last message falls due 1/rate before the phase ends: the
		// next phase starts on the schedule, not early.
		sleepCtx(ctx, time.Until(phaseStart.Add(ph.dur)))
		ph.endS = time.Since(start).Seconds()
		ph.srv1, ph.tool1 = serverCPU(cfg), cl.toolCPU(ctx)
		if ph.pub.err != nil {
			or.PublishErrs = append(or.PublishErrs, ph.name+": "+ph.pub.err.Error())
		}
		or.Published += ph.pub.sent
		or.Phases = append(or.Phases, OverloadPhase{Phase: ph.name})
		if ctx.Err() != nil {
			break
		}
	}
	or.Expected = uint64(or.Published) * uint64(cfg.Subs)

	// Drain: wait for the missing deliveries, then for late ones to stop.
	prog.set("overload: drain")
	deadline := time.Now().Add(cfg.Drain)
	for time.Now().Before(deadline) && sleepCtx(ctx, 50*time.Millisecond) {
		st, _, err := cl.stats(ctx, 0, false)
		if err != nil || st.Total-total0.Total >= or.Expected {
			break
		}
	}
	last := uint64(0)
	settleEnd := time.Now().Add(cfg.SettleMax)
	for time.Now().Before(settleEnd) && sleepCtx(ctx, 200*time.Millisecond) {
		st, _, err := cl.stats(ctx, 0, false)
		if err != nil || st.Total == last {
			break
		}
		last = st.Total
	}
	// The rows end with the second the drain ended in; its sample comes at
	// the end of it.
	nsec := min(int(math.Ceil(time.Since(start).Seconds())), maxSeconds-1)
	samples := sm.finish(nsec)
	return finishOverload(ctx, cl, res, or, phases, samples, nsec)
}

// finishOverload builds the per-second rows and the phase summaries from the
// timeline bins, the samples and the phases' schedules.
func finishOverload(ctx context.Context, cl *cluster, res *Result, or *OverloadResult, phases []*phaseRun, samples []sample, nsec int) error {
	drainStart := 0.0
	for _, ph := range phases {
		drainStart = max(drainStart, ph.endS)
	}
	phaseHists := map[string]*Hist{}
	for _, ph := range phases {
		phaseHists[ph.name] = newHist()
	}
	for k := 0; k < nsec; k++ {
		st, h, err := cl.secondStats(ctx, k, true)
		if err != nil {
			return err
		}
		row := OverloadSecond{Second: k, Phase: phaseDrain, Delivered: st.Delivered, Latency: h.Summary()}
		// The drain runs from the end of the last phase.
		most := max(0, float64(k+1)-max(float64(k), drainStart))
		for _, ph := range phases {
			// The row belongs to the phase that published for most of it.
			if d := min(float64(k+1), ph.endS) - max(float64(k), ph.startS); d > most {
				row.Phase, most = ph.name, d
			}
			// The schedule offers pubRate messages/s over [startS, startS+dur).
			lo, hi := max(float64(k), ph.startS), min(float64(k+1), ph.startS+ph.dur.Seconds())
			if hi > lo {
				row.Offered += ph.pubRate * (hi - lo)
			}
		}
		if k+1 < len(samples) {
			row.Published = samples[k+1].published - samples[k].published
			row.ServerRSS = samples[k+1].rss
			row.Disconnects = samples[k+1].disconnects - samples[k].disconnects
		}
		if hh := phaseHists[row.Phase]; hh != nil {
			hh.Merge(h.Snapshot())
		}
		or.Seconds = append(or.Seconds, row)
		or.Offered += row.Offered
		or.Delivered += row.Delivered
		or.Disconnects += row.Disconnects
		or.MaxRSS = max(or.MaxRSS, row.ServerRSS)
	}
	or.Lost = int64(or.Expected) - int64(or.Delivered)

	for i, ph := range phases {
		if i >= len(or.Phases) {
			break
		}
		p := &or.Phases[i]
		p.TargetPerS, p.PublishPerS, p.Published = ph.target, ph.pubRate, ph.pub.sent
		p.Offered = ph.pubRate * ph.dur.Seconds()
		for _, row := range or.Seconds {
			if row.Phase != ph.name {
				continue
			}
			p.Seconds++
			if row.Delivered == 0 {
				p.SilentSeconds++
			}
			p.Delivered += row.Delivered
			p.Disconnects += row.Disconnects
			p.MaxRSS = max(p.MaxRSS, row.ServerRSS)
		}
		if p.Seconds > 0 {
			p.DeliveredPerS = float64(p.Delivered) / float64(p.Seconds)
		}
		if or.SustainablePerS > 0 {
			p.OfSustainable = p.DeliveredPerS / or.SustainablePerS
		}
		p.Latency = phaseHists[ph.name].Summary()
		wall := time.Duration((ph.endS - ph.startS) * float64(time.Second))
		if ph.srv0 >= 0 && ph.srv1 >= 0 {
			p.ServerCPUPct = pct(ph.srv1-ph.srv0, wall)
			if p.Delivered > 0 {
				p.ServerUsPerOp = float64(ph.srv1-ph.srv0) / 1e3 / float64(p.Delivered)
			}
		}
		p.ToolCPUPct = pct(ph.tool1-ph.tool0, wall)
		switch ph.name {
		case phaseOverload:
			or.Overload = p
		case phaseRecovery:
			or.Recovery = p
			or.RecoveryS = recoverySeconds(or.Seconds, ph.startS, or.P99BoundUs)
		}
	}
	res.Headline = Headline{Name: "overload delivered", Unit: "deliveries/s", HigherIsBetter: true}
	if or.Overload != nil {
		res.Headline.Value = or.Overload.DeliveredPerS
	}
	return ctx.Err()
}

// recoverySeconds returns how many seconds after startS (the recovery
// phase's start) the per-second p99 fell under boundUs and stayed under it
// for every later recovery second, counted to the end of the first such
// second; -1 if the recovery phase never got there. A second with no
// delivery has not recovered.
func recoverySeconds(rows []OverloadSecond, startS float64, boundUs uint64) int {
	first := -1
	for _, row := range rows {
		if row.Phase != phaseRecovery {
			continue
		}
		if row.Delivered > 0 && row.Latency.P99Us < boundUs {
			if first < 0 {
				first = row.Second
			}
		} else {
			first = -1
		}
	}
	if first < 0 {
		return -1
	}
	return first + 1 - int(math.Floor(startS))
}
