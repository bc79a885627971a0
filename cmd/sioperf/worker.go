package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// worker holds a share of the client connections. The local pool is one;
// remoteWorker drives a child process running "sioperf worker", which lets
// one run exceed the per-process file-descriptor limit (20,000 here).
type worker interface {
	Open(ctx context.Context, spec openSpec) (openResult, error)
	Stats(ctx context.Context, step int, withHist bool) (statsReply, error)
	StartTimeline(ctx context.Context, startUs int64) error
	SecondStats(ctx context.Context, sec int, withHist bool) (statsReply, error)
	Echo(ctx context.Context, dur time.Duration) (echoReply, error)
	Close() error
}

// workerReq is one command line sent to a worker process.
type workerReq struct {
	Op      string        `json:"op"` // open, stats, timeline, second, echo, close
	Open    *openSpec     `json:"open,omitempty"`
	Step    int           `json:"step,omitempty"` // stats: the step; second: the second
	StartUs int64         `json:"start_us,omitempty"`
	Hist    bool          `json:"hist,omitempty"`
	DurNs   time.Duration `json:"dur_ns,omitempty"`
}

// workerResp is the reply line.
type workerResp struct {
	Err   string      `json:"err,omitempty"`
	Open  *openResult `json:"open,omitempty"`
	Stats *statsReply `json:"stats,omitempty"`
	Echo  *echoReply  `json:"echo,omitempty"`
}

// remoteWorker talks to a child over its stdin/stdout, one JSON line per
// request and reply; mu serialises requests.
type remoteWorker struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startWorker re-executes this binary as a worker whose own lifetime is
// bounded by timeout.
func startWorker(timeout time.Duration) (*remoteWorker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "worker", "-timeout", timeout.String())
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &remoteWorker{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10)}, nil
}

func (w *remoteWorker) call(ctx context.Context, req workerReq) (workerResp, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		return workerResp{}, err
	}
	type result struct {
		resp workerResp
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		if _, err := w.in.Write(append(b, '\n')); err != nil {
			ch <- result{err: err}
			return
		}
		line, err := w.out.ReadBytes('\n')
		if err != nil {
			ch <- result{err: fmt.Errorf("sioperf: worker pipe: %w", err)}
			return
		}
		var resp workerResp
		if err := json.Unmarshal(line, &resp); err != nil {
			ch <- result{err: err}
			return
		}
		if resp.Err != "" {
			ch <- result{resp: resp, err: errors.New(resp.Err)}
			return
		}
		ch <- result{resp: resp}
	}()
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-ctx.Done():
		// The pipe is now out of step; kill the worker so nothing waits on it.
		w.cmd.Process.Kill()
		return workerResp{}, ctx.Err()
	}
}

func (w *remoteWorker) Open(ctx context.Context, spec openSpec) (openResult, error) {
	r, err := w.call(ctx, workerReq{Op: "open", Open: &spec})
	if r.Open == nil {
		return openResult{}, err
	}
	return *r.Open, err
}

func (w *remoteWorker) Stats(ctx context.Context, step int, withHist bool) (statsReply, error) {
	r, err := w.call(ctx, workerReq{Op: "stats", Step: step, Hist: withHist})
	if r.Stats == nil {
		return statsReply{}, err
	}
	return *r.Stats, err
}

func (w *remoteWorker) StartTimeline(ctx context.Context, startUs int64) error {
	_, err := w.call(ctx, workerReq{Op: "timeline", StartUs: startUs})
	return err
}

func (w *remoteWorker) SecondStats(ctx context.Context, sec int, withHist bool) (statsReply, error) {
	r, err := w.call(ctx, workerReq{Op: "second", Step: sec, Hist: withHist})
	if r.Stats == nil {
		return statsReply{}, err
	}
	return *r.Stats, err
}

func (w *remoteWorker) Echo(ctx context.Context, dur time.Duration) (echoReply, error) {
	r, err := w.call(ctx, workerReq{Op: "echo", DurNs: dur})
	if r.Echo == nil {
		return echoReply{}, err
	}
	return *r.Echo, err
}

// Close asks the worker to close its connections and exit, and kills it if
// it has not within 15 s.
func (w *remoteWorker) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := w.call(ctx, workerReq{Op: "close"})
	w.in.Close()
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case werr := <-done:
		if err == nil {
			err = werr
		}
	case <-time.After(5 * time.Second):
		w.cmd.Process.Kill()
		<-done
	}
	return err
}

// workerMain serves requests from stdin until "close", EOF or timeout.
func workerMain(args []string) int {
	fs := newFlagSet("worker")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound on the worker's lifetime")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	p := &pool{handshakes: newHist()}
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	enc := json.NewEncoder(out)
	lines := make(chan []byte)
	go func() {
		defer close(lines)
		for {
			line, err := in.ReadBytes('\n')
			if len(line) > 0 {
				lines <- line
			}
			if err != nil {
				return
			}
		}
	}()
	defer p.Close()
	for {
		var line []byte
		select {
		case l, ok := <-lines:
			if !ok {
				return 0
			}
			line = l
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "sioperf worker: timeout")
			return 1
		}
		var req workerReq
		var resp workerResp
		if err := json.Unmarshal(line, &req); err != nil {
			resp.Err = err.Error()
		} else {
			switch req.Op {
			case "open":
				if req.Open == nil {
					resp.Err = "open without spec"
					break
				}
				r, err := p.Open(ctx, *req.Open)
				resp.Open = &r
				if err != nil {
					resp.Err = err.Error()
				}
			case "stats":
				r, _ := p.Stats(ctx, req.Step, req.Hist)
				resp.Stats = &r
			case "timeline":
				if err := p.StartTimeline(ctx, req.StartUs); err != nil {
					resp.Err = err.Error()
				}
			case "second":
				r, _ := p.SecondStats(ctx, req.Step, req.Hist)
				resp.Stats = &r
			case "echo":
				r, err := p.Echo(ctx, req.DurNs)
				resp.Echo = &r
				if err != nil {
					resp.Err = err.Error()
				}
			case "close":
				if err := p.Close(); err != nil {
					resp.Err = err.Error()
				}
				enc.Encode(resp)
				out.Flush()
				return 0
			default:
				resp.Err = "unknown op " + req.Op
			}
		}
		if err := enc.Encode(resp); err != nil {
			return 1
		}
		if err := out.Flush(); err != nil {
			return 1
		}
	}
}
