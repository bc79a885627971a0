package redisbus

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/redis/rueidis"
)

// maxSubscribeArgs bounds the names of one SUBSCRIBE-like command, so that
// resubscribing thousands of room channels after a restart makes commands
// of reasonable size.
const maxSubscribeArgs = 256

// Subscribe adds one subscription to each channel (SUBSCRIBE). It returns
// at once; the manager of the subscriber connection sends the command, and
// sends it again after every reconnection. Call Sync to wait until Redis
// confirmed it. Subscriptions are counted: a channel subscribed twice is
// subscribed once at Redis and needs two Unsubscribes, so that one Bus
// never counts twice in PUBSUB NUMSUB.
func (b *Bus) Subscribe(channels ...string) { b.change(KindMessage, channels, true) }

// Unsubscribe removes one subscription from each channel; Redis is
// unsubscribed (UNSUBSCRIBE) when none is left. Messages already on their
// way may still reach the handler. A name that is not subscribed is
// ignored.
func (b *Bus) Unsubscribe(channels ...string) { b.change(KindMessage, channels, false) }

// PSubscribe is Subscribe for glob patterns (PSUBSCRIBE); their messages
// reach the handler as KindPMessage with the pattern.
func (b *Bus) PSubscribe(patterns ...string) { b.change(KindPMessage, patterns, true) }

// PUnsubscribe is Unsubscribe for patterns (PUNSUBSCRIBE).
func (b *Bus) PUnsubscribe(patterns ...string) { b.change(KindPMessage, patterns, false) }

// SSubscribe is Subscribe for shard channels (SSUBSCRIBE, Redis 7). On a
// cluster each goes to the subscriber connection of its slot's master.
// On a single server, a name should not be both a channel and a shard
// channel of one Bus: rueidis does not tell "message" from "smessage", so
// the Bus tells them apart by name (and would call both KindMessage).
func (b *Bus) SSubscribe(channels ...string) { b.change(KindSMessage, channels, true) }

// SUnsubscribe is Unsubscribe for shard channels (SUNSUBSCRIBE).
func (b *Bus) SUnsubscribe(channels ...string) { b.change(KindSMessage, channels, false) }

