package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress draws a one-line status on stderr when it is a terminal. The
// drivers set the phase text; while a step is being measured it also shows
// the deliveries counted so far.
type progress struct {
	w       io.Writer
	enabled bool
	start   time.Time

	mu    sync.Mutex // guards text, cl, step
	text  string
	cl    *cluster
	ctx   context.Context
	step  int
	stopC chan struct{}
	once  sync.Once
	done  chan struct{}
}

func newProgress(w io.Writer, mode string) *progress {
	p := &progress{w: w, start: time.Now(), stopC: make(chan struct{}), done: make(chan struct{})}
	switch mode {
	case "on":
		p.enabled = true
	case "auto":
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				p.enabled = true
			}
		}
	}
	if !p.enabled {
		close(p.done)
		return p
	}
	go p.loop()
	return p
}

func (p *progress) set(text string) {
	if p == nil || !p.enabled {
		return
	}
	p.mu.Lock()
	p.text = text
	p.mu.Unlock()
}

// watch shows live deliveries of step s of cl (nil stops watching).
// Polls use ctx, the run's context: a remote worker's pipe is killed when a
// call's context ends, so a short poll timeout must not be used here.
func (p *progress) watch(ctx context.Context, cl *cluster, s int) {
	if p == nil || !p.enabled {
		return
	}
	p.mu.Lock()
	p.ctx, p.cl, p.step = ctx, cl, s
	p.mu.Unlock()
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stopC:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-t.C:
		}
		p.mu.Lock()
		text, cl, s, ctx := p.text, p.cl, p.step, p.ctx
		p.mu.Unlock()
		line := fmt.Sprintf("[%5.1fs] %s", time.Since(p.start).Seconds(), text)
		if cl != nil {
			st, _, err := cl.stats(ctx, s, false)
			if err == nil {
				line += fmt.Sprintf(" | delivered %d, disconnects %d", st.Delivered, st.Disconnects)
			}
		}
		if len(line) > 160 {
			line = line[:160]
		}
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	}
}

// stop erases the line; it is idempotent.
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		if p.enabled {
			close(p.stopC)
		}
	})
	<-p.done
}
