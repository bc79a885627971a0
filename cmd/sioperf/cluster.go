package main

import (
	"context"
	"sync"
)

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
		RcvBuf:           cl.cfg.SubRcvBuf,
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
