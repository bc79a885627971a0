package interop_test

// The cluster harness: real Node socket.io nodes on real Redis adapters
// (js/cluster-node.mjs), real socket.io-clients (js/cluster-clients.mjs)
// and the real Redis emitter (js/cluster-emitter.mjs), each a child process
// that takes one JSON command per line on stdin and answers each with one
// line of the same id on stdout; other stdout lines are reports ("event").
// The protocol is documented at the top of js/cluster-lib.mjs and of each
// script.
//
// Tests talk to nodes through clusterNode, so that a sioloop node can take
// the place of a Node one: its implementation only has to do what the
// commands say and feed the same reports into an eventLog.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterPackages are the npm packages the cluster scripts import.
var clusterPackages = []string{
	"socket.io", "socket.io-client", "@socket.io/redis-adapter",
	"@socket.io/redis-streams-adapter", "@socket.io/redis-emitter", "redis",
}

var (
	clusterNodeOnce sync.Once
	clusterNodeErr  error
)

// requireClusterNode is requireNode plus the server-side packages of the
// cluster scripts.
func requireClusterNode(t testing.TB) string {
	t.Helper()
	node := requireNode(t)
	clusterNodeOnce.Do(func() {
		var missing []string
		for _, pkg := range clusterPackages {
			if _, err := os.Stat(filepath.Join("..", "node_modules", pkg, "package.json")); err != nil {
				missing = append(missing, "node_modules/"+pkg)
			}
		}
		if len(missing) > 0 {
			clusterNodeErr = errors.New("cluster tests need " + strings.Join(missing, ", ") + " (run npm ci at the repository root)")
		}
	})
	if clusterNodeErr != nil {
		if inCI() {
			t.Fatal(clusterNodeErr)
		}
		t.Skip(clusterNodeErr)
	}
	return node
}

