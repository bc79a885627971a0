package redisclient

import (
	"context"
	"errors"
	"fmt"
	"sync"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// kind is the subscription command a receive benchmark uses.
type kind int

const (
	exact   kind = iota // SUBSCRIBE / PUBLISH
	pattern             // PSUBSCRIBE / PUBLISH
	sharded             // SSUBSCRIBE / SPUBLISH
)

// pub is one message for PublishBatch.
type pub struct {
	channel, payload string
}

// client is what a benchmark needs from a Redis client. Each implementation
// uses the client the way its documentation recommends for that job.
type client interface {
	// PublishSync sends one PUBLISH (SPUBLISH if shard) and waits for the
	// reply.
	PublishSync(ctx context.Context, shard bool, channel, payload string) error
	// PublishBatch sends the batch as one pipeline and waits for the replies.
	PublishBatch(ctx context.Context, shard bool, batch []pub) error
	// Subscribe opens one subscriber connection for name and returns once
	// Redis confirmed the subscription. onMsg is called for every message,
	// on one goroutine.
	Subscribe(ctx context.Context, k kind, name string, onMsg func(channel, payload string)) (stop func(), err error)
	Close()
}

// ---- rueidis ----

type rueidisClient struct {
	c rueidis.Client
	// cmds is the sender's scratch slice for PublishBatch (one sender).
	cmds rueidis.Commands
}

func newRueidis(addrs ...string) (*rueidisClient, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs, DisableCache: true})
	if err != nil {
		return nil, err
	}
	return &rueidisClient{c: c}, nil
}

func (r *rueidisClient) PublishSync(ctx context.Context, shard bool, channel, payload string) error {
	if shard {
		return r.c.Do(ctx, r.c.B().Spublish().Channel(channel).Message(payload).Build()).Error()
	}
	return r.c.Do(ctx, r.c.B().Publish().Channel(channel).Message(payload).Build()).Error()
}

func (r *rueidisClient) PublishBatch(ctx context.Context, shard bool, batch []pub) error {
	r.cmds = r.cmds[:0]
	for _, p := range batch {
		if shard {
			r.cmds = append(r.cmds, r.c.B().Spublish().Channel(p.channel).Message(p.payload).Build())
		} else {
			r.cmds = append(r.cmds, r.c.B().Publish().Channel(p.channel).Message(p.payload).Build())
		}
	}
	for _, res := range r.c.DoMulti(ctx, r.cmds...) {
		if err := res.Error(); err != nil {
			return err
		}
	}
	return nil
}

// Subscribe uses a dedicated connection with pub/sub hooks: OnMessage runs
// on that connection's reading goroutine, with no hand-off.
func (r *rueidisClient) Subscribe(ctx context.Context, k kind, name string, onMsg func(channel, payload string)) (func(), error) {
	dc, release := r.c.Dedicate()
	wait := dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(m rueidis.PubSubMessage) {
		onMsg(m.Channel, m.Message)
	}})
	var cmd rueidis.Completed
	switch k {
	case exact:
		cmd = dc.B().Subscribe().Channel(name).Build()
	case pattern:
		cmd = dc.B().Psubscribe().Pattern(name).Build()
	case sharded:
		cmd = dc.B().Ssubscribe().Channel(name).Build()
	}
	if err := dc.Do(ctx, cmd).Error(); err != nil {
		dc.Close()
		release()
		return nil, err
	}
	return func() {
		dc.Close()
		release()
		<-wait
	}, nil
}

func (r *rueidisClient) Close() { r.c.Close() }

// ---- go-redis ----

type goredisClient struct {
	c goredis.UniversalClient
	// pipe is the sender's pipeline for PublishBatch (one sender).
	pipe goredis.Pipeliner
}

func newGoredis(addrs ...string) *goredisClient {
	if len(addrs) == 1 {
		return &goredisClient{c: goredis.NewClient(&goredis.Options{Addr: addrs[0]})}
	}
	return &goredisClient{c: goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})}
}

func (g *goredisClient) PublishSync(ctx context.Context, shard bool, channel, payload string) error {
	if shard {
		return g.c.SPublish(ctx, channel, payload).Err()
	}
	return g.c.Publish(ctx, channel, payload).Err()
}

func (g *goredisClient) PublishBatch(ctx context.Context, shard bool, batch []pub) error {
	if g.pipe == nil {
		g.pipe = g.c.Pipeline()
	}
	for _, p := range batch {
		if shard {
			g.pipe.SPublish(ctx, p.channel, p.payload)
		} else {
			g.pipe.Publish(ctx, p.channel, p.payload)
		}
	}
	_, err := g.pipe.Exec(ctx)
	return err
}

// Subscribe uses a PubSub and ReceiveMessage on one goroutine, the cheapest
// way go-redis offers (Channel() adds a hand-off through a Go channel).
func (g *goredisClient) Subscribe(ctx context.Context, k kind, name string, onMsg func(channel, payload string)) (func(), error) {
	var ps *goredis.PubSub
	switch k {
	case exact:
		ps = g.c.Subscribe(ctx, name)
	case pattern:
		ps = g.c.PSubscribe(ctx, name)
	case sharded:
		ps = g.c.SSubscribe(ctx, name)
	}
	// The first reply is the subscription's confirmation.
	m, err := ps.Receive(ctx)
	if err != nil {
		ps.Close()
		return nil, err
	}
	if _, ok := m.(*goredis.Subscription); !ok {
		ps.Close()
		return nil, fmt.Errorf("go-redis: first reply %T, want *Subscription", m)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			msg, err := ps.ReceiveMessage(context.Background())
			if err != nil {
				if errors.Is(err, goredis.ErrClosed) {
					return
				}
				continue // reconnects inside ReceiveMessage
			}
			onMsg(msg.Channel, msg.Payload)
		}
	}()
	return func() {
		ps.Close()
		wg.Wait()
	}, nil
}

func (g *goredisClient) Close() { g.c.Close() }
