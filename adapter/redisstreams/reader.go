package redisstreams

import (
	"log/slog"
	"time"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/internal/redisbus"
)

// Reader backoff after a failed XREAD (Redis down or restarting).
const (
	readRetryMin = 50 * time.Millisecond
	readRetryMax = 1 * time.Second
)

// readLoop is the reader of one stream: XREAD COUNT ReadCount BLOCK
// BlockTime from the last entry handled, each entry dispatched to its
// namespace's adapter in stream order. It never stops on an entry: one
// that cannot be used is counted and skipped, and the position moves past
// it (a Node reader, the poll loop of lib/adapter.ts, re-reads such an
// entry forever). When Redis goes away it retries with a backoff from the
// same position, so a restarted Redis is read again from where this node
// stopped.
func (r *Adapter) readLoop(s *stream) {
	defer r.wg.Done()
	last := s.position().String()
	var delay time.Duration
	for r.ctx.Err() == nil {
		entries, err := r.bus.XRead(r.ctx, s.name, last, r.cfg.ReadCount, r.cfg.BlockTime)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			n := r.readErrors.Add(1)
			r.warn("xread", "redisstreams: XREAD failed, retrying", slog.String("stream", s.name), slog.Any("error", err), slog.Uint64("errors", n))
			delay = min(max(2*delay, readRetryMin), readRetryMax)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		for i := range entries {
			r.dispatch(s, &entries[i])
			last = entries[i].ID
		}
	}
}

// dispatch hands one entry to its namespace's adapter.
func (r *Adapter) dispatch(s *stream, e *redisbus.Entry) {
	defer r.containPanic("stream entry")
	r.read.Add(1)
	id, ok := parseID(e.ID)
	if !ok {
		r.badInput(s.name, errMalformed)
		return
	}
	m, err := entryFields(e.Fields)
	if err != nil {
		r.badInput(s.name, err)
		s.setPosition(id)
		return
	}
	var a *nsAdapter
	if m.hasNsp {
		a = r.namespace(m.nsp)
	}
	switch {
	case a == nil || a.stream != s:
		// Not socket.io's, or a namespace not served here.
		s.setPosition(id)
	case m.uid == a.uid:
		if m.typ == clusterwire.MsgBroadcast && a.recovery {
			a.deliverOwnEntry(s, id, e.ID, &m)
		} else {
			s.setPosition(id) // applied when its XADD returned
		}
	default:
		a.onEntry(s, id, e.ID, &m)
	}
}
