package interop_test

// Faults in a mixed classic cluster: Redis killed and restarted under
// traffic, a Go node that hangs (still subscribed, silent) and then dies, a
// Node node stopped (SIGSTOP) and then killed (SIGKILL). N is a Node node,
// G1 and G2 Go nodes; G2 reaches Redis through a tcpProxy so that it can
// hang and die in-process.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redis"
	"github.com/sioloop/sioloop/internal/redistest"
)

// faultTimeout is requestsTimeout in the faults cluster (ms): what a request
// waits for a node that does not answer.
const faultTimeout = 1500

// traffic broadcasts "tick" events from a Go node to a room every 10 ms,
// timing each Emit call.
type traffic struct {
	n    *goNode
	room string

	mu   sync.Mutex
	seq  int             // guarded by mu; ticks emitted
	took []time.Duration // guarded by mu; took[i] = tick i+1's Emit

	stop, done chan struct{}
	halted     sync.Once
}

func startTraffic(n *goNode, room string) *traffic {
	tr := &traffic{n: n, room: room, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tr.stop:
				return
			case <-tick.C:
			}
			tr.mu.Lock()
			tr.seq++
			seq := tr.seq
			tr.mu.Unlock()
			start := time.Now()
			n.srv.To(room).Emit("tick", map[string]any{"tag": "tick", "seq": seq})
			took := time.Since(start)
			tr.mu.Lock()
			tr.took = append(tr.took, took)
			tr.mu.Unlock()
		}
	}()
	return tr
}

// last is the sequence number of the last tick emitted (or being emitted).
func (tr *traffic) last() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.seq
}

func (tr *traffic) halt() {
	tr.halted.Do(func() { close(tr.stop) })
	<-tr.done
}

// emitTimes returns the Emit durations of ticks from..to (inclusive),
// sorted.
func (tr *traffic) emitTimes(from, to int) []time.Duration {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	from, to = max(from, 1), min(to, len(tr.took))
	if from > to {
		return nil
	}
	out := slices.Clone(tr.took[from-1 : to])
	slices.Sort(out)
	return out
}

// tickFrom matches client's ticks numbered at least seq.
func tickFrom(client string, seq int) func(clusterEvent) bool {
	return func(e clusterEvent) bool {
		if e.Event != "message" || e.Client != client || e.Name != "tick" || len(e.Args) == 0 {
			return false
		}
		var p struct {
			Seq int `json:"seq"`
		}
		return json.Unmarshal(e.Args[0], &p) == nil && p.Seq >= seq
	}
}

// eventually polls cond every 20 ms until it holds, for states no event
// announces (PUBSUB NUMSUB).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, stepTimeout)
		}
		<-tick.C
	}
}

func serverCountIs(n clusterNode, want int) func() bool {
	return func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
		defer cancel()
		got, err := n.ServerCount(ctx, "/")
		return err == nil && got == want
	}
}

