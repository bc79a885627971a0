//go:build !race

// Package soak runs the server for a long time under a realistic mix:
// many clients chatting in rooms, clients coming and going at random, and
// a few hostile ones sending bad input (garbage, in garbage_test.go).
// It checks that no well-behaved client loses a message, an
// acknowledgement or its connection, and that the server's memory,
// goroutines and open files stay flat once warmed up.
//
// The run is sized by environment variables (defaults in parentheses):
// SOAK_DURATION (60s), SOAK_CLIENTS (10000), SOAK_RATE, chat messages per
// second over all clients (1000), SOAK_CHURN, clients replaced per second
// (50). bench/soak.sh runs the 30-minute variant. The test is built without
// -race only: the race detector's memory and time overheads would measure
// itself, not the server.
package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/client"
)

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) != "" {
		os.Exit(serve())
	}
	os.Exit(m.Run())
}

// params is one soak run's size.
type params struct {
	duration time.Duration
	clients  int
	rate     float64 // chat messages per second, all clients together
	churn    float64 // clients replaced per second
}

func paramsFromEnv(t *testing.T) params {
	p := params{duration: 60 * time.Second, clients: 10000, rate: 1000, churn: 50}
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SOAK_DURATION: %v", err)
		}
		p.duration = d
	}
	for _, e := range []struct {
		name string
		dst  *float64
	}{{"SOAK_RATE", &p.rate}, {"SOAK_CHURN", &p.churn}} {
		if v := os.Getenv(e.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", e.name, err)
			}
			*e.dst = f
		}
	}
	if v := os.Getenv("SOAK_CLIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SOAK_CLIENTS: %v", err)
		}
		p.clients = n
	}
	return p
}

// failures collects what went wrong; the first few of each kind are kept
// for the report.
type failures struct {
	mu    sync.Mutex
	kinds map[string]int
	first []string
}

func (f *failures) add(kind, detail string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kinds == nil {
		f.kinds = map[string]int{}
	}
	f.kinds[kind]++
	if len(f.first) < 20 {
		f.first = append(f.first, kind+": "+detail)
	}
}

// member is one well-behaved client: a socket in one room that checks
// every chat message it receives arrives once and in order from each
// sender.
type member struct {
	id   string // unique across replacements
	room string
	mgr  *client.Manager
	sock *client.Socket

	leaving atomic.Bool // we are disconnecting it on purpose
	sending sync.Mutex  // one chat in flight at a time, so seq is in order
	seq     int64       // last seq sent; guarded by sending
	acked   atomic.Int64

	mu   sync.Mutex
	seen map[string]int64 // sender id -> last seq received; guarded by mu
}

// world is the state shared by the soak's goroutines.
type world struct {
	url   string
	rooms int
	fail  *failures

	mu      sync.Mutex
	members []*member // nil while a slot is being replaced; guarded by mu

	chats      atomic.Int64 // chat messages sent
	acks       atomic.Int64 // their acknowledgements
	deliveries atomic.Int64 // chat messages received
	replaced   atomic.Int64
	gen        atomic.Int64
}

func (w *world) connect(ctx context.Context, slot int) (*member, error) {
	m := &member{
		id:   fmt.Sprintf("c%d.%d", slot, w.gen.Add(1)),
		room: fmt.Sprintf("room-%d", slot%w.rooms),
		seen: map[string]int64{},
	}
	opts := client.Options{Transports: []string{client.WebSocket}, Timeout: 30 * time.Second}
	if slot%10 == 0 {
		opts.Transports = nil // polling first, then the upgrade, as browsers do
	}
	m.mgr = client.NewManager(w.url, opts)
	m.sock = m.mgr.Socket("/", client.SocketOptions{})
	m.sock.On("chat", func(ev *client.Event) {
		var from string
		var seq int64
		if err := ev.Decode(&from, &seq); err != nil {
			w.fail.add("bad chat", err.Error())
			return
		}
		w.deliveries.Add(1)
		m.mu.Lock()
		last, ok := m.seen[from]
		m.seen[from] = seq
		m.mu.Unlock()
		if ok && seq != last+1 {
			w.fail.add("lost or reordered", fmt.Sprintf("%s got %d from %s after %d", m.id, seq, from, last))
		}
	})
	m.sock.OnDisconnect(func(reason string) {
		if !m.leaving.Load() {
			w.fail.add("connection lost", m.id+": "+reason)
		}
	})
	if err := m.sock.ConnectContext(ctx); err != nil {
		m.mgr.Close()
		return nil, fmt.Errorf("connect %s: %w", m.id, err)
	}
	if _, err := m.sock.EmitWithAck(ctx, "join", m.room); err != nil {
		m.leave()
		return nil, fmt.Errorf("join %s: %w", m.id, err)
	}
	return m, nil
}

func (m *member) leave() {
	m.leaving.Store(true)
	m.sock.Disconnect()
	m.mgr.Close()
}

