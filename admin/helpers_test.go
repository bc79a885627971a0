package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/admin"
	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/internal/testutil"
	"github.com/sioloop/sioloop/loop"
	"github.com/sioloop/sioloop/sio"
)

// wait bounds every wait of these tests: generous, for a loaded machine.
const wait = 20 * time.Second

// testHash is a bcryptjs hash of "changeit", with the $2b$ prefix of the
// examples in admin-ui's README.
const testHash = "$2b$10$EZXIv/3J.h09LUCDcKbcQeyJUCQy0sD6CqzXWC/OgJkxeYxy1dvM6"

// freeAddr returns a loopback address that was free a moment ago, below
// the ephemeral port range (as the interop tests draw theirs).
func freeAddr(t testing.TB) string { return testutil.FreeAddrIn(t, 20000, 30000) }

// startServer runs srv, set up by setup and instrumented with opts, on
// event loops, and returns the instrumentation and the base URL.
func startServer(t testing.TB, cfg sio.Config, opts admin.Options, setup func(*sio.Server)) (*sio.Server, *admin.Instrumentation, string) {
	t.Helper()
	if cfg.Loops == 0 {
		cfg.Loops = 2
	}
	srv := sio.NewServer(cfg)
	if setup != nil {
		setup(srv)
	}
	in, err := admin.Instrument(srv, opts)
	if err != nil {
		t.Fatal(err)
	}
	addr, errc := testutil.ListenAndServe(t, freeAddr, srv.Ready(), wait,
		func(addr string) error { return srv.ListenAndServe(addr, nil) })
	t.Cleanup(func() {
		_ = in.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		testutil.Returned(t, errc, 10*time.Second, loop.ErrServerClosed)
	})
	return srv, in, "http://" + addr
}

// event is one event an admin client received.
type event struct {
	name string
	args []json.RawMessage
	atts [][]byte
}

// recorder is a client socket that keeps every event it receives.
type recorder struct {
	t    testing.TB
	s    *client.Socket
	mu   sync.Mutex
	evs  []event // guarded by mu
	seen int     // guarded by mu: events already returned by next
	more chan struct{}
}

// dial connects a socket to nsp with auth and records its events. The
// connection's outcome is returned.
func dial(t testing.TB, base, nsp string, auth any, transports ...string) (*recorder, error) {
	t.Helper()
	m := client.NewManager(base, client.Options{Transports: transports})
	t.Cleanup(m.Close)
	r := &recorder{t: t, s: m.Socket(nsp, client.SocketOptions{Auth: auth}), more: make(chan struct{}, 1)}
	r.s.OnAny(func(ev *client.Event) {
		args := make([]json.RawMessage, 0, ev.Len())
		for _, a := range ev.Args() {
			args = append(args, append(json.RawMessage(nil), a...))
		}
		r.mu.Lock()
		var atts [][]byte
		for _, a := range ev.Attachments() {
			atts = append(atts, append([]byte(nil), a...))
		}
		r.evs = append(r.evs, event{ev.Name, args, atts})
		r.mu.Unlock()
		select {
		case r.more <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return r, r.s.ConnectContext(ctx)
}

// mustDial is dial that fails the test when the socket is refused.
func mustDial(t testing.TB, base, nsp string, auth any, transports ...string) *recorder {
	t.Helper()
	r, err := dial(t, base, nsp, auth, transports...)
	if err != nil {
		t.Fatalf("connect %s: %v", nsp, err)
	}
	return r
}

// next returns the next event named name (after those returned before)
// for which match, if given, holds; events of other names are skipped.
func (r *recorder) next(name string, match func(args []json.RawMessage) bool) event {
	r.t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		for i := r.seen; i < len(r.evs); i++ {
			ev := r.evs[i]
			if ev.name == name && (match == nil || match(ev.args)) {
				r.seen = i + 1
				r.mu.Unlock()
				return ev
			}
		}
		names := make([]string, 0, len(r.evs))
		for _, ev := range r.evs {
			names = append(names, ev.name)
		}
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-deadline:
			r.t.Fatalf("no %s event within %v; received %v", name, wait, names)
		}
	}
}

// names lists the names of the events received so far.
func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.evs))
	for _, ev := range r.evs {
		out = append(out, ev.name)
	}
	return out
}

// str decodes a JSON string argument.
func str(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("argument %s is not a string: %v", raw, err)
	}
	return s
}

// isString reports whether argument i is the JSON string want.
func isString(args []json.RawMessage, i int, want string) bool {
	if i >= len(args) {
		return false
	}
	var s string
	return json.Unmarshal(args[i], &s) == nil && s == want
}

// keys returns the sorted keys of a JSON object.
func keys(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s is not an object: %v", raw, err)
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

// isISOTime reports whether raw is a JSON string in toISOString's form.
func isISOTime(raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", s); err != nil {
		return fmt.Errorf("timestamp %q: %v", s, err)
	}
	return nil
}
