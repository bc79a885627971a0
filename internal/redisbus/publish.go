package redisbus

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// maxBatch bounds the commands of one pipelined write. rueidis sends a
// DoMulti of BlockingPipeline (2000) commands or more on a pooled
// connection instead of the shared pipeline; 1000 keeps every batch on the
// pipeline, in order.
const maxBatch = 1000

// pubMsg is one queued PUBLISH or SPUBLISH. payload is the Bus's own copy.
type pubMsg struct {
	channel, payload string
	shard            bool
}

// publisher is the fire-and-forget publish path: a queue bounded in bytes
// and one sender goroutine that writes everything queued as one pipeline,
// waits for the replies, and starts again. Batches follow each other, so
// the messages of one Bus reach Redis in the order Publish queued them.
type publisher struct {
	b   *Bus
	max int // Options.QueueBytes

	mu      sync.Mutex // guards q, bytes, sending, closed
	q       []pubMsg
	bytes   int  // channel and payload bytes in q
	sending bool // a batch is out
	closed  bool
	// idle is closed (and replaced) when the queue is empty and no batch is
	// out; Flush waits on it.
	idle chan struct{}

	work chan struct{} // cap 1: something was queued, or close
	// down is set while Redis does not answer: Publish drops at once, and
	// the sender probes with PING until it answers.
	down atomic.Bool

	published, dropped atomic.Uint64

	// Rate-limited drop logging: lastLog is the UnixNano of the last line,
	// unlogged the drops since.
	lastLog  atomic.Int64
	unlogged atomic.Uint64

	done chan struct{} // closed when the sender returned
}

func (p *publisher) init(b *Bus) {
	p.b = b
	p.max = b.opts.QueueBytes
	p.work = make(chan struct{}, 1)
	p.idle = make(chan struct{})
	p.done = make(chan struct{})
	go p.run()
}

// Publish queues PUBLISH channel payload and returns at once: it never
// waits for Redis. It copies payload. It reports false when the message was
// dropped instead (counted in Stats().Dropped and logged at most once per
// Options.LogInterval): the queue holds Options.QueueBytes already, Redis
// is down, or the Bus is closed. A message still queued when its batch
// fails is dropped too.
//
// On a cluster, PUBLISH goes to one node (the Bus's home node), so that
// the order of one Bus's messages holds across the cluster bus.
func (b *Bus) Publish(channel string, payload []byte) bool {
	return b.pub.push(channel, payload, false)
}

// SPublish is Publish with SPUBLISH: on a cluster, to the master of the
// channel's slot. Order holds per shard channel.
func (b *Bus) SPublish(channel string, payload []byte) bool {
	return b.pub.push(channel, payload, true)
}

// PublishWait sends PUBLISH channel payload and waits for Redis's reply,
// the number of subscribers that received it, or for ctx. It copies
// payload. It does not go through the queue, so its order against
// messages queued by Publish is not defined.
func (b *Bus) PublishWait(ctx context.Context, channel string, payload []byte) (int64, error) {
	c, err := b.publishClient()
	if err != nil {
		return 0, err
	}
	return c.Do(ctx, c.B().Publish().Channel(channel).Message(string(payload)).Build()).AsInt64()
}

// SPublishWait is PublishWait with SPUBLISH (the ClusterAdapter's senders
// await their publish). It copies payload.
func (b *Bus) SPublishWait(ctx context.Context, channel string, payload []byte) (int64, error) {
	if b.isClosed() {
		return 0, ErrClosed
	}
	return b.client.Do(ctx, b.client.B().Spublish().Channel(channel).Message(string(payload)).Build()).AsInt64()
}

// Flush waits until every message queued before the call was written to
// Redis and answered (or dropped), or until ctx ends.
func (b *Bus) Flush(ctx context.Context) error {
	for {
		p := &b.pub
		p.mu.Lock()
		empty := len(p.q) == 0 && !p.sending
		idle := p.idle
		p.mu.Unlock()
		if empty {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return ErrClosed
		}
	}
}

// publishClient is the client PUBLISH goes through: the Bus's own for a
// single server, the home node's on a cluster.
func (b *Bus) publishClient() (rueidis.Client, error) {
	b.mu.Lock()
	closed, home := b.closed, b.home
	b.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return b.nodeClient(home)
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (p *publisher) push(channel string, payload []byte, shard bool) bool {
	n := len(channel) + len(payload)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.drop(1, "bus closed")
		return false
	}
	if p.down.Load() {
		// Checked under mu: the sender marks Redis down and drops the
		// queue under mu (dropQueued), so no message can be queued after
		// that drop, where no one would take it until Redis is back (and
		// Flush would wait for it all that time; a check before taking mu
		// let one through, seen as an emitter Flush that timed out).
		p.mu.Unlock()
		p.drop(1, "redis is down")
		return false
	}
	if p.bytes+n > p.max {
		p.mu.Unlock()
		p.drop(1, "queue full")
		return false
	}
	p.q = append(p.q, pubMsg{channel: channel, payload: string(payload), shard: shard})
	p.bytes += n
	first := len(p.q) == 1
	p.mu.Unlock()
	if first {
		select {
		case p.work <- struct{}{}:
		default:
		}
	}
	return true
}

func (p *publisher) queuedBytes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}