// chat sends one message from m and checks its acknowledgement. It does
// nothing if m has a message in flight.
func (w *world) chat(ctx context.Context, m *member) {
	if !m.sending.TryLock() {
		return
	}
	defer m.sending.Unlock()
	m.seq++
	seq := m.seq
	w.chats.Add(1)
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	reply, err := m.sock.EmitWithAck(actx, "chat", m.room, m.id, seq)
	if m.leaving.Load() {
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			w.fail.add("ack lost", fmt.Sprintf("%s seq %d: %v", m.id, seq, err))
		}
		return
	}
	var got int64
	if reply.Decode(&got) != nil || got != seq {
		w.fail.add("wrong ack", fmt.Sprintf("%s seq %d: %v", m.id, seq, reply.Args()))
		return
	}
	w.acks.Add(1)
	m.acked.Store(seq)
}

func (w *world) pick(r *rand.Rand) (int, *member) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := r.IntN(len(w.members))
	return i, w.members[i]
}

// sample is one reading of the server process.
type sample struct {
	at         time.Duration
	rssKB      int64
	fds        int64
	goroutines int64
}

func readSample(pid int, statsURL string, start time.Time) (sample, error) {
	s := sample{at: time.Since(start)}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.rssKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = int64(len(fds))
	resp, err := http.Get(statsURL)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	var st struct{ Goroutines int64 }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return s, err
	}
	s.goroutines = st.Goroutines
	return s, nil
}

func startServer(t *testing.T) (addr string, pid int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"=1", addrEnv+"="+addr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		for sc.Scan() {
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("soak server did not start")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("soak server not ready after 60s")
	}
	return addr, cmd.Process.Pid
}

func TestSoak(t *testing.T) {
	p := paramsFromEnv(t)
	addr, pid := startServer(t)
	w := &world{url: "http://" + addr, rooms: max(1, p.clients/10), fail: &failures{}}
	hostile := max(1, p.clients/100)
	good := p.clients - hostile
	t.Logf("soak: %d clients (%d hostile), %d rooms, %.0f chats/s, %.0f replacements/s, %v",
		p.clients, hostile, w.rooms, p.rate, p.churn, p.duration)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Connect every well-behaved client, 200 at a time.
	start := time.Now()
	w.members = make([]*member, good)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	var connectErr atomic.Value
	for i := range w.members {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
			defer ccancel()
			m, err := w.connect(cctx, i)
			if err != nil {
				connectErr.CompareAndSwap(nil, err)
				return
			}
			w.mu.Lock()
			w.members[i] = m
			w.mu.Unlock()
		}()
	}
	wg.Wait()
	if err, _ := connectErr.Load().(error); err != nil {
		t.Fatalf("connecting %d clients: %v", good, err)
	}
	t.Logf("connected %d clients in %v", good, time.Since(start).Round(time.Millisecond))

	var garb garbageStats
	var bg sync.WaitGroup
	for i := 0; i < hostile; i++ {
		bg.Add(1)
		go func() { defer bg.Done(); runGarbage(ctx, addr, i, 3*time.Second, &garb) }()
	}

	// Chat at p.rate: a ticker every 10 ms sends rate/100 messages from
	// random members, each on a goroutine of its own (bounded).
	sendCtx, stopSending := context.WithCancel(ctx)
	inflight := make(chan struct{}, 2000)
	var chatWG sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		r := rand.New(rand.NewPCG(1, 2))
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		owed := 0.0
		for {
			select {
			case <-sendCtx.Done():
				return
			case <-tick.C:
			}
			for owed += p.rate / 100; owed >= 1; owed-- {
				_, m := w.pick(r)
				if m == nil {
					continue
				}
				select {
				case inflight <- struct{}{}:
				default:
					w.fail.add("sender backlog", "2000 chats awaiting their acks")
					continue
				}
				chatWG.Add(1)
				go func() { defer func() { <-inflight; chatWG.Done() }(); w.chat(sendCtx, m) }()
			}
		}
	}()

	// Replace members at p.churn: disconnect one, connect a new one in its
	// slot.
	bg.Add(1)
	go func() {
		defer bg.Done()
		if p.churn <= 0 {
			return
		}
		r := rand.New(rand.NewPCG(3, 4))
		tick := time.NewTicker(time.Duration(float64(time.Second) / p.churn))
		defer tick.Stop()
		for {
			select {
			case <-sendCtx.Done():
				return
			case <-tick.C:
			}
			i, m := w.pick(r)
			if m == nil {
				continue
			}
			w.mu.Lock()
			w.members[i] = nil
			w.mu.Unlock()
			chatWG.Add(1)
			go func() {
				defer chatWG.Done()
				m.sending.Lock() // let its chat in flight finish first
				m.leave()
				m.sending.Unlock()
				cctx, ccancel := context.WithTimeout(sendCtx, 60*time.Second)
				defer ccancel()
				n, err := w.connect(cctx, i)
				if err != nil {
					if sendCtx.Err() == nil {
						w.fail.add("reconnect failed", err.Error())
					}
					return
				}
				w.mu.Lock()
				w.members[i] = n
				w.mu.Unlock()
				w.replaced.Add(1)
			}()
		}
	}()

	// Sample the server every 2 s for the run's duration.
	runStart := time.Now()
	var samples []sample
	statsURL := "http://" + addr + "/stats"
	for time.Since(runStart) < p.duration {
		time.Sleep(2 * time.Second) // the sampling period, not a synchronisation
		s, err := readSample(pid, statsURL, runStart)
		if err != nil {
			t.Fatalf("sampling the server: %v", err)
		}
		samples = append(samples, s)
		t.Logf("t=%3.0fs rss=%6d KB fds=%5d goroutines=%4d chats=%d acks=%d deliveries=%d replaced=%d garbage=%d/%d",
			s.at.Seconds(), s.rssKB, s.fds, s.goroutines, w.chats.Load(), w.acks.Load(),
			w.deliveries.Load(), w.replaced.Load(), garb.answered.Load(), garb.sent.Load())
	}

	// Stop, let every chat in flight be acked, then check the receivers.
	stopSending()
	chatWG.Wait()
	cancel()
	bg.Wait()
	checkTails(t, w)

	w.mu.Lock()
	for _, m := range w.members {
		if m != nil {
			m.leave()
		}
	}
	w.mu.Unlock()

	w.fail.mu.Lock()
	for k, n := range w.fail.kinds {
		t.Errorf("%d × %s", n, k)
	}
	for _, d := range w.fail.first {
		t.Log("  ", d)
	}
	w.fail.mu.Unlock()
	if w.acks.Load() == 0 || w.deliveries.Load() == 0 {
		t.Errorf("no traffic: %d acks, %d deliveries", w.acks.Load(), w.deliveries.Load())
	}
	if garb.sent.Load() == 0 {
		t.Error("the hostile clients sent nothing")
	}
	if n := garb.timedOut.Load(); n > 0 {
		t.Errorf("%d of %d hostile connections were not ended by the server: %v", n, garb.sent.Load(), garb.open)
	}
	checkFlat(t, samples, p.duration)
}

