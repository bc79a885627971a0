package admin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/admin"
	"github.com/sioloop/sioloop/sio"
)

// requireNodeModules returns node, skipping on a developer machine
// (failing under CI) when node or the pinned npm packages are missing.
func requireNodeModules(t *testing.T) string {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	for _, pkg := range []string{"socket.io", "socket.io-client", "@socket.io/admin-ui"} {
		if _, err := os.Stat(filepath.Join("..", "node_modules", pkg, "package.json")); err != nil {
			missing = append(missing, "node_modules/"+pkg+" (npm ci)")
		}
	}
	if len(missing) > 0 {
		msg := "the reference test needs " + strings.Join(missing, ", ")
		if inCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// startReference runs testdata/reference.js (socket.io with admin-ui's
// instrument) and returns its base URL.
func startReference(t *testing.T, node string) string {
	t.Helper()
	addr := freeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	cmd := exec.Command(node, filepath.Join("testdata", "reference.js"), port, testHash)
	cmd.Dir = "."
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("reference.js exited: %s", stderr.String())
		}
	case <-time.After(wait):
		t.Fatalf("reference.js not ready: %s", stderr.String())
	}
	return "http://" + addr
}

// probe runs testdata/probe.js against base and returns what it saw.
func probe(t *testing.T, node, base string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "probe.js"), base)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("probe.js %s: %v\n%s%s", base, err, stdout.String(), stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("probe.js %s: %v: %s", base, err, stdout.String())
	}
	return out
}

// TestSameAsReference plays the same UI and application client, with the
// real socket.io-client, against the Node reference (socket.io 4.8.4 with
// admin-ui 0.5.1's instrument) and against sioloop with package admin,
// and requires the same answers: the refusal of a wrong password, the
// events of the UI's connection, the events of a client's connection,
// join, emits, data and disconnection in the same order with arguments
// of the same shapes, and server_stats of the same shape.
func TestSameAsReference(t *testing.T) {
	node := requireNodeModules(t)
	ref := startReference(t, node)
	_, _, ours := startServer(t, sio.Config{}, admin.Options{
		Auth: &admin.BasicAuth{Username: "admin", Password: testHash},
	}, chatServer)
	want, got := probe(t, node, ref), probe(t, node, ours)
	if evs, _ := want["events"].([]any); len(evs) < 10 {
		t.Fatalf("the reference sent only %v", want["events"])
	}

	// The kinds of aggregated events seen depend on timing: each of ours
	// must have a shape of admin-ui's.
	statsOf := func(m map[string]any) []any {
		st, _ := m["stats"].(map[string]any)
		agg, _ := st["aggregatedEvents"].([]any)
		delete(st, "aggregatedEvents")
		return agg
	}
	refAgg, ourAgg := statsOf(want), statsOf(got)
	for _, a := range ourAgg {
		found := false
		for _, b := range refAgg {
			found = found || reflect.DeepEqual(a, b)
		}
		if !found && !reflect.DeepEqual(a, map[string]any{"count": "number", "subType": "string", "timestamp": "number", "type": "string"}) {
			t.Errorf("aggregated event of shape %v; admin-ui's: %v", a, refAgg)
		}
	}
	for _, k := range []string{"refused", "greeting", "events", "stats"} {
		if !reflect.DeepEqual(want[k], got[k]) {
			w, _ := json.MarshalIndent(want[k], "", " ")
			g, _ := json.MarshalIndent(got[k], "", " ")
			t.Errorf("%s differs from the reference:\nadmin-ui:\n%s\nsioloop:\n%s", k, w, g)
		}
	}
}