// clusterEvent is one report: something a node, a client or the emitter
// saw. Which fields are set depends on Event (see the scripts' headers).
type clusterEvent struct {
	Event     string            `json:"event"`
	Node      string            `json:"node,omitempty"`
	Client    string            `json:"client,omitempty"`
	Nsp       string            `json:"nsp,omitempty"`
	Sid       string            `json:"sid,omitempty"`
	Room      string            `json:"room,omitempty"`
	Rooms     []string          `json:"rooms,omitempty"`
	Name      string            `json:"name,omitempty"`
	Args      []json.RawMessage `json:"args,omitempty"`
	Data      json.RawMessage   `json:"data,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	Message   string            `json:"message,omitempty"`
	Recovered bool              `json:"recovered,omitempty"`
	Ack       bool              `json:"ack,omitempty"`

	// Seq is the event's position in its log, from 0; At when it was added.
	Seq int       `json:"-"`
	At  time.Time `json:"-"`
	// Line is the line as printed, for failure messages.
	Line string `json:"-"`
}

func (e clusterEvent) String() string {
	if e.Line != "" {
		return e.Line
	}
	b, _ := json.Marshal(e)
	return string(b)
}

// tag returns the "tag" field of the event's first argument, which the
// tests put in every payload to tell their messages apart, or "".
func (e clusterEvent) tag() string {
	if len(e.Args) == 0 {
		return ""
	}
	var p struct {
		Tag string `json:"tag"`
	}
	if json.Unmarshal(e.Args[0], &p) != nil {
		return ""
	}
	return p.Tag
}

// eventLog keeps every report of one source in arrival order. Waiting
// scans from the first event, so an event that arrived before the wait
// started is found: there is no race between acting and starting to wait.
type eventLog struct {
	mu      sync.Mutex
	events  []clusterEvent // guarded by mu
	changed chan struct{}  // guarded by mu; closed and replaced on each change
	err     error          // guarded by mu; set once no more events will come
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

// add appends e and wakes the waiters.
func (l *eventLog) add(e clusterEvent) {
	l.mu.Lock()
	e.Seq = len(l.events)
	if e.At.IsZero() {
		e.At = time.Now()
	}
	l.events = append(l.events, e)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// end records that the source is gone; waiters that are still short of
// matches fail with err.
func (l *eventLog) end(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.mu.Unlock()
}

// filter returns the events that match.
func (l *eventLog) filter(match func(clusterEvent) bool) []clusterEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []clusterEvent
	for _, e := range l.events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// count returns how many events match.
func (l *eventLog) count(match func(clusterEvent) bool) int { return len(l.filter(match)) }

// waitN returns the first n matching events once there are n of them. It
// fails when ctx ends or the source is gone first, with what matched so far.
func (l *eventLog) waitN(ctx context.Context, n int, match func(clusterEvent) bool) ([]clusterEvent, error) {
	for {
		l.mu.Lock()
		var got []clusterEvent
		for _, e := range l.events {
			if match(e) {
				got = append(got, e)
				if len(got) == n {
					break
				}
			}
		}
		changed, err := l.changed, l.err
		l.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("%d of %d matching events, then: %w", len(got), n, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("%d of %d matching events: %w", len(got), n, ctx.Err())
		}
	}
}

// wait returns the first matching event.
func (l *eventLog) wait(ctx context.Context, match func(clusterEvent) bool) (clusterEvent, error) {
	got, err := l.waitN(ctx, 1, match)
	if err != nil {
		return clusterEvent{}, err
	}
	return got[0], nil
}

// dump renders the last n events, for failure messages.
func (l *eventLog) dump(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := max(0, len(l.events)-n)
	var b strings.Builder
	for _, e := range l.events[from:] {
		fmt.Fprintf(&b, "  %d %s\n", e.Seq, e)
	}
	return b.String()
}

// syncBuffer is a bytes.Buffer safe for a writer and readers on other
// goroutines (a child's stderr).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsError is an {"id", "error"} answer: the command failed in the script.
type jsError struct {
	Proc, Cmd, Msg string
}

func (e *jsError) Error() string { return fmt.Sprintf("%s: %s: %s", e.Proc, e.Cmd, e.Msg) }

// jsReply is one answer line.
type jsReply struct {
	Result json.RawMessage
	Err    *string
}

// jsProc is one harness script as a child process.
type jsProc struct {
	label  string
	log    *eventLog
	stderr *syncBuffer
	done   chan struct{} // closed once stdout ended and the process was reaped
	kill   func()        // SIGKILL to the process
	signal func(os.Signal) error

	writeMu sync.Mutex // serialises lines on stdin
	stdin   io.WriteCloser

	mu      sync.Mutex
	nextID  int64                  // guarded by mu
	pending map[int64]chan jsReply // guarded by mu
	exitErr error                  // guarded by mu; set before done closes
}

// jsSpec names a script to run: config is its JSON argument (none when
// nil).
type jsSpec struct {
	label, script string
	config        any
}

// startJS runs one script and waits for its {"ready":true,...} line, which
// it returns. The process is stopped when the test ends; if the test
// failed, its stderr and last reports are logged.
func startJS(t testing.TB, label, script string, config any) (*jsProc, json.RawMessage) {
	t.Helper()
	procs, lines := startJSAll(t, jsSpec{label, script, config})
	return procs[0], lines[0]
}

// startJSAll starts the scripts at once (node takes a while to load
// socket.io and the adapters) and waits until each is ready.
func startJSAll(t testing.TB, specs ...jsSpec) ([]*jsProc, []json.RawMessage) {
	t.Helper()
	node := requireClusterNode(t)
	procs := make([]*jsProc, len(specs))
	lines := make([]json.RawMessage, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i], lines[i], errs[i] = launchJS(node, s)
		}()
	}
	wg.Wait()
	// Register every cleanup before failing: a failed start must not
	// leave the others running.
	for i, p := range procs {
		if p == nil {
			continue
		}
		s := specs[i]
		t.Cleanup(func() {
			p.stop()
			if t.Failed() {
				t.Logf("%s (node %s) stderr:\n%s\nlast reports:\n%s", s.label, s.script, p.stderr.String(), p.log.dump(60))
			}
		})
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return procs, lines
}

// launchSlots bounds the scripts starting at once (launchJS).
var launchSlots = make(chan struct{}, 4)

// launchJS starts the process and waits for its ready line. On an error
// after the start, the process is stopped and its stderr is in the error.
func launchJS(node string, s jsSpec) (*jsProc, json.RawMessage, error) {
	// Loading socket.io and the adapters is CPU-bound: a score of scripts
	// starting at once on a loaded 2-core machine took each past the 30 s
	// ready deadline (TestNodeClusterSharded, with the mixed cluster tests
	// in parallel). A few at a time finish as soon, each within its own.
	launchSlots <- struct{}{}
	defer func() { <-launchSlots }()
	args := []string{filepath.Join("js", s.script)}
	if s.config != nil {
		b, err := json.Marshal(s.config)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, string(b))
	}
	cmd := exec.Command(node, args...)
	p := &jsProc{
		label:   s.label,
		log:     newEventLog(),
		stderr:  &syncBuffer{},
		done:    make(chan struct{}),
		pending: make(map[int64]chan jsReply),
		kill:    func() { cmd.Process.Kill() },
		signal:  func(sig os.Signal) error { return cmd.Process.Signal(sig) },
	}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("%s: start node %s: %w", s.label, s.script, err)
	}
	ready := make(chan json.RawMessage, 1)
	go p.read(cmd, stdout, ready)
	select {
	case line := <-ready:
		return p, line, nil
	case <-p.done:
		return nil, nil, fmt.Errorf("%s: node %s exited before it was ready: %v", s.label, s.script, p.err())
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, nil, fmt.Errorf("%s: node %s not ready within 30s\nstderr:\n%s", s.label, s.script, p.stderr.String())
	}
}

// stop closes stdin, on which the script exits by itself, and kills it
// if it is still running 3 s later.
func (p *jsProc) stop() {
	p.writeMu.Lock()
	p.stdin.Close()
	p.writeMu.Unlock()
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.kill()
		<-p.done
	}
}

// read dispatches stdout lines: answers to their callers, the ready line,
// reports into the log.
func (p *jsProc) read(cmd *exec.Cmd, stdout io.Reader, ready chan<- json.RawMessage) {
	r := bufio.NewReaderSize(stdout, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			p.dispatch(bytes.TrimSpace(line), ready)
		}
		if err != nil {
			break
		}
	}
	werr := cmd.Wait()
	exitErr := fmt.Errorf("%s exited (%v); stderr:\n%s", p.label, werr, p.stderr.String())
	p.mu.Lock()
	p.exitErr = exitErr
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, ch := range pending {
		close(ch)
	}
	p.log.end(exitErr)
	close(p.done)
}

func (p *jsProc) dispatch(line []byte, ready chan<- json.RawMessage) {
	var head struct {
		ID     *int64          `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *string         `json:"error"`
		Ready  bool            `json:"ready"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		p.log.add(clusterEvent{Event: "unparsable", Message: err.Error(), Line: string(line)})
		return
	}
	switch {
	case head.ID != nil:
		p.mu.Lock()
		ch := p.pending[*head.ID]
		delete(p.pending, *head.ID)
		p.mu.Unlock()
		if ch != nil {
			ch <- jsReply{Result: head.Result, Err: head.Error}
		}
	case head.Ready:
		select {
		case ready <- append(json.RawMessage(nil), line...):
		default:
		}
	case head.Error != nil:
		p.log.add(clusterEvent{Event: "protocol-error", Message: *head.Error, Line: string(line)})
	default:
		var e clusterEvent
		if err := json.Unmarshal(line, &e); err != nil {
			e = clusterEvent{Event: "unparsable", Message: err.Error()}
		}
		e.Line = string(line)
		p.log.add(e)
	}
}

func (p *jsProc) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// call sends command cmd with the fields of args (a struct or map that
// encodes as a JSON object, or nil) and decodes the result into out (when
// not nil). An error answer is a *jsError.
func (p *jsProc) call(ctx context.Context, cmd string, args, out any) error {
	fields := map[string]any{}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &fields); err != nil {
			return fmt.Errorf("%s: %s: arguments must be a JSON object: %w", p.label, cmd, err)
		}
	}
	ch := make(chan jsReply, 1)
	p.mu.Lock()
	if p.pending == nil {
		err := p.exitErr
		p.mu.Unlock()
		return err
	}
	p.nextID++
	id := p.nextID
	p.pending[id] = ch
	p.mu.Unlock()
	fields["id"], fields["cmd"] = id, cmd
	line, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	p.writeMu.Lock()
	_, err = p.stdin.Write(append(line, '\n'))
	p.writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %s: write: %w", p.label, cmd, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: %s: no answer: %w", p.label, cmd, p.err())
		}
		if r.Err != nil {
			return &jsError{Proc: p.label, Cmd: cmd, Msg: *r.Err}
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				return fmt.Errorf("%s: %s: result %s: %w", p.label, cmd, r.Result, err)
			}
		}
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.pending, id)
		p.mu.Unlock()
		return fmt.Errorf("%s: %s %s: %w", p.label, cmd, line, ctx.Err())
	}
}

// bin is a binary argument in the protocol's form.
func bin(b []byte) map[string]string {
	return map[string]string{"$bin": base64.StdEncoding.EncodeToString(b)}
}

// sameJSON reports whether two values encode to the same JSON value
// (object key order aside).
func sameJSON(a, b any) bool {
	norm := func(v any) any {
		var raw []byte
		switch x := v.(type) {
		case json.RawMessage:
			raw = x
		default:
			var err error
			if raw, err = json.Marshal(v); err != nil {
				return err
			}
		}
		var out any
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// ---- nodes ----

// redisSpec says which Redis a script connects to: URL for one server,
// Cluster for the root nodes of a Redis Cluster.
type redisSpec struct {
	URL     string   `json:"url,omitempty"`
	Cluster []string `json:"cluster,omitempty"`
}

// target selects sockets, as io.of(Nsp).to(To).except(Except) (.local).
type target struct {
	Nsp    string   `json:"nsp,omitempty"`
	To     []string `json:"to,omitempty"`
	Except []string `json:"except,omitempty"`
	Local  bool     `json:"local,omitempty"`
}

// emitReq is a broadcast: target, flags, event and arguments (binary as
// bin(...)). Timeout (ms) is for EmitWithAck.
type emitReq struct {
	target
	Event    string `json:"event"`
	Args     []any  `json:"args"`
	Volatile bool   `json:"volatile,omitempty"`
	Compress *bool  `json:"compress,omitempty"`
	Timeout  int    `json:"timeout,omitempty"`
}

// ackResult is what an ack callback got: Err is its error's message ("" for
// none) and Responses the answers that arrived, in arrival order.
type ackResult struct {
	Err       string            `json:"err"`
	Responses []json.RawMessage `json:"responses"`
}

// remoteSocket is one element of a fetchSockets answer.
type remoteSocket struct {
	ID        string          `json:"id"`
	Rooms     roomNames       `json:"rooms"`
	Data      json.RawMessage `json:"data"`
	Handshake struct {
		Headers map[string]any    `json:"headers"`
		Time    string            `json:"time"`
		Address string            `json:"address"`
		Xdomain bool              `json:"xdomain"`
		Secure  bool              `json:"secure"`
		Issued  int64             `json:"issued"`
		URL     string            `json:"url"`
		Query   map[string]string `json:"query"`
		Auth    json.RawMessage   `json:"auth"`
	} `json:"handshake"`
	// Local is true when the socket is on the node that was asked.
	Local bool `json:"local"`
}

// roomNames is a list of rooms; numbers (a Node socket's numeric room,
// io.to(123)) become their decimal form.
type roomNames []string

func (rs *roomNames) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(roomNames, 0, len(raw))
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) != nil {
			s = string(r)
		}
		out = append(out, s)
	}
	*rs = out
	return nil
}

// clusterNode is one Socket.IO server of a cluster as the tests see it. The
// Node implementation is nodeProc; a sioloop node will implement the same
// methods, each doing what the cluster-node.mjs command of the same name
// does, and report the same events (connection, disconnect, join, leave,
// message, serverSideEmit) into Events. Methods that publish return once
// Redis has taken the message, not once other nodes delivered it.
type clusterNode interface {
	Name() string
	// URL is the base URL clients connect to ("http://127.0.0.1:port").
	URL() string
	Events() *eventLog
	Emit(ctx context.Context, r emitReq) error
	EmitWithAck(ctx context.Context, r emitReq) (ackResult, error)
	FetchSockets(ctx context.Context, tg target, timeoutMs int) ([]remoteSocket, error)
	SocketsJoin(ctx context.Context, tg target, rooms ...string) error
	SocketsLeave(ctx context.Context, tg target, rooms ...string) error
	DisconnectSockets(ctx context.Context, tg target, close bool) error
	ServerSideEmit(ctx context.Context, nsp, event string, args ...any) error
	ServerSideEmitWithAck(ctx context.Context, nsp, event string, args ...any) (ackResult, error)
	AllRooms(ctx context.Context, nsp string) ([]string, error)
	ServerCount(ctx context.Context, nsp string) (int, error)
	Close(ctx context.Context) error
}

// broadcaster is what can send a broadcast: a node or the emitter.
type broadcaster interface {
	Emit(ctx context.Context, r emitReq) error
}

// nodeConfig is cluster-node.mjs's argument.
type nodeConfig struct {
	Name      string         `json:"name"`
	Adapter   string         `json:"adapter"` // classic, sharded, streams
	Redis     redisSpec      `json:"redis"`
	Options   map[string]any `json:"options,omitempty"`
	Nsps      []string       `json:"nsps,omitempty"`
	SSEEvents []string       `json:"sseEvents,omitempty"`
	// Recovery is connectionStateRecovery's options, false for none, nil
	// for the script's default (on for streams only).
	Recovery any            `json:"recovery,omitempty"`
	Server   map[string]any `json:"server,omitempty"`
}

// nodeProc is a clusterNode run by cluster-node.mjs.
type nodeProc struct {
	p    *jsProc
	name string
	url  string
}

var _ clusterNode = (*nodeProc)(nil)

// nodeSpec is the script run for a Node node; startJSAll returns once it
// is listening and its adapter receives what other nodes send.
func nodeSpec(cfg nodeConfig) jsSpec {
	return jsSpec{"node " + cfg.Name, "cluster-node.mjs", cfg}
}

// newNodeProc wraps a started cluster-node.mjs, given its ready line.
func newNodeProc(t testing.TB, cfg nodeConfig, p *jsProc, ready json.RawMessage) *nodeProc {
	t.Helper()
	var r struct {
		Port int `json:"port"`
	}
	if err := json.Unmarshal(ready, &r); err != nil || r.Port == 0 {
		t.Fatalf("node %s: bad ready line %s: %v", cfg.Name, ready, err)
	}
	return &nodeProc{p: p, name: cfg.Name, url: fmt.Sprintf("http://127.0.0.1:%d", r.Port)}
}

func (n *nodeProc) Name() string      { return n.name }
func (n *nodeProc) URL() string       { return n.url }
func (n *nodeProc) Events() *eventLog { return n.p.log }

func (n *nodeProc) Emit(ctx context.Context, r emitReq) error {
	return n.p.call(ctx, "emit", r, nil)
}

func (n *nodeProc) EmitWithAck(ctx context.Context, r emitReq) (ackResult, error) {
	var out ackResult
	err := n.p.call(ctx, "emitWithAck", r, &out)
	return out, err
}

func (n *nodeProc) FetchSockets(ctx context.Context, tg target, timeoutMs int) ([]remoteSocket, error) {
	var out []remoteSocket
	err := n.p.call(ctx, "fetchSockets", struct {
		target
		Timeout int `json:"timeout,omitempty"`
	}{tg, timeoutMs}, &out)
	return out, err
}

type roomsReq struct {
	target
	Rooms []string `json:"rooms"`
}

func (n *nodeProc) SocketsJoin(ctx context.Context, tg target, rooms ...string) error {
	return n.p.call(ctx, "socketsJoin", roomsReq{tg, rooms}, nil)
}

func (n *nodeProc) SocketsLeave(ctx context.Context, tg target, rooms ...string) error {
	return n.p.call(ctx, "socketsLeave", roomsReq{tg, rooms}, nil)
}

type disconnectReq struct {
	target
	Close bool `json:"close"`
}

func (n *nodeProc) DisconnectSockets(ctx context.Context, tg target, close bool) error {
	return n.p.call(ctx, "disconnectSockets", disconnectReq{tg, close}, nil)
}

type sseReq struct {
	Nsp   string `json:"nsp,omitempty"`
	Event string `json:"event"`
	Args  []any  `json:"args"`
	Ack   bool   `json:"ack,omitempty"`
}

func (n *nodeProc) ServerSideEmit(ctx context.Context, nsp, event string, args ...any) error {
	return n.p.call(ctx, "serverSideEmit", sseReq{Nsp: nsp, Event: event, Args: nonNil(args)}, nil)
}

func (n *nodeProc) ServerSideEmitWithAck(ctx context.Context, nsp, event string, args ...any) (ackResult, error) {
	var out ackResult
	err := n.p.call(ctx, "serverSideEmit", sseReq{Nsp: nsp, Event: event, Args: nonNil(args), Ack: true}, &out)
	return out, err
}

func (n *nodeProc) AllRooms(ctx context.Context, nsp string) ([]string, error) {
	var out roomNames
	err := n.p.call(ctx, "allRooms", target{Nsp: nsp}, &out)
	return out, err
}

func (n *nodeProc) ServerCount(ctx context.Context, nsp string) (int, error) {
	var out int
	err := n.p.call(ctx, "serverCount", target{Nsp: nsp}, &out)
	return out, err
}

func (n *nodeProc) Close(ctx context.Context) error {
	return n.p.call(ctx, "close", nil, nil)
}

func nonNil(args []any) []any {
	if args == nil {
		return []any{}
	}
	return args
}

// ---- clients ----

// clientSpec is one socket.io-client connection: rooms and data travel in
// the CONNECT auth, Silent lists events it never acknowledges.
type clientSpec struct {
	Name       string            `json:"name"`
	URL        string            `json:"url"`
	Nsp        string            `json:"nsp,omitempty"`
	Transports []string          `json:"transports,omitempty"`
	Rooms      []string          `json:"rooms"` // always sent, [] for none
	Data       any               `json:"data,omitempty"`
	Auth       map[string]any    `json:"auth,omitempty"`
	Query      map[string]string `json:"query,omitempty"`
	Silent     []string          `json:"silent,omitempty"`
}

// connected is the answer to connect and reconnect.
type connected struct {
	Sid       string `json:"sid"`
	Recovered bool   `json:"recovered"`
}

// clientsProc is cluster-clients.mjs (no config): any number of named
// clients.
type clientsProc struct{ p *jsProc }

func (c *clientsProc) Events() *eventLog { return c.p.log }

func (c *clientsProc) connect(ctx context.Context, s clientSpec) (connected, error) {
	var out connected
	err := c.p.call(ctx, "connect", s, &out)
	return out, err
}

type clientEmit struct {
	Name    string `json:"name"`
	Event   string `json:"event"`
	Args    []any  `json:"args"`
	Timeout int    `json:"timeout,omitempty"`
}

func (c *clientsProc) emit(ctx context.Context, name, event string, args ...any) error {
	return c.p.call(ctx, "emit", clientEmit{Name: name, Event: event, Args: nonNil(args)}, nil)
}

// emitWithAck emits from client name and returns the server's first ack
// argument, or the ack's error message.
func (c *clientsProc) emitWithAck(ctx context.Context, timeoutMs int, name, event string, args ...any) (json.RawMessage, error) {
	var out struct {
		Err      *string         `json:"err"`
		Response json.RawMessage `json:"response"`
	}
	if err := c.p.call(ctx, "emitWithAck", clientEmit{Name: name, Event: event, Args: nonNil(args), Timeout: timeoutMs}, &out); err != nil {
		return nil, err
	}
	if out.Err != nil {
		return nil, fmt.Errorf("client %s: %s ack: %s", name, event, *out.Err)
	}
	return out.Response, nil
}

type clientName struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

func (c *clientsProc) disconnect(ctx context.Context, name string) error {
	return c.p.call(ctx, "disconnect", clientName{Name: name}, nil)
}

// drop closes the client's Engine.IO connection as a network failure would
// and returns the reason its "disconnect" event gave.
func (c *clientsProc) drop(ctx context.Context, name string) (string, error) {
	var out struct {
		Reason string `json:"reason"`
	}
	err := c.p.call(ctx, "drop", clientName{Name: name}, &out)
	return out.Reason, err
}

// reconnect reconnects the same client object, to url when not empty.
func (c *clientsProc) reconnect(ctx context.Context, name, url string) (connected, error) {
	var out connected
	err := c.p.call(ctx, "reconnect", clientName{Name: name, URL: url}, &out)
	return out, err
}

// got matches the "message" reports of client for event carrying tag.
func got(client, event, tag string) func(clusterEvent) bool {
	return func(e clusterEvent) bool {
		return e.Event == "message" && e.Client == client && e.Name == event && e.tag() == tag
	}
}

// ---- emitter ----

// emitterProc is cluster-emitter.mjs (config {"redis": redisSpec}). Its
// commands answer once Redis took the PUBLISH.
type emitterProc struct{ p *jsProc }

func (e *emitterProc) Emit(ctx context.Context, r emitReq) error {
	return e.p.call(ctx, "emit", r, nil)
}

func (e *emitterProc) SocketsJoin(ctx context.Context, tg target, rooms ...string) error {
	return e.p.call(ctx, "socketsJoin", roomsReq{tg, rooms}, nil)
}

func (e *emitterProc) SocketsLeave(ctx context.Context, tg target, rooms ...string) error {
	return e.p.call(ctx, "socketsLeave", roomsReq{tg, rooms}, nil)
}

func (e *emitterProc) DisconnectSockets(ctx context.Context, tg target, close bool) error {
	return e.p.call(ctx, "disconnectSockets", disconnectReq{tg, close}, nil)
}

func (e *emitterProc) ServerSideEmit(ctx context.Context, nsp, event string, args ...any) error {
	return e.p.call(ctx, "serverSideEmit", sseReq{Nsp: nsp, Event: event, Args: nonNil(args)}, nil)
}
