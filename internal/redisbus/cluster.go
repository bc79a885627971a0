package redisbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"time"
)

// slotCount is the number of hash slots of a Redis Cluster.
const slotCount = 16384

// slotOf is the hash slot of a key or shard channel: CRC16 (XMODEM) of the
// key, or of its hash tag (the part between the first "{" and the next "}"
// when that part is not empty), modulo 16384.
func slotOf(key string) uint16 {
	if i := indexByte(key, '{'); i >= 0 {
		if j := indexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return crc16(key) % slotCount
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), bit by bit:
// it runs once per subscription change, not per message.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// topology is a cluster's slot map, as CLUSTER SLOTS gave it.
type topology struct {
	ranges  []slotRange // sorted by start
	masters []string    // sorted host:port
}

type slotRange struct {
	start, end uint16 // inclusive
	master     string
}

// owner is the master of slot, or "" when no range covers it.
func (t *topology) owner(slot uint16) string {
	i := sort.Search(len(t.ranges), func(i int) bool { return t.ranges[i].end >= slot })
	if i < len(t.ranges) && t.ranges[i].start <= slot {
		return t.ranges[i].master
	}
	return ""
}

func (t *topology) isMaster(addr string) bool {
	i := sort.SearchStrings(t.masters, addr)
	return i < len(t.masters) && t.masters[i] == addr
}

// loadTopology asks a node for CLUSTER SLOTS.
func (b *Bus) loadTopology(ctx context.Context) (*topology, error) {
	entries, err := b.client.Do(ctx, b.client.B().ClusterSlots().Build()).ToArray()
	if err != nil {
		return nil, fmt.Errorf("redisbus: CLUSTER SLOTS: %w", err)
	}
	t := &topology{}
	seen := map[string]bool{}
	for _, e := range entries {
		f, err := e.ToArray()
		if err != nil || len(f) < 3 {
			return nil, errors.New("redisbus: CLUSTER SLOTS: malformed entry")
		}
		start, err1 := f[0].AsInt64()
		end, err2 := f[1].AsInt64()
		node, err3 := f[2].ToArray()
		if err1 != nil || err2 != nil || err3 != nil || len(node) < 2 || start < 0 || end >= slotCount || start > end {
			return nil, errors.New("redisbus: CLUSTER SLOTS: malformed entry")
		}
		host, err1 := node[0].ToString()
		port, err2 := node[1].AsInt64()
		if err1 != nil || err2 != nil {
			return nil, errors.New("redisbus: CLUSTER SLOTS: malformed node")
		}
		addr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
		t.ranges = append(t.ranges, slotRange{start: uint16(start), end: uint16(end), master: addr})
		if !seen[addr] {
			seen[addr] = true
			t.masters = append(t.masters, addr)
		}
	}
	if len(t.masters) == 0 {
		return nil, errors.New("redisbus: CLUSTER SLOTS: no master")
	}
	sort.Slice(t.ranges, func(i, j int) bool { return t.ranges[i].start < t.ranges[j].start })
	sort.Strings(t.masters)
	return t, nil
}

// refreshTopology loads the slot map and moves subscriptions whose node
// changed: shard channels to their slot's master, channels and patterns to
// the home node (kept while it is a master; else the first master).
func (b *Bus) refreshTopology(ctx context.Context) error {
	t, err := b.loadTopology(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	b.topo = t
	if b.home == "" || !t.isMaster(b.home) {
		b.home = t.masters[0]
	}
	var touched []*subConn
	for addr, c := range b.conns {
		for _, k := range []Kind{KindMessage, KindPMessage} {
			if addr == b.home || len(c.want[k-1]) == 0 {
				continue
			}
			h := b.conn(b.home)
			for n := range c.want[k-1] {
				h.want[k-1][n] = struct{}{}
			}
			clear(c.want[k-1])
			touched = appendOnce(appendOnce(touched, c), h)
		}
		for n := range c.want[KindSMessage-1] {
			owner := t.owner(slotOf(n))
			if owner == "" || owner == addr {
				continue
			}
			delete(c.want[KindSMessage-1], n)
			o := b.conn(owner)
			o.want[KindSMessage-1][n] = struct{}{}
			touched = appendOnce(appendOnce(touched, c), o)
		}
	}
	for _, c := range touched {
		c.wantGen++
		c.recount()
		c.kick()
	}
	return nil
}

// markTopologyDirty asks the topology goroutine for a refresh.
func (b *Bus) markTopologyDirty() {
	if !b.cluster {
		return
	}
	select {
	case b.topoDirty <- struct{}{}:
	default:
	}
}

// topologyLoop refreshes the slot map when asked, at most once a second.
func (b *Bus) topologyLoop() {
	defer b.wg.Done()
	for {
		select {
		case <-b.topoDirty:
		case <-b.done:
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.CommandTimeout)
		if err := b.refreshTopology(ctx); err != nil && !errors.Is(err, ErrClosed) {
			b.log.LogAttrs(ctx, slog.LevelWarn, "redisbus: cluster topology", slog.Any("err", err))
		}
		cancel()
		if !b.wait(time.Second) {
			return
		}
	}
}
