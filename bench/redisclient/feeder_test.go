package redisclient

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// feeder publishes a stream of messages from a raw TCP connection: the
// commands are encoded once, written again and again, and their replies
// are read and discarded, so that the feeder allocates nothing per message
// and a receive benchmark's allocs/op belong to the subscriber.
type feeder struct {
	conn     net.Conn
	batch    []byte // perBatch commands, RESP-encoded
	perBatch int
	readDone chan struct{}
}

const (
	perBatch = 256 // messages per write and per credit
	window   = 16  // batches in flight before the feeder waits for a credit
)

func newFeeder(tb testing.TB, addr, command, channel string, payload []byte) *feeder {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("feeder: %v", err)
	}
	var one []byte
	one = fmt.Appendf(one, "*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n", len(command), command, len(channel), channel, len(payload))
	one = append(one, payload...)
	one = append(one, "\r\n"...)
	f := &feeder{conn: conn, perBatch: perBatch, readDone: make(chan struct{})}
	for i := 0; i < perBatch; i++ {
		f.batch = append(f.batch, one...)
	}
	go func() {
		defer close(f.readDone)
		io.Copy(io.Discard, conn)
	}()
	return f
}

// run writes the batches that r counts, ceil(r.n/perBatch) of them,
// keeping at most window batches ahead of the receiver so that Redis's
// output buffer for the subscriber stays small, and waits until r saw its
// n-th message (or until timeout, when it returns an error).
func (f *feeder) run(r *receiver, timeout time.Duration) error {
	batches := int((r.n + perBatch - 1) / perBatch)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for sent := 0; sent < batches; sent++ {
		if sent >= window {
			select {
			case <-r.credits:
			case <-deadline.C:
				return fmt.Errorf("feeder: %d of %d messages received in %v", r.count.Load(), r.n, timeout)
			}
		}
		if _, err := f.conn.Write(f.batch); err != nil {
			return err
		}
	}
	select {
	case <-r.done:
		return nil
	case <-deadline.C:
		return fmt.Errorf("feeder: %d of %d messages received in %v", r.count.Load(), r.n, timeout)
	}
}

func (f *feeder) close() {
	f.conn.Close()
	<-f.readDone
}

// receiver counts messages on the subscriber's goroutine, hands a credit to
// the feeder every perBatch messages and closes done at the n-th.
type receiver struct {
	n       int64
	count   atomic.Int64
	credits chan struct{}
	done    chan struct{}
	once    sync.Once
	badLen  atomic.Int64
	want    int
}

func newReceiver(n, payloadLen int) *receiver {
	return &receiver{n: int64(n), credits: make(chan struct{}, 1<<16), done: make(chan struct{}), want: payloadLen}
}

func (r *receiver) onMsg(_ string, payload string) {
	if len(payload) != r.want {
		r.badLen.Add(1)
	}
	c := r.count.Add(1)
	if c%perBatch == 0 {
		select {
		case r.credits <- struct{}{}:
		default:
		}
	}
	if c == r.n {
		r.once.Do(func() { close(r.done) })
	}
}

// channelName gives every benchmark run its own channel, so that messages
// left over from one run never count in the next.
var runSeq atomic.Int64

func channelName(prefix string) string {
	return prefix + strconv.FormatInt(runSeq.Add(1), 10) + "#"
}

// probe sends single commands on a raw connection and returns the first
// line of each reply (enough for a simple string, an integer or an error).
type probe struct {
	net.Conn
	r *bufio.Reader
}

func newProbe(addr string) (*probe, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &probe{Conn: c, r: bufio.NewReader(c)}, nil
}

func (p *probe) do(args ...string) (string, error) {
	var b []byte
	b = fmt.Appendf(b, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	p.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := p.Write(b); err != nil {
		return "", err
	}
	line, err := p.r.ReadString('\n')
	return strings.TrimSuffix(line, "\r\n"), err
}
