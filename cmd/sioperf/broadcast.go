package main

// The broadcast scenarios' machinery: fanout (a rate ladder), chat (one
// fixed-rate step over many rooms) and the ladder and publishers that
// overload reuses.

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

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

// maxPublishBatch bounds the messages a publisher writes under one stamp.
// A message's latency runs from its stamp, and a message in a batch is
// handed to the socket only once those before it are: when the server
// reads the publisher slowly (overload, its input paused), the last of a
// batch of 256 went in up to 256 broadcasts' time after its stamp, and
// that wait, on the publisher's side of its socket, was counted as the
// server's (at 300 broadcasts/s to 10,000 subscribers, up to 0.85 s). 32
// messages (4.3 KB with the default pad) fit a socket's send buffer, so a
// stamp is within one short write of the message's hand-over. Below
// overload a publisher writes what fell due since its last write, far
// fewer in every ladder step.
const maxPublishBatch = 32

// publish makes every publisher send at rate/len(pubs) messages/s for dur,
// tagged with step s. Publisher j sends its k-th message to room
// (j + k*P) mod rooms, so all rooms get an even share. Each publisher paces
// itself against its own start time and sends every message that has fallen
// due in one write (at most maxPublishBatch per batch), stamping the batch
// with one clock reading. A publisher stops at dur+pc.grace even if it is
// behind.
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
				if n > maxPublishBatch {
					n = maxPublishBatch
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
	pspec.Transport = transportWebSocket // publishers are not the clients under test
	pspec.SndBuf, pspec.RcvBuf = cfg.PubSndBuf, 0
	// With several -addr nodes the publishers all use the first, so that a
	// broadcast reaches the subscribers of the other nodes only through the
	// cluster's adapter.
	pspec.Addr = firstAddr(pspec.Addr)
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
		sr.ServerRSSEach = serverRSSEach(cfg)
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