// checkTails waits until every member has received the last acknowledged
// message of each sender it has heard from: a message lost at the end of a
// sender's stream shows no gap, only a short tail.
func checkTails(t *testing.T, w *world) {
	byID := map[string]*member{}
	w.mu.Lock()
	live := make([]*member, 0, len(w.members))
	for _, m := range w.members {
		if m != nil {
			live = append(live, m)
			byID[m.id] = m
		}
	}
	w.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for {
		short := 0
		var example string
		for _, r := range live {
			r.mu.Lock()
			for from, last := range r.seen {
				if s := byID[from]; s != nil && last < s.acked.Load() {
					short++
					example = fmt.Sprintf("%s has %d of %s's %d", r.id, last, from, s.acked.Load())
				}
			}
			r.mu.Unlock()
		}
		if short == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d receivers are missing the last messages of a sender, e.g. %s", short, example)
			return
		}
		time.Sleep(100 * time.Millisecond) // polling for convergence, bounded by the deadline
	}
}

// checkFlat compares the median of the samples in the quarter after the
// warm-up (the first quarter) with the median of the last quarter: each
// resource may grow by at most 10%, plus a small absolute allowance for
// small counts. Medians, because the worker pool's goroutines rise and fall
// with bursts of events; a leak moves the median, a burst does not.
func checkFlat(t *testing.T, samples []sample, d time.Duration) {
	median := func(from, to time.Duration, f func(sample) int64) (float64, int) {
		var vs []int64
		for _, s := range samples {
			if s.at > from && s.at <= to {
				vs = append(vs, f(s))
			}
		}
		if len(vs) == 0 {
			return 0, 0
		}
		slices.Sort(vs)
		return float64(vs[len(vs)/2]), len(vs)
	}
	for _, r := range []struct {
		name  string
		get   func(sample) int64
		slack float64
	}{
		{"RSS (KB)", func(s sample) int64 { return s.rssKB }, 2048},
		{"open files", func(s sample) int64 { return s.fds }, 20},
		{"goroutines", func(s sample) int64 { return s.goroutines }, 20},
	} {
		base, n1 := median(d/4, d/2, r.get)
		end, n2 := median(d*3/4, d, r.get)
		if n1 == 0 || n2 == 0 {
			t.Errorf("%s: too few samples (%d, %d)", r.name, n1, n2)
			continue
		}
		t.Logf("%s: median %.0f after warm-up, %.0f at the end (%+.1f%%)", r.name, base, end, 100*(end-base)/base)
		if end > base*1.10+r.slack {
			t.Errorf("%s grew from %.0f to %.0f", r.name, base, end)
		}
	}
}
