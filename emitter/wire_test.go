package emitter_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/emitter"
	"github.com/sioloop/sioloop/internal/redisbus"
	"github.com/sioloop/sioloop/internal/redistest"
)

var update = flag.Bool("update", false, "rewrite testdata/node-emitter.jsonl from the real Node emitter")

const goldenPath = "testdata/node-emitter.jsonl"

// wireCase is one case of testdata/cases.json (its format is described in
// testdata/record.mjs).
type wireCase struct {
	Name  string              `json:"name"`
	Key   string              `json:"key"`
	Chain [][]json.RawMessage `json:"chain"`
	Do    string              `json:"do"`
	Event string              `json:"event"`
	Args  []json.RawMessage   `json:"args"`
	Rooms []string            `json:"rooms"`
	Close bool                `json:"close"`
}

func loadCases(t *testing.T) []wireCase {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []wireCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// goValue turns a case's JSON value into the Go value a program would
// pass: integers as int64, other numbers as float64, {"$bin"} and
// {"$binRepeat"} as []byte, {"$repeat"} as a string, objects as
// map[string]any (written with sorted keys; record.mjs sorts the JS
// objects' keys likewise).
func goValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return convert(t, v)
}

func convert(t *testing.T, v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil {
			t.Fatal(err)
		}
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = convert(t, e)
		}
		return out
	case map[string]any:
		if b, ok := x["$bin"].(string); ok {
			data, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
		if n, ok := x["n"].(json.Number); ok {
			count, _ := n.Int64()
			if s, ok := x["$repeat"].(string); ok {
				return strings.Repeat(s, int(count))
			}
			if b, ok := x["$binRepeat"].(json.Number); ok {
				c, _ := b.Int64()
				return bytes.Repeat([]byte{byte(c)}, int(count))
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = convert(t, e)
		}
		return out
	}
	return v
}

// run performs c with the Go emitter of its key.
func (c wireCase) run(t *testing.T, ctx context.Context, emitters func(key string) *emitter.Emitter) error {
	t.Helper()
	e := emitters(c.Key)
	chain := c.Chain
	if len(chain) > 0 && unquote(t, chain[0][0]) == "of" {
		e = e.Of(unquote(t, chain[0][1]))
		chain = chain[1:]
	}
	op := e.To()
	for _, step := range chain {
		switch m := unquote(t, step[0]); m {
		case "to", "in", "except":
			var rooms []string
			if err := json.Unmarshal(step[1], &rooms); err != nil {
				t.Fatal(err)
			}
			switch m {
			case "to":
				op = op.To(rooms...)
			case "in":
				op = op.In(rooms...)
			default:
				op = op.Except(rooms...)
			}
		case "volatile":
			op = op.Volatile()
		case "compress":
			var b bool
			if err := json.Unmarshal(step[1], &b); err != nil {
				t.Fatal(err)
			}
			op = op.Compress(b)
		default:
			t.Fatalf("case %s: unknown chain method %q", c.Name, m)
		}
	}
	args := make([]any, len(c.Args))
	for i, a := range c.Args {
		args[i] = goValue(t, a)
	}
	switch c.Do {
	case "emit":
		return op.Emit(c.Event, args...)
	case "socketsJoin":
		return op.SocketsJoin(ctx, c.Rooms...)
	case "socketsLeave":
		return op.SocketsLeave(ctx, c.Rooms...)
	case "disconnectSockets":
		return op.DisconnectSockets(ctx, c.Close)
	case "serverSideEmit":
		return e.ServerSideEmit(ctx, c.Event, args...)
	}
	t.Fatalf("case %s: unknown do %q", c.Name, c.Do)
	return nil
}

func unquote(t *testing.T, raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// published is one message as a subscriber got it.
type published struct {
	channel string
	payload []byte
}

// recorder subscribes to every channel of a Redis server (PSUBSCRIBE *)
// and keeps what arrives, in order.
type recorder struct {
	mu   sync.Mutex
	msgs []published   // guarded by mu
	more chan struct{} // guarded by mu; closed and replaced on each message
}

func newRecorder(t *testing.T, addr string) *recorder {
	t.Helper()
	r := &recorder{more: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bus, err := redisbus.New(ctx, redisbus.Options{
		Addrs: []string{addr},
		Handler: func(_ redisbus.Kind, channel, _ string, payload []byte) {
			r.mu.Lock()
			r.msgs = append(r.msgs, published{channel, bytes.Clone(payload)})
			close(r.more)
			r.more = make(chan struct{})
			r.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	bus.PSubscribe("*")
	if err := bus.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// wait returns the messages once there are at least n.
func (r *recorder) wait(t *testing.T, n int) []published {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		got, more := append([]published(nil), r.msgs...), r.more
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("recorded %d messages, want %d", len(got), n)
		}
	}
}

// golden is one line of testdata/node-emitter.jsonl: what the Node emitter
// published for a case. Payloads over 4 KiB are kept as their length and
// SHA-256 only.
type golden struct {
	Case    string `json:"case"`
	Channel string `json:"channel"`
	Len     int    `json:"len"`
	SHA256  string `json:"sha256"`
	Payload []byte `json:"payload,omitempty"`
}

func goldenOf(name string, m published) golden {
	sum := sha256.Sum256(m.payload)
	g := golden{Case: name, Channel: m.channel, Len: len(m.payload), SHA256: hex.EncodeToString(sum[:])}
	if len(m.payload) <= 4096 {
		g.Payload = m.payload
	}
	return g
}

// nodeEmitter reports whether the real Node emitter can run here: node and
// the repository's node_modules (npm ci). CI must have them.
func nodeEmitter(t *testing.T) (string, bool) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "node_modules", "@socket.io", "redis-emitter", "package.json"))
	}
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "0" && ci != "false" {
			t.Fatalf("the Node emitter is needed in CI (node, npm ci): %v", err)
		}
		return "", false
	}
	return node, true
}