func TestMixedClusterFaults(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	rs := redistest.Start(t)
	spec := redisSpec{URL: rs.URL()}
	opts := map[string]any{"requestsTimeout": faultTimeout}
	ncfg := nodeConfig{Name: "N", Adapter: "classic", Redis: spec, Options: opts}
	procs, lines := startJSAll(t, jsSpec{"clients", "cluster-clients.mjs", nil}, nodeSpec(ncfg))
	N := newNodeProc(t, ncfg, procs[1], lines[1])
	G1 := startGoNodeWith(t, nodeConfig{Name: "G1", Redis: spec, Options: opts}, goNodeOptions{})
	G2 := startGoNodeWith(t, nodeConfig{Name: "G2", Redis: spec, Options: opts}, goNodeOptions{proxy: true})
	c := &nodeCluster{
		nodes:   []clusterNode{N, G1, G2},
		clients: &clientsProc{p: procs[0]},
		sid:     map[string]string{},
		home:    map[string]int{},
		online:  map[string]bool{},
	}
	for _, cl := range []clusterClient{
		{name: "n1", node: 0, rooms: []string{"r"}, transports: []string{"websocket"}},
		{name: "g1a", node: 1, rooms: []string{"r"}, transports: []string{"websocket"}},
		{name: "g1b", node: 1, rooms: []string{"r"}, transports: []string{"polling"}},
		{name: "g2a", node: 2, rooms: []string{"r"}, transports: []string{"websocket"}},
	} {
		if _, err := c.connect(cl, c.nodes[cl.node].URL()); err != nil {
			t.Fatal(err)
		}
	}
	everyone := []string{"n1", "g1a", "g1b", "g2a"}
	log := c.clients.Events()

	t.Run("redisRestart", func(t *testing.T) {
		ctx := stepCtx(t)
		tr := startTraffic(G1, "r")
		defer tr.halt()
		for _, cl := range everyone {
			waitFor(t, log, cl+" to get G1's ticks", tickFrom(cl, 1))
		}
		dropped0 := G1.redis.Stats().DroppedPublishes
		seqBeforeKill := tr.last()
		rs.Kill()
		killed, seqKilled := time.Now(), tr.last()

		// Local delivery goes on: G1's own clients get ticks sent after
		// Redis died, the polling one included.
		for _, cl := range []string{"g1a", "g1b"} {
			waitFor(t, log, cl+" to get ticks while Redis is down", tickFrom(cl, seqKilled+5))
		}
		waitFor(t, G1.logs, "G1 to log its dropped publishes", logged("redisbus: publish dropped messages"))

		// Emit from any goroutine, and from a handler, returns at once.
		tag := c.tag("direct")
		start := time.Now()
		if err := G1.srv.To("r").Emit("news", payload(tag)); err != nil {
			t.Fatal(err)
		}
		direct := time.Since(start)
		c.waitClient(t, "g1b", "news", tag)
		tag = c.tag("bc-down")
		start = time.Now()
		if _, err := c.clients.emitWithAck(ctx, 10000, "g1a", "broadcast", map[string]any{"to": []string{"r"}, "event": "bc", "args": []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		handlerRTT := time.Since(start)
		c.waitClient(t, "g1b", "bc", tag)
		// Requests: fetchSockets answers with G1's sockets and an error at
		// once; a broadcast with acks gathers the local answers and ends at
		// its timeout (the server count is unknown).
		start = time.Now()
		socks, err := G1.FetchSockets(ctx, target{}, 0)
		fetchTook := time.Since(start)
		// (rueidis retries the read-only NUMSUB with a backoff as long as
		// the next try fits in the request's deadline: it fails within it.)
		if err == nil || !slices.Equal(socketIDs(socks), c.sids("g1a", "g1b")) || fetchTook > faultTimeout*time.Millisecond+2*time.Second {
			t.Errorf("G1: fetchSockets while Redis is down: %v, %v after %v; want G1's sockets and an error by the timeout", socketIDs(socks), err, fetchTook)
		}
		// socketsJoin: the publish fails, G1's own sockets join at once
		// (a Node node applies its own only when Redis echoes it).
		if err := G1.SocketsJoin(ctx, target{To: []string{"r"}}, "joined-while-down"); err == nil {
			t.Error("G1: socketsJoin while Redis is down did not fail")
		}
		c.waitRoom(t, "join", "joined-while-down", "g1a", "g1b")
		// A Node node's emit while Redis is down: delivered locally at
		// once; node-redis queues the PUBLISH and sends it on reconnection
		// (where sioloop drops and counts it). Its Emit answers once
		// node-redis is back.
		tagN := c.tag("node-down")
		nodeEmitted := make(chan error, 1)
		go func() {
			nodeEmitted <- N.Emit(ctx, emitReq{target: target{To: []string{"r"}}, Event: "news", Args: []any{payload(tagN)}})
		}()
		c.waitClient(t, "n1", "news", tagN)
		res, err := G1.EmitWithAck(ctx, emitReq{target: target{To: []string{"r"}}, Event: "ask", Args: []any{payload(c.tag("ask"))}, Timeout: 1000})
		if got := ackClients(t, res, "ask"); err != nil || res.Err != "operation has timed out" || !slices.Equal(got, []string{"g1a", "g1b"}) {
			t.Errorf("G1: emitWithAck while Redis is down: %+v (%v), answers %v; want the timeout and g1a, g1b", res, err, got)
		}

		seqRestart := tr.last()
		rs.Restart()
		restarted := time.Now()
		for _, g := range []*goNode{G1, G2} {
			e := waitFor(t, g.logs, g.name+" to resubscribe", func(e clusterEvent) bool {
				return logged("redisbus: subscriber reconnected")(e) && e.At.After(killed)
			})
			t.Logf("%s resubscribed %v after the restart (%s)", g.name, e.At.Sub(restarted).Round(time.Millisecond), e.Reason)
		}
		up := waitFor(t, G1.logs, "G1 to publish again", func(e clusterEvent) bool {
			return logged("redisbus: publishing again")(e) && e.At.After(killed)
		})
		seqUp := tr.last()
		t.Logf("G1 publishing again %v after the restart", up.At.Sub(restarted).Round(time.Millisecond))
		// Cross-node again: G1's ticks reach the other nodes' clients.
		waitFor(t, log, "g2a to get G1's ticks after the restart", tickFrom("g2a", seqUp+1))
		// Node's node-redis resubscribes too (counted again), in its own time.
		eventually(t, "N, G1 and G2 counted again", serverCountIs(G1, 3))
		waitFor(t, log, "n1 to get G1's ticks after the restart", tickFrom("n1", tr.last()+1))
		// G2 was idle all along: its first broadcast gets through.
		tag = c.tag("after-restart")
		if err := G2.Emit(ctx, emitReq{target: target{To: []string{"r"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		for _, cl := range everyone {
			c.waitClient(t, cl, "news", tag)
		}
		tr.halt()
		if err := <-nodeEmitted; err != nil {
			t.Fatal(err)
		}
		f := c.tag("fence")
		if err := N.Emit(ctx, emitReq{target: target{To: []string{"r"}}, Event: "fence", Args: []any{payload(f)}}); err != nil {
			t.Fatal(err)
		}
		late := 0
		for _, cl := range []string{"g1a", "g1b", "g2a"} {
			c.waitClient(t, cl, "fence", f)
			late += log.count(got(cl, "news", tagN))
		}
		t.Logf("N's emit made while Redis was down (queued by node-redis, published on its reconnection) reached %d of the Go nodes' 3 clients", late)

		dropped := G1.redis.Stats().DroppedPublishes - dropped0
		// Every broadcast made while Redis was dead is counted, and
		// nothing else: at most the ticks from just before the kill to
		// the first successful batch, plus the three other publishes
		// above (the direct emit, the handler's, the ack request).
		// (The last tick before the restart may run its Emit after it.)
		// A few more may be dropped while the reconnected bus waits for
		// its first PING (an answer to a request or a tick sampled
		// late: 361 for a bound of 360 once on a loaded fresh clone),
		// so the upper bound has a small slack; a broadcast that was not
		// counted would still fail the lower one.
		lo, hi := seqRestart-seqKilled-1, seqUp-seqBeforeKill+3+5
		if dropped < uint64(lo) || dropped > uint64(hi) {
			t.Errorf("G1 counted %d dropped publishes, want %d..%d", dropped, lo, hi)
		}
		times := tr.emitTimes(seqKilled+1, seqRestart)
		if len(times) == 0 {
			t.Fatal("no tick while Redis was down")
		}
		p50, worst := times[len(times)/2], times[len(times)-1]
		// Blocking on Redis would take its dial or command timeout (5 s, 10 s).
		if worst > 2*time.Second || direct > 2*time.Second || handlerRTT > 5*time.Second {
			t.Errorf("emits while Redis was down took up to %v (direct %v, a client's broadcast request %v)", worst, direct, handlerRTT)
		}
		t.Logf("Redis down %v: %d ticks, %d dropped publishes counted; Emit p50 %v max %v; direct Emit %v; handler broadcast round trip %v; fetchSockets %v",
			restarted.Sub(killed).Round(time.Millisecond), seqRestart-seqKilled, dropped, p50, worst, direct, handlerRTT.Round(time.Millisecond), fetchTook.Round(time.Millisecond))
		if st := G1.redis.Stats(); st.Malformed != 0 {
			t.Errorf("G1 stats %+v", st)
		}
	})

	// concurrently runs fs at once and waits for all.
	concurrently := func(fs ...func()) {
		var wg sync.WaitGroup
		for _, f := range fs {
			wg.Add(1)
			go func() { defer wg.Done(); f() }()
		}
		wg.Wait()
	}
	type outcome struct {
		socks []remoteSocket
		res   ackResult
		err   error
		took  time.Duration
	}
	timed := func(o *outcome, f func() ([]remoteSocket, ackResult, error)) func() {
		return func() {
			start := time.Now()
			o.socks, o.res, o.err = f()
			o.took = time.Since(start)
		}
	}
	fetch := func(n clusterNode) func() ([]remoteSocket, ackResult, error) {
		return func() ([]remoteSocket, ackResult, error) {
			s, err := n.FetchSockets(stepCtx(t), target{}, 0)
			return s, ackResult{}, err
		}
	}
	sse := func(n clusterNode) func() ([]remoteSocket, ackResult, error) {
		return func() ([]remoteSocket, ackResult, error) {
			r, err := n.ServerSideEmitWithAck(stepCtx(t), "/", "sse", payload(c.tag("sse")))
			return nil, r, err
		}
	}
	ask := func(n clusterNode) func() ([]remoteSocket, ackResult, error) {
		return func() ([]remoteSocket, ackResult, error) {
			r, err := n.EmitWithAck(stepCtx(t), emitReq{target: target{To: []string{"r"}}, Event: "ask", Args: []any{payload(c.tag("ask"))}, Timeout: faultTimeout})
			return nil, r, err
		}
	}
	sseFrom := func(t *testing.T, res ackResult) []string {
		var out []string
		for _, r := range res.Responses {
			var a struct {
				Node string `json:"node"`
			}
			json.Unmarshal(r, &a)
			out = append(out, a.Node)
		}
		sort.Strings(out)
		return out
	}
	// atTimeout checks that a request waited for the silent node, and no
	// longer than needed.
	atTimeout := func(t *testing.T, what string, o outcome) {
		t.Helper()
		if o.took < faultTimeout*time.Millisecond*9/10 || o.took > faultTimeout*time.Millisecond+5*time.Second {
			t.Errorf("%s returned after %v, want about %d ms", what, o.took, faultTimeout)
		}
	}
	prompt := func(t *testing.T, what string, o outcome) {
		t.Helper()
		if o.took >= faultTimeout*time.Millisecond {
			t.Errorf("%s took %v: it waited for a node that is gone", what, o.took)
		}
	}

	t.Run("goNodeHangsThenDies", func(t *testing.T) {
		G2.proxy.Freeze()
		if !serverCountIs(G1, 3)() {
			t.Fatal("G2 frozen: not counted any more")
		}
		var fsG1, sseG1, askG1, fsN, sseN, askN outcome
		concurrently(timed(&fsG1, fetch(G1)), timed(&sseG1, sse(G1)), timed(&askG1, ask(G1)),
			timed(&fsN, fetch(N)), timed(&sseN, sse(N)), timed(&askN, ask(N)))

		var te *redis.TimeoutError
		if !errors.As(fsG1.err, &te) || fsG1.err.Error() != "timeout reached while waiting for fetchSockets response" ||
			!slices.Equal(socketIDs(fsG1.socks), c.sids("n1", "g1a", "g1b")) {
			t.Errorf("G1: fetchSockets with G2 hung: %v, %v; want N's and G1's sockets and a TimeoutError", socketIDs(fsG1.socks), fsG1.err)
		}
		atTimeout(t, "G1: fetchSockets", fsG1)
		if sseG1.res.Err != "timeout reached: only 1 responses received out of 2" || !slices.Equal(sseFrom(t, sseG1.res), []string{"N"}) {
			t.Errorf("G1: serverSideEmit with G2 hung: %+v", sseG1.res)
		}
		atTimeout(t, "G1: serverSideEmit", sseG1)
		if got := ackClients(t, askG1.res, "ask"); askG1.res.Err != "operation has timed out" || !slices.Equal(got, []string{"g1a", "g1b", "n1"}) {
			t.Errorf("G1: emitWithAck with G2 hung: %+v, answers %v", askG1.res, got)
		}
		atTimeout(t, "G1: emitWithAck", askG1)
		// The Node node: its fetchSockets rejects (no partial answer), the
		// others give what came.
		var je *jsError
		if !errors.As(fsN.err, &je) || je.Msg != "timeout reached while waiting for fetchSockets response" {
			t.Errorf("N: fetchSockets with G2 hung: %v, %v", socketIDs(fsN.socks), fsN.err)
		}
		if sseN.res.Err != "timeout reached: only 1 responses received out of 2" || !slices.Equal(sseFrom(t, sseN.res), []string{"G1"}) {
			t.Errorf("N: serverSideEmit with G2 hung: %+v", sseN.res)
		}
		if got := ackClients(t, askN.res, "ask"); askN.res.Err != "operation has timed out" || !slices.Equal(got, []string{"g1a", "g1b", "n1"}) {
			t.Errorf("N: emitWithAck with G2 hung: %+v, answers %v", askN.res, got)
		}

		// G2 dies: Redis drops its subscriptions with its connections.
		G2.proxy.Cut()
		c.setOffline("g2a")
		eventually(t, "G2 no longer counted", serverCountIs(G1, 2))
		concurrently(timed(&fsG1, fetch(G1)), timed(&sseG1, sse(G1)), timed(&askG1, ask(G1)), timed(&fsN, fetch(N)))
		if fsG1.err != nil || !slices.Equal(socketIDs(fsG1.socks), c.sids("n1", "g1a", "g1b")) {
			t.Errorf("G1: fetchSockets with G2 gone: %v, %v", socketIDs(fsG1.socks), fsG1.err)
		}
		prompt(t, "G1: fetchSockets", fsG1)
		if sseG1.err != nil || sseG1.res.Err != "" || !slices.Equal(sseFrom(t, sseG1.res), []string{"N"}) {
			t.Errorf("G1: serverSideEmit with G2 gone: %+v, %v", sseG1.res, sseG1.err)
		}
		prompt(t, "G1: serverSideEmit", sseG1)
		if got := ackClients(t, askG1.res, "ask"); askG1.res.Err != "" || !slices.Equal(got, []string{"g1a", "g1b", "n1"}) {
			t.Errorf("G1: emitWithAck with G2 gone: %+v, answers %v", askG1.res, got)
		}
		prompt(t, "G1: emitWithAck", askG1)
		if fsN.err != nil || !slices.Equal(socketIDs(fsN.socks), c.sids("n1", "g1a", "g1b")) {
			t.Errorf("N: fetchSockets with G2 gone: %v, %v", socketIDs(fsN.socks), fsN.err)
		}
	})

	t.Run("nodeNodeStoppedThenKilled", func(t *testing.T) {
		if err := N.p.signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		var fsG1, sseG1, askG1 outcome
		concurrently(timed(&fsG1, fetch(G1)), timed(&sseG1, sse(G1)), timed(&askG1, ask(G1)))
		if !errors.Is(fsG1.err, redis.ErrTimeout) || !slices.Equal(socketIDs(fsG1.socks), c.sids("g1a", "g1b")) {
			t.Errorf("G1: fetchSockets with N stopped: %v, %v", socketIDs(fsG1.socks), fsG1.err)
		}
		atTimeout(t, "G1: fetchSockets", fsG1)
		if sseG1.res.Err != "timeout reached: only 0 responses received out of 1" || len(sseG1.res.Responses) != 0 {
			t.Errorf("G1: serverSideEmit with N stopped: %+v", sseG1.res)
		}
		atTimeout(t, "G1: serverSideEmit", sseG1)
		if got := ackClients(t, askG1.res, "ask"); askG1.res.Err != "operation has timed out" || !slices.Equal(got, []string{"g1a", "g1b"}) {
			t.Errorf("G1: emitWithAck with N stopped: %+v, answers %v", askG1.res, got)
		}
		atTimeout(t, "G1: emitWithAck", askG1)

		N.p.kill()
		c.setOffline("n1")
		eventually(t, "N no longer counted", serverCountIs(G1, 1))
		concurrently(timed(&fsG1, fetch(G1)), timed(&sseG1, sse(G1)), timed(&askG1, ask(G1)))
		if fsG1.err != nil || !slices.Equal(socketIDs(fsG1.socks), c.sids("g1a", "g1b")) {
			t.Errorf("G1: fetchSockets alone: %v, %v", socketIDs(fsG1.socks), fsG1.err)
		}
		prompt(t, "G1: fetchSockets", fsG1)
		if sseG1.res.Err != "" || len(sseG1.res.Responses) != 0 {
			t.Errorf("G1: serverSideEmit alone: %+v", sseG1.res)
		}
		prompt(t, "G1: serverSideEmit", sseG1)
		if got := ackClients(t, askG1.res, "ask"); askG1.res.Err != "" || !slices.Equal(got, []string{"g1a", "g1b"}) {
			t.Errorf("G1: emitWithAck alone: %+v, answers %v", askG1.res, got)
		}
		prompt(t, "G1: emitWithAck", askG1)
	})
}