// Sync waits until every subscription change made before the call is in
// effect at Redis, confirmed on a live connection, or until ctx ends.
// While Redis is down it waits for the reconnection and resubscription.
// It must not be called from the handler, which holds up the confirmation
// it would wait for.
func (b *Bus) Sync(ctx context.Context) error {
	b.mu.Lock()
	targets := make(map[*subConn]uint64, len(b.conns))
	for _, c := range b.conns {
		targets[c] = c.wantGen
	}
	b.mu.Unlock()
	for {
		b.mu.Lock()
		closed, changed := b.closed, b.changed
		done := true
		for c, gen := range targets {
			// A connection that is down and wants nothing (its node left
			// the cluster, its names moved) has nothing to wait for.
			idle := !c.live && c.wants() == 0
			if gen > 0 && !idle && (!c.live || c.appliedGen < gen) {
				done = false
				break
			}
		}
		b.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// subConn is one subscriber connection and its manager goroutine.
type subConn struct {
	b    *Bus
	addr string // cluster node, "" for a single server

	// Guarded by b.mu: the names this connection should have (want) and
	// has at Redis (applied), by Kind-1; wantGen counts changes of want;
	// appliedGen is the wantGen in effect on the live connection.
	want, applied [3]map[string]struct{}
	wantGen       uint64
	appliedGen    uint64
	live          bool

	// Atomic, set by recount: how many channels and shard channels are
	// wanted or applied (either), read by the connection's reader to tell
	// "message" from "smessage" without a lock when only one kind is in
	// use. Wanted ones count from before their command is sent, so that a
	// message right after the confirmation is told right; applied ones
	// until their unsubscription is confirmed.
	nChannels, nShards atomic.Int64

	kickCh chan struct{} // cap 1: want changed, or the Bus closed
}

// conn returns the subConn for addr, starting its manager (b.mu held).
func (b *Bus) conn(addr string) *subConn {
	if c, ok := b.conns[addr]; ok {
		return c
	}
	c := &subConn{b: b, addr: addr, kickCh: make(chan struct{}, 1)}
	for i := range c.want {
		c.want[i] = map[string]struct{}{}
		c.applied[i] = map[string]struct{}{}
	}
	b.conns[addr] = c
	b.wg.Add(1)
	go c.run()
	return c
}

// recount sets nChannels and nShards (b.mu held).
func (c *subConn) recount() {
	c.nChannels.Store(int64(len(c.want[KindMessage-1]) + len(c.applied[KindMessage-1])))
	c.nShards.Store(int64(len(c.want[KindSMessage-1]) + len(c.applied[KindSMessage-1])))
}

// wants is how many names c should have (b.mu held).
func (c *subConn) wants() int {
	return len(c.want[0]) + len(c.want[1]) + len(c.want[2])
}

// connFor is where a subscription of kind k to name belongs (b.mu held).
func (b *Bus) connFor(k Kind, name string) *subConn {
	if !b.cluster {
		return b.conn("")
	}
	if k == KindSMessage && b.topo != nil {
		if owner := b.topo.owner(slotOf(name)); owner != "" {
			return b.conn(owner)
		}
	}
	return b.conn(b.home)
}

func (b *Bus) counts(k Kind) map[string]int {
	switch k {
	case KindPMessage:
		return b.patterns
	case KindSMessage:
		return b.shards
	}
	return b.channels
}

func (b *Bus) change(k Kind, names []string, add bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	counts := b.counts(k)
	var touched []*subConn
	for _, name := range names {
		if add {
			counts[name]++
			if counts[name] > 1 {
				continue
			}
		} else {
			if counts[name] == 0 {
				continue
			}
			if counts[name]--; counts[name] > 0 {
				continue
			}
			delete(counts, name)
		}
		c := b.connFor(k, name)
		if add {
			c.want[k-1][name] = struct{}{}
		} else {
			delete(c.want[k-1], name)
		}
		touched = appendOnce(touched, c)
	}
	for _, c := range touched {
		c.wantGen++
		c.recount()
		c.kick()
	}
}

func appendOnce(s []*subConn, c *subConn) []*subConn {
	for _, x := range s {
		if x == c {
			return s
		}
	}
	return append(s, c)
}

func (c *subConn) kick() {
	select {
	case c.kickCh <- struct{}{}:
	default:
	}
}

// notify wakes Sync (b.mu held).
func (b *Bus) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// run is the manager: it keeps one dedicated connection subscribed to
// want, and makes a new one (resubscribing everything) when it is lost.
func (c *subConn) run() {
	b := c.b
	defer b.wg.Done()
	var (
		delay  time.Duration
		lostAt time.Time
		everUp bool
	)
	for {
		client, err := b.nodeClient(c.addr)
		if err == nil {
			var wasUp bool
			wasUp, err = c.connect(client, everUp, lostAt)
			if wasUp {
				everUp = true
				delay = 0
				lostAt = time.Now()
				b.log.LogAttrs(context.Background(), slog.LevelWarn, "redisbus: subscriber connection lost",
					slog.String("node", c.addr), slog.Any("err", err))
			}
		}
		select {
		case <-b.done:
			return
		default:
		}
		if b.cluster {
			b.markTopologyDirty() // a master may have failed over
		}
		delay = b.backoff(delay)
		if !b.wait(delay) {
			return
		}
	}
}

// connect makes one dedicated connection, subscribes it to want and keeps
// it in step until it is lost or the Bus closes. It reports whether the
// connection was ever in step, and why it ended.
func (c *subConn) connect(client rueidis.Client, reconnect bool, lostAt time.Time) (bool, error) {
	b := c.b
	dc, release := client.Dedicate()
	defer release()
	lost := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage:      c.deliver,
		OnSubscription: c.onSubscription,
	})
	up, err := c.sync(dc)
	wasUp := up
	if up && reconnect {
		b.reconnects.Add(1)
		b.log.LogAttrs(context.Background(), slog.LevelInfo, "redisbus: subscriber reconnected",
			slog.String("node", c.addr), slog.Duration("down", time.Since(lostAt)),
			slog.Int("subscriptions", c.appliedCount()))
	}
	for up {
		select {
		case <-c.kickCh:
			up, err = c.sync(dc)
		case e, ok := <-lost:
			up = false
			if ok {
				err = e
			}
		case <-b.done:
			up, err = false, ErrClosed
		}
	}
	c.down()
	dc.Close()
	for range lost { // closed once the hooks will not be called again
	}
	return wasUp && err != ErrClosed, err
}

// down records that the connection is gone: nothing is applied any more.
func (c *subConn) down() {
	b := c.b
	b.mu.Lock()
	for i := range c.applied {
		clear(c.applied[i])
	}
	c.recount()
	c.live = false
	c.appliedGen = 0
	b.notify()
	b.mu.Unlock()
}

func (c *subConn) appliedCount() int {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return len(c.applied[0]) + len(c.applied[1]) + len(c.applied[2])
}

// subCmd is one command of a sync step and the names it changes.
type subCmd struct {
	kind  Kind
	add   bool
	names []string
}

