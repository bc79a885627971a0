//go:build !race

// Package cluster holds the CI variant of the cluster scale benchmark
// (bench/cluster.sh): three sioloop nodes on one Redis with the classic
// Redis adapter, 10,000 subscribers spread over them, a publisher on the
// first node, and a broadcast to the room that must reach every subscriber
// through Redis, with none lost.
//
// Like bench/soak it runs without -race only (make test runs it there): the
// race detector's overhead and its goroutine limit make 10,000 connections
// a test of the detector. The nodes are this test binary started again
// (one process each, so that no process holds more than 20,000 files); the
// load is cmd/sioperf, built into a temporary directory.
package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/sioloop/sioloop/internal/testutil"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redis"
	"github.com/sioloop/sioloop/bench/scenario"
	"github.com/sioloop/sioloop/internal/redistest"
	"github.com/sioloop/sioloop/sio"
)

const (
	nodeEnv  = "SIOLOOP_CLUSTER_NODE"  // listen address of a node process
	redisEnv = "SIOLOOP_CLUSTER_REDIS" // its Redis
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(nodeEnv); addr != "" {
		os.Exit(serveNode(addr, os.Getenv(redisEnv)))
	}
	os.Exit(m.Run())
}

// serveNode runs one scenario-contract node on the Redis adapter until
// killed, printing "ready" once it listens.
func serveNode(addr, redisAddr string) int {
	ra, err := redis.New(context.Background(), redis.Config{Addr: redisAddr})
	if err != nil {
		log.Print(err)
		return 1
	}
	srv := sio.NewServer(sio.Config{Adapter: ra.ForNamespace})
	// GET /count answers how many Socket.IO connections this node
	// accepted, so the test can see the subscribers were spread.
	var accepted atomic.Int64
	srv.Use(func(*sio.Socket) error { accepted.Add(1); return nil })
	scenario.Register(srv)
	count := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, accepted.Load())
	})
	go func() {
		<-srv.Ready()
		fmt.Println("ready")
	}()
	if err := srv.ListenAndServe(addr, count); err != nil {
		log.Print(err)
		return 1
	}
	return 0
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

// startNode starts a node process and waits for its "ready".
func startNode(t *testing.T, redisAddr string) (addr string, pid int) {
	addr = freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+addr, redisEnv+"="+redisAddr)
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
		ready <- sc.Scan() && sc.Text() == "ready"
		for sc.Scan() {
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("node did not start")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("node not ready after 30s")
	}
	return addr, cmd.Process.Pid
}

// sioperfResult is the part of sioperf's JSON result the test reads.
type sioperfResult struct {
	Error string `json:"error"`
	Steps []struct {
		Published     int64   `json:"published"`
		Planned       int64   `json:"planned"`
		Expected      uint64  `json:"expected"`
		Delivered     uint64  `json:"delivered"`
		Lost          int64   `json:"lost"`
		Disconnects   int64   `json:"disconnects"`
		DeliveredPerS float64 `json:"delivered_per_s"`
		Latency       struct {
			P99Us uint64 `json:"p99_us"`
		} `json:"latency"`
		ServerRSSEach []int64 `json:"server_rss_each"`
	} `json:"steps"`
}

func TestClusterFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections over three processes: not with -short")
	}
	const nodes, subs = 3, 10000
	start := time.Now()
	rs := redistest.Start(t)

	bin := filepath.Join(t.TempDir(), "sioperf")
	build := exec.Command("go", "build", "-o", bin, "github.com/sioloop/sioloop/cmd/sioperf")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build sioperf: %v\n%s", err, out)
	}

	var addrs, pids []string
	for range nodes {
		a, pid := startNode(t, rs.Addr())
		addrs = append(addrs, a)
		pids = append(pids, strconv.Itoa(pid))
	}

	// One fixed-rate step of 20,000 deliveries/s: two broadcasts a second
	// to the room of all 10,000, for 2 s after a 1 s warm-up. The p99 bound
	// is loose (a shared CI machine); the assertion is on losses.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "fanout",
		"-addr", strings.Join(addrs, ","),
		"-server-pid", strings.Join(pids, ","),
		"-subs", strconv.Itoa(subs),
		"-src", "127.0.0.2,127.0.0.3",
		"-rates", "20000", "-warmup", "1s", "-step", "2s", "-drain", "5s",
		"-p99", "5s", "-concurrency", "128", "-timeout", "90s",
		"-json", "-progress", "off", "-label", "sioloop-cluster-ci")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	runErr := cmd.Run()
	var res sioperfResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("sioperf: %v (%v)\n%s", runErr, err, stdout.Bytes())
	}
	if res.Error != "" {
		t.Fatalf("sioperf: %s", res.Error)
	}
	if len(res.Steps) != 1 {
		t.Fatalf("sioperf ran %d steps, want 1", len(res.Steps))
	}
	st := res.Steps[0]
	t.Logf("%d nodes, %d subscribers: published %d/%d, delivered %d of %d (%.0f/s), lost %d, p99 %d µs, node RSS %v, %.1fs",
		nodes, subs, st.Published, st.Planned, st.Delivered, st.Expected, st.DeliveredPerS, st.Lost, st.Latency.P99Us, st.ServerRSSEach, time.Since(start).Seconds())
	if st.Published != st.Planned || st.Published == 0 {
		t.Errorf("published %d of %d planned broadcasts", st.Published, st.Planned)
	}
	if st.Expected != uint64(st.Published)*subs {
		t.Errorf("expected %d deliveries, want %d broadcasts × %d", st.Expected, st.Published, subs)
	}
	if st.Lost != 0 || st.Delivered != st.Expected {
		t.Errorf("delivered %d of %d (lost %d)", st.Delivered, st.Expected, st.Lost)
	}
	if st.Disconnects != 0 {
		t.Errorf("%d disconnects", st.Disconnects)
	}
	// Every node holds its share (subscriber i on node i mod 3; the
	// publisher on the first), so the broadcast crossed Redis.
	total := 0
	for i, a := range addrs {
		resp, err := http.Get("http://" + a + "/count")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		n, err := strconv.Atoi(string(b))
		if err != nil {
			t.Fatalf("node %d /count: %q", i, b)
		}
		total += n
		if n < subs/nodes {
			t.Errorf("node %d accepted %d connections, want at least %d", i, n, subs/nodes)
		}
	}
	if total != subs+1 {
		t.Errorf("nodes accepted %d connections, want %d subscribers and a publisher", total, subs+1)
	}
	if el := time.Since(start); el > 60*time.Second {
		t.Errorf("took %v, want < 60s", el)
	}
}