// drop counts n dropped messages and logs, at most once per LogInterval,
// how many were dropped since the last line.
func (p *publisher) drop(n int, why string) {
	total := p.dropped.Add(uint64(n))
	now := time.Now().UnixNano()
	last := p.lastLog.Load()
	if now-last < int64(p.b.opts.LogInterval) || !p.lastLog.CompareAndSwap(last, now) {
		p.unlogged.Add(uint64(n))
		return
	}
	since := p.unlogged.Swap(0) + uint64(n)
	p.b.log.LogAttrs(context.Background(), slog.LevelWarn, "redisbus: publish dropped messages",
		slog.Uint64("dropped", since), slog.String("reason", why), slog.Uint64("total", total))
}

// take waits for queued messages and returns them all, or nil once the
// publisher is closed. The slice returned is the sender's until the next
// take (spare is handed back for reuse).
func (p *publisher) take(spare []pubMsg) []pubMsg {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil
		}
		if len(p.q) > 0 {
			batch := p.q
			p.q = spare[:0]
			p.bytes = 0
			p.sending = true
			p.mu.Unlock()
			return batch
		}
		p.mu.Unlock()
		select {
		case <-p.work:
		case <-p.b.done:
		}
	}
}

// finish marks the batch done and wakes Flush when the queue is empty.
func (p *publisher) finish() {
	p.mu.Lock()
	p.sending = false
	if len(p.q) == 0 {
		close(p.idle)
		p.idle = make(chan struct{})
	}
	p.mu.Unlock()
}

// dropQueued drops everything queued (Redis went down while it waited);
// with down it also marks Redis down, under the same lock as push's
// second check.
func (p *publisher) dropQueued(why string, down bool) {
	p.mu.Lock()
	if down {
		p.down.Store(true)
	}
	n := len(p.q)
	clear(p.q)
	p.q = p.q[:0]
	p.bytes = 0
	if !p.sending {
		close(p.idle)
		p.idle = make(chan struct{})
	}
	p.mu.Unlock()
	if n > 0 {
		p.drop(n, why)
	}
}

func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	select {
	case p.work <- struct{}{}:
	default:
	}
	<-p.done
	p.dropQueued("bus closed", false)
}

// run is the sender goroutine.
func (p *publisher) run() {
	defer close(p.done)
	var (
		batch, spare []pubMsg
		cmds         rueidis.Commands
		delay        time.Duration
		downSince    time.Time
	)
	for {
		if p.down.Load() {
			if !p.probe() {
				delay = p.b.backoff(delay)
				if !p.b.wait(delay) {
					return
				}
				continue
			}
			p.down.Store(false)
			delay = 0
			p.b.log.LogAttrs(context.Background(), slog.LevelInfo, "redisbus: publishing again",
				slog.Duration("down", time.Since(downSince)))
		}
		batch = p.take(spare)
		if batch == nil {
			return
		}
		var ok bool
		cmds, ok = p.send(batch, cmds)
		clear(batch)
		spare = batch
		if !ok {
			// Redis did not answer: drop what queued up meanwhile and
			// refuse new messages until a PING is answered.
			downSince = time.Now()
			p.dropQueued("redis is down", true)
		}
		p.finish()
	}
}

// send writes batch, in chunks of maxBatch, and counts every message as
// published or dropped. It reports false when the connection failed (not
// for an error reply). cmds is scratch space, returned for reuse.
func (p *publisher) send(batch []pubMsg, cmds rueidis.Commands) (rueidis.Commands, bool) {
	b := p.b
	ok := true
	var classic rueidis.Client = b.client
	if b.cluster {
		c, err := b.publishClient()
		if err != nil {
			p.drop(len(batch), "no home node")
			return cmds, false
		}
		classic = c
	}
	for len(batch) > 0 {
		n := min(len(batch), maxBatch)
		chunk := batch[:n]
		batch = batch[n:]
		if !b.cluster {
			cmds = buildPublishes(b.client, chunk, cmds[:0], true, true)
			ok = p.do(b.client, cmds) && ok
			continue
		}
		// On a cluster the PUBLISHes go to the home node and the SPUBLISHes
		// through the cluster client (by slot).
		if cmds = buildPublishes(classic, chunk, cmds[:0], true, false); len(cmds) > 0 {
			ok = p.do(classic, cmds) && ok
		}
		if cmds = buildPublishes(b.client, chunk, cmds[:0], false, true); len(cmds) > 0 {
			ok = p.do(b.client, cmds) && ok
		}
	}
	return cmds, ok
}

func buildPublishes(c rueidis.Client, batch []pubMsg, cmds rueidis.Commands, classic, shard bool) rueidis.Commands {
	for _, m := range batch {
		switch {
		case m.shard && shard:
			cmds = append(cmds, c.B().Spublish().Channel(m.channel).Message(m.payload).Build())
		case !m.shard && classic:
			cmds = append(cmds, c.B().Publish().Channel(m.channel).Message(m.payload).Build())
		}
	}
	return cmds
}

func (p *publisher) do(c rueidis.Client, cmds rueidis.Commands) bool {
	ctx, cancel := context.WithTimeout(context.Background(), p.b.opts.CommandTimeout)
	defer cancel()
	var published, failed int
	ok := true
	for _, r := range c.DoMulti(ctx, cmds...) {
		if r.Error() == nil {
			published++
			continue
		}
		failed++
		if r.NonRedisError() != nil {
			ok = false
		}
	}
	p.published.Add(uint64(published))
	if failed > 0 {
		why := "error reply"
		if !ok {
			why = "redis is down"
		}
		p.drop(failed, why)
	}
	clear(cmds)
	return ok
}

// probe sends a PING and reports whether Redis answered.
func (p *publisher) probe() bool {
	c, err := p.b.publishClient()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.b.opts.DialTimeout)
	defer cancel()
	return c.Do(ctx, c.B().Ping().Build()).Error() == nil
}
