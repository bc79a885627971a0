package redisstreams_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redisstreams"
	"github.com/sioloop/sioloop/internal/redistest"
)

// untilDelivered emits tagged broadcasts from emit, one at a time, until
// c got one of them: after a Redis restart a node's XADDs resume at its
// next retry (at most 2 s apart), and what is emitted before is delivered
// on its own node only. It returns the tag that arrived.
func untilDelivered(t *testing.T, c *wsClient, prefix string, emit func(tag string) error) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for i := 0; time.Now().Before(deadline); i++ {
		tag := prefix + strconv.Itoa(i)
		if err := emit(tag); err != nil {
			t.Fatal(err)
		}
		// Wait for this one (an event), at most a retry interval.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for time.Now().Before(deadline) {
				if c.count("news", tag) > 0 {
					return
				}
				select {
				case <-c.pkts.changedCh():
				case <-time.After(500 * time.Millisecond):
					return
				}
			}
		}()
		<-done
		if c.count("news", tag) > 0 {
			return tag
		}
	}
	t.Fatalf("client %s never got a %s broadcast", c.name, prefix)
	return ""
}

// Redis is killed and restarted empty (the stream is gone): while it is
// down each node goes on delivering its own broadcasts locally, without
// offsets; once it is back the XADDs resume and the other node's reader,
// which kept retrying from its last position, reads the new stream.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	A := startNode(t, "A", rs, nodeOpts{recovery: true})
	B := startNode(t, "B", rs, nodeOpts{recovery: true})
	a := dial(t, A, "a", map[string]any{"rooms": []string{"r"}})
	b := dial(t, B, "b", map[string]any{"rooms": []string{"r"}})
	if err := A.srv.To("r").Emit("news", "before"); err != nil {
		t.Fatal(err)
	}
	b.waitEvent(t, "news", "before", 1)

	rs.Kill()
	for i := 0; i < 3; i++ {
		if err := A.srv.To("r").Emit("news", "down-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if e := a.waitEvent(t, "news", "down-"+strconv.Itoa(i), 1)[0]; e.offset != "" {
			t.Errorf("delivered with offset %s while Redis was down", e.offset)
		}
	}
	if st := A.ra.Stats(); st.AppendFailed < 3 {
		t.Errorf("A: %+v", st)
	}

	rs.Restart()
	tag := untilDelivered(t, b, "after-A-", func(tag string) error { return A.srv.To("r").Emit("news", tag) })
	if e := b.waitEvent(t, "news", tag, 1)[0]; e.offset == "" {
		t.Error("no offset after the restart")
	}
	untilDelivered(t, a, "after-B-", func(tag string) error { return B.srv.To("r").Emit("news", tag) })
	for i := 0; i < 3; i++ {
		if n := b.count("news", "down-"+strconv.Itoa(i)); n != 0 {
			t.Errorf("b got a broadcast that was never appended")
		}
	}
	t.Logf("A: %+v", A.ra.Stats())
	t.Logf("B: %+v", B.ra.Stats())
}

// Entries that are not what a socket.io node writes are counted and
// skipped; the reader goes on with the next entry (a Node reader would
// re-read the first of them forever).
func TestMalformedEntries(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	A := startNode(t, "A", rs, nodeOpts{recovery: true})
	a := dial(t, A, "a", map[string]any{"rooms": []string{"r"}})
	bad := [][]string{
		{"uid", "x", "nsp", "/", "type", "3", "data", `{"packet":{"type":2,"data":["news","no opts"]}}`},
		{"uid", "x", "nsp", "/", "type", "3", "data", `{"packet":{"type":2,"data":"not an array"},"opts":{"rooms":[],"except":[]}}`},
		{"uid", "x", "nsp", "/", "type", "3", "data", "not base64 !"},
		{"uid", "x", "nsp", "/", "type", "3", "data", "gqZwYWNrZXSC"},
		{"uid", "x", "nsp", "/", "type", "three", "data", "{}"},
		{"uid", "x", "nsp", "/", "type", "4", "data", `{"rooms":["r2"]}`},
		{"uid", "x", "nsp", "/", "type", "3", "data", `{"packet":{"type":2,"data":["news",{"_placeholder":true,"num":3}]},"opts":{"rooms":[],"except":[]}}`},
	}
	for _, f := range bad {
		if _, err := rs.Do(append([]string{"XADD", "socket.io", "*"}, f...)...); err != nil {
			t.Fatal(err)
		}
	}
	good := `{"packet":{"type":2,"data":["news","good"]},"opts":{"rooms":["r"],"except":[],"flags":{}}}`
	id, err := rs.Do("XADD", "socket.io", "*", "uid", "x", "nsp", "/", "type", "3", "data", good)
	if err != nil {
		t.Fatal(err)
	}
	e := a.waitEvent(t, "news", "good", 1)[0]
	if e.offset != id {
		t.Errorf("offset %q, want %q", e.offset, id)
	}
	if n := len(a.events("news")); n != 2 { // "good", and the placeholder one as plain JSON
		t.Logf("events: %v", a.events("news"))
	}
	if st := A.ra.Stats(); st.Malformed < 6 {
		t.Errorf("%+v", st)
	}
}

// With Redis not answering writes (CLIENT PAUSE WRITE), broadcasts are
// still delivered here: the first after AppendTimeout, the next ones at
// once while XADDs are skipped; past MaxQueuedBytes a broadcast is
// dropped from the stream and delivered at once.
func TestStalledRedis(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	A := startNode(t, "A", rs, nodeOpts{recovery: true, tune: func(c *redisstreams.Config) {
		c.AppendTimeout = 300 * time.Millisecond
		c.MaxQueuedBytes = 4096
	}})
	B := startNode(t, "B", rs, nodeOpts{recovery: true})
	a := dial(t, A, "a", nil)
	b := dial(t, B, "b", nil)
	if _, err := rs.Do("CLIENT", "PAUSE", "3000", "WRITE"); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3000)
	for i := range big {
		big[i] = 'x'
	}
	const n = 20
	for i := 0; i < n; i++ {
		if err := A.srv.Emit("news", "stalled-"+strconv.Itoa(i), string(big)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		a.waitEvent(t, "news", "stalled-"+strconv.Itoa(i), 1)
	}
	st := A.ra.Stats()
	if st.Dropped == 0 || st.AppendFailed == 0 {
		t.Errorf("%+v", st)
	}
	t.Logf("%+v", st)
	if _, err := rs.Do("CLIENT", "UNPAUSE"); err != nil {
		t.Fatal(err)
	}
	// Appends resume: B gets A's broadcasts again.
	untilDelivered(t, b, "resumed-", func(tag string) error { return A.srv.Emit("news", tag) })
}
