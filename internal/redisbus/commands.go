package redisbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"
)

// NumSub is PUBSUB NUMSUB channel: how many connections SUBSCRIBEd it
// (patterns do not count). On a cluster each node counts its own
// subscribers, so the Bus sums the answers of every master, as Node's
// adapters do.
func (b *Bus) NumSub(ctx context.Context, channel string) (int64, error) {
	return b.numSub(ctx, channel, false)
}

// ShardNumSub is PUBSUB SHARDNUMSUB channel (SSUBSCRIBEd connections),
// summed over every master on a cluster.
func (b *Bus) ShardNumSub(ctx context.Context, channel string) (int64, error) {
	return b.numSub(ctx, channel, true)
}

func (b *Bus) numSub(ctx context.Context, channel string, shard bool) (int64, error) {
	if b.isClosed() {
		return 0, ErrClosed
	}
	if !b.cluster {
		return numSubOn(ctx, b.client, channel, shard)
	}
	var sum int64
	for _, addr := range b.masters() {
		c, err := b.nodeClient(addr)
		if err != nil {
			return 0, err
		}
		n, err := numSubOn(ctx, c, channel, shard)
		if err != nil {
			return 0, fmt.Errorf("redisbus: %s: %w", addr, err)
		}
		sum += n
	}
	return sum, nil
}

func numSubOn(ctx context.Context, c rueidis.Client, channel string, shard bool) (int64, error) {
	var cmd rueidis.Completed
	if shard {
		// Built as an arbitrary command so that nothing routes it by slot:
		// every master is asked. ReadOnly lets rueidis retry it once on a
		// connection found broken (a node restarted), as it does NUMSUB.
		cmd = c.B().Arbitrary("PUBSUB", "SHARDNUMSUB").Args(channel).ReadOnly()
	} else {
		cmd = c.B().PubsubNumsub().Channel(channel).Build()
	}
	m, err := c.Do(ctx, cmd).AsIntMap()
	if err != nil {
		return 0, err
	}
	return m[channel], nil
}

// Entry is one stream entry: its ID and its fields and values in stream
// order (Fields[0] is the first field's name, Fields[1] its value...).
type Entry struct {
	ID     string
	Fields []string
}

// Get returns the value of the first field called name.
func (e Entry) Get(name string) (string, bool) {
	for i := 0; i+1 < len(e.Fields); i += 2 {
		if e.Fields[i] == name {
			return e.Fields[i+1], true
		}
	}
	return "", false
}

// XAdd is XADD stream MAXLEN ~ maxLen * field value...: it appends an
// entry, trimming the stream to about maxLen entries, and returns the new
// entry's ID. fields are names and values, alternating.
func (b *Bus) XAdd(ctx context.Context, stream string, maxLen int64, fields ...string) (string, error) {
	if len(fields) == 0 || len(fields)%2 != 0 {
		return "", errors.New("redisbus: XAdd needs field, value pairs")
	}
	if maxLen <= 0 {
		return "", errors.New("redisbus: XAdd needs maxLen > 0")
	}
	cmd := b.client.B().Xadd().Key(stream).Maxlen().Almost().Threshold(strconv.FormatInt(maxLen, 10)).Id("*").FieldValue()
	for i := 0; i < len(fields); i += 2 {
		cmd = cmd.FieldValue(fields[i], fields[i+1])
	}
	return b.client.Do(ctx, cmd.Build()).ToString()
}