// sync sends the commands that make applied equal to want, until they are
// equal or a command fails. It reports false when the connection failed.
func (c *subConn) sync(dc rueidis.DedicatedClient) (bool, error) {
	b := c.b
	for {
		b.mu.Lock()
		gen := c.wantGen
		var steps []subCmd
		for i := range c.want {
			k := Kind(i + 1)
			var add, del []string
			for n := range c.want[i] {
				if _, ok := c.applied[i][n]; !ok {
					add = append(add, n)
				}
			}
			for n := range c.applied[i] {
				if _, ok := c.want[i][n]; !ok {
					del = append(del, n)
				}
			}
			steps = appendSteps(steps, k, true, add)
			steps = appendSteps(steps, k, false, del)
		}
		if len(steps) == 0 {
			c.live = true
			c.appliedGen = gen
			b.notify()
			b.mu.Unlock()
			return true, nil
		}
		b.mu.Unlock()

		cmds := make(rueidis.Commands, len(steps))
		for i, s := range steps {
			cmds[i] = subCommand(dc, s)
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.CommandTimeout)
		results := dc.DoMulti(ctx, cmds...)
		cancel()

		failed := false
		var connErr error
		b.mu.Lock()
		for i, r := range results {
			err := r.Error()
			if err == nil {
				s := steps[i]
				for _, n := range s.names {
					if s.add {
						c.applied[s.kind-1][n] = struct{}{}
					} else {
						delete(c.applied[s.kind-1], n)
					}
				}
				continue
			}
			failed = true
			if r.NonRedisError() != nil {
				connErr = err
				continue
			}
			if re, ok := rueidis.IsRedisErr(err); ok {
				if _, moved := re.IsMoved(); moved {
					b.markTopologyDirty()
				}
			}
			b.log.LogAttrs(context.Background(), slog.LevelWarn, "redisbus: subscription refused",
				slog.String("node", c.addr), slog.String("command", cmds[i].Commands()[0]), slog.Any("err", err))
		}
		c.recount()
		again := c.wantGen != gen
		b.mu.Unlock()
		if connErr != nil {
			return false, connErr
		}
		if failed && !again {
			// An error reply (MOVED, NOPERM...): wait for the next change
			// (the topology refresh moves shard channels) rather than
			// retrying in a loop. Sync keeps waiting meanwhile.
			return true, nil
		}
	}
}

// appendSteps adds the commands for names, chunked; shard channels are
// grouped by slot, since one SSUBSCRIBE must not span slots on a cluster.
func appendSteps(steps []subCmd, k Kind, add bool, names []string) []subCmd {
	if len(names) == 0 {
		return steps
	}
	if k == KindSMessage {
		bySlot := map[uint16][]string{}
		for _, n := range names {
			s := slotOf(n)
			bySlot[s] = append(bySlot[s], n)
		}
		for _, group := range bySlot {
			steps = appendChunks(steps, k, add, group)
		}
		return steps
	}
	return appendChunks(steps, k, add, names)
}

func appendChunks(steps []subCmd, k Kind, add bool, names []string) []subCmd {
	for len(names) > 0 {
		n := min(len(names), maxSubscribeArgs)
		steps = append(steps, subCmd{kind: k, add: add, names: names[:n:n]})
		names = names[n:]
	}
	return steps
}

func subCommand(dc rueidis.DedicatedClient, s subCmd) rueidis.Completed {
	bd := dc.B()
	switch {
	case s.kind == KindMessage && s.add:
		return bd.Subscribe().Channel(s.names...).Build()
	case s.kind == KindMessage:
		return bd.Unsubscribe().Channel(s.names...).Build()
	case s.kind == KindPMessage && s.add:
		return bd.Psubscribe().Pattern(s.names...).Build()
	case s.kind == KindPMessage:
		return bd.Punsubscribe().Pattern(s.names...).Build()
	case s.add:
		return bd.Ssubscribe().Channel(s.names...).Build()
	default:
		return bd.Sunsubscribe().Channel(s.names...).Build()
	}
}

// deliver runs on the connection's reader goroutine for each message.
func (c *subConn) deliver(m rueidis.PubSubMessage) {
	kind := KindMessage
	switch {
	case m.Pattern != "":
		kind = KindPMessage
	case c.nShards.Load() == 0:
	case c.nChannels.Load() == 0:
		kind = KindSMessage
	default:
		c.b.mu.Lock()
		if c.has(KindSMessage, m.Channel) && !c.has(KindMessage, m.Channel) {
			kind = KindSMessage
		}
		c.b.mu.Unlock()
	}
	// The payload is a string rueidis allocated for this message; the
	// handler gets a read-only view of it.
	payload := unsafe.Slice(unsafe.StringData(m.Message), len(m.Message))
	c.b.deliver.Lock()
	c.b.opts.Handler(kind, m.Channel, m.Pattern, payload)
	c.b.deliver.Unlock()
}

// has reports whether name is wanted or applied as kind k (b.mu held).
func (c *subConn) has(k Kind, name string) bool {
	if _, ok := c.want[k-1][name]; ok {
		return true
	}
	_, ok := c.applied[k-1][name]
	return ok
}

// onSubscription notices a "sunsubscribe" that the Bus did not ask for:
// Redis sends one when a slot moves to another master. The channel is no
// longer applied here, and the topology is loaded again to move it.
func (c *subConn) onSubscription(s rueidis.PubSubSubscription) {
	if s.Kind != "sunsubscribe" {
		return
	}
	b := c.b
	b.mu.Lock()
	_, wanted := c.want[KindSMessage-1][s.Channel]
	_, applied := c.applied[KindSMessage-1][s.Channel]
	if wanted && applied {
		delete(c.applied[KindSMessage-1], s.Channel)
		c.recount()
		c.appliedGen = 0
		b.notify()
	}
	b.mu.Unlock()
	if wanted && applied {
		b.markTopologyDirty()
		c.kick()
	}
}