// TestWireMatchesNodeEmitter runs every case of testdata/cases.json through
// the Go emitter and compares each published message (channel and payload
// bytes) with what the real Node emitter published for the same case:
// live, running testdata/record.mjs against the same Redis, when node is
// available, and always with the recording in testdata/node-emitter.jsonl.
func TestWireMatchesNodeEmitter(t *testing.T) {
	t.Parallel()
	cases := loadCases(t)
	srv := redistest.Start(t)
	rec := newRecorder(t, srv.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ems := map[string]*emitter.Emitter{}
	emitters := func(key string) *emitter.Emitter {
		if ems[key] == nil {
			em, err := emitter.New(ctx, emitter.Config{Addr: srv.Addr(), Key: key})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { em.Close() })
			ems[key] = em
		}
		return ems[key]
	}
	for _, c := range cases {
		if err := c.run(t, ctx, emitters); err != nil {
			t.Fatalf("case %s: %v", c.Name, err)
		}
		// Each case's message reaches Redis before the next case's, even
		// from another Emitter (the custom key's).
		if err := emitters(c.Key).Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	goMsgs := rec.wait(t, len(cases))
	if len(goMsgs) != len(cases) {
		t.Fatalf("the Go emitter published %d messages for %d cases", len(goMsgs), len(cases))
	}

	if node, ok := nodeEmitter(t); ok {
		cmd := exec.CommandContext(ctx, node, "testdata/record.mjs", srv.URL(), "testdata/cases.json")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || !bytes.Contains(out, []byte(fmt.Sprintf(`{"done":%d}`, len(cases)))) {
			t.Fatalf("record.mjs: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
		}
		all := rec.wait(t, 2*len(cases))
		nodeMsgs := all[len(cases):]
		if len(nodeMsgs) != len(cases) {
			t.Fatalf("the Node emitter published %d messages for %d cases", len(nodeMsgs), len(cases))
		}
		for i, c := range cases {
			compare(t, c.Name, "the Node emitter (live)", goMsgs[i], nodeMsgs[i].channel, nodeMsgs[i].payload)
		}
		if *update {
			var b bytes.Buffer
			for i, c := range cases {
				line, err := json.Marshal(goldenOf(c.Name, nodeMsgs[i]))
				if err != nil {
					t.Fatal(err)
				}
				b.Write(append(line, '\n'))
			}
			if err := os.WriteFile(goldenPath, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		t.Log("node or node_modules/@socket.io/redis-emitter missing: comparing with the recording only")
	}

	goldens := loadGolden(t)
	if len(goldens) != len(cases) {
		t.Fatalf("%s has %d lines for %d cases: run go test ./emitter -run TestWireMatchesNodeEmitter -update", goldenPath, len(goldens), len(cases))
	}
	for i, c := range cases {
		g := goldens[i]
		if g.Case != c.Name {
			t.Fatalf("%s line %d is case %q, want %q (-update)", goldenPath, i+1, g.Case, c.Name)
		}
		want := goldenOf(c.Name, goMsgs[i])
		switch {
		case want.Channel != g.Channel:
			t.Errorf("case %s: channel %q, the Node emitter's (recorded) %q", c.Name, want.Channel, g.Channel)
		case g.Payload != nil:
			compare(t, c.Name, "the Node emitter (recorded)", goMsgs[i], g.Channel, g.Payload)
		case want.Len != g.Len || want.SHA256 != g.SHA256:
			t.Errorf("case %s: payload of %d bytes, sha256 %s; the Node emitter's (recorded) %d bytes, %s", c.Name, want.Len, want.SHA256, g.Len, g.SHA256)
		}
	}
}

func loadGolden(t *testing.T) []golden {
	t.Helper()
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []golden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var g golden
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// compare reports where the Go emitter's message differs from the Node
// emitter's.
func compare(t *testing.T, name, who string, got published, channel string, payload []byte) {
	t.Helper()
	if got.channel != channel {
		t.Errorf("case %s: channel %q, %s's %q", name, got.channel, who, channel)
		return
	}
	if bytes.Equal(got.payload, payload) {
		return
	}
	i := 0
	for i < len(got.payload) && i < len(payload) && got.payload[i] == payload[i] {
		i++
	}
	from := max(0, i-16)
	t.Errorf("case %s: payloads differ at byte %d (lengths %d and %d)\n go:   %s\n node: %s", name, i, len(got.payload), len(payload),
		window(got.payload, from), window(payload, from))
}

func window(b []byte, from int) string {
	to := min(len(b), from+48)
	if from > len(b) {
		return ""
	}
	return hex.EncodeToString(b[from:to]) + fmt.Sprintf(" %q", b[from:to])
}