// XRead is XREAD COUNT count BLOCK block STREAMS stream offset: the entries
// after offset ("$" for only new ones), waiting up to block for one to
// arrive (block 0 waits until ctx ends). A timeout returns no entries and
// no error. It runs on a connection of rueidis's pool for blocking
// commands, never on the shared pipeline, so it holds up nothing else;
// when ctx ends first, the Bus unblocks or closes that connection.
func (b *Bus) XRead(ctx context.Context, stream, offset string, count int64, block time.Duration) ([]Entry, error) {
	cmd := b.client.B().Xread().Count(count).Block(block.Milliseconds()).Streams().Key(stream).Id(offset).Build()
	m, err := b.client.Do(ctx, cmd).ToMessage()
	if rueidis.IsRedisNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m.IsNil() {
		return nil, nil
	}
	// RESP3: a map of stream to entries; RESP2: [[stream, entries]...].
	if streams, err := m.AsMap(); err == nil && m.IsMap() {
		e, ok := streams[stream]
		if !ok {
			return nil, nil
		}
		return parseEntries(e)
	}
	arr, err := m.ToArray()
	if err != nil {
		return nil, err
	}
	for _, s := range arr {
		pair, err := s.ToArray()
		if err != nil || len(pair) != 2 {
			return nil, errors.New("redisbus: XREAD: malformed reply")
		}
		if name, _ := pair[0].ToString(); name == stream {
			return parseEntries(pair[1])
		}
	}
	return nil, nil
}

// XRange is XRANGE stream start end, with COUNT count when count > 0.
func (b *Bus) XRange(ctx context.Context, stream, start, end string, count int64) ([]Entry, error) {
	var cmd rueidis.Completed
	if count > 0 {
		cmd = b.client.B().Xrange().Key(stream).Start(start).End(end).Count(count).Build()
	} else {
		cmd = b.client.B().Xrange().Key(stream).Start(start).End(end).Build()
	}
	m, err := b.client.Do(ctx, cmd).ToMessage()
	if err != nil {
		return nil, err
	}
	return parseEntries(m)
}

func parseEntries(m rueidis.RedisMessage) ([]Entry, error) {
	arr, err := m.ToArray()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(arr))
	for _, e := range arr {
		f, err := e.ToArray()
		if err != nil || len(f) != 2 {
			return nil, errors.New("redisbus: malformed stream entry")
		}
		id, err := f[0].ToString()
		if err != nil {
			return nil, err
		}
		var fields []string
		if !f[1].IsNil() {
			if fields, err = f[1].AsStrSlice(); err != nil {
				return nil, err
			}
		}
		out = append(out, Entry{ID: id, Fields: fields})
	}
	return out, nil
}

// SetPX is SET key value PX ttl (the streams adapter's session). value is
// copied.
func (b *Bus) SetPX(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return errors.New("redisbus: SetPX needs a ttl of 1 ms or more")
	}
	return b.client.Do(ctx, b.client.B().Set().Key(key).Value(string(value)).PxMilliseconds(ttl.Milliseconds()).Build()).Error()
}

// GetDel reads and deletes key in one step: MULTI, GET key, DEL key, EXEC,
// as Node's streams adapter restores a session, so that two servers never
// both take one session. It works on every Redis with MULTI (GETDEL needs
// 6.2) and costs one round trip (the four commands are pipelined). found
// is false when the key did not exist; value is the caller's.
func (b *Bus) GetDel(ctx context.Context, key string) (value []byte, found bool, err error) {
	c := b.client
	res := c.DoMulti(ctx,
		c.B().Multi().Build(),
		c.B().Get().Key(key).Build(),
		c.B().Del().Key(key).Build(),
		c.B().Exec().Build(),
	)
	for _, r := range res[:3] {
		if err := r.Error(); err != nil {
			return nil, false, fmt.Errorf("redisbus: MULTI GET DEL: %w", err)
		}
	}
	replies, err := res[3].ToArray()
	if err != nil {
		return nil, false, fmt.Errorf("redisbus: EXEC: %w", err)
	}
	if len(replies) != 2 {
		return nil, false, errors.New("redisbus: EXEC: malformed reply")
	}
	if replies[0].IsNil() {
		return nil, false, nil
	}
	s, err := replies[0].ToString()
	if err != nil {
		return nil, false, err
	}
	return []byte(s), true, nil
}
