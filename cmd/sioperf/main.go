package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// config is the parsed command line.
type config struct {
	Scenario    string        `json:"scenario"`
	Addr        string        `json:"addr"`
	Path        string        `json:"path"`
	Proto       string        `json:"proto"`
	Label       string        `json:"label,omitempty"`
	Case        string        `json:"case,omitempty"`
	Subs        int           `json:"subs,omitempty"`
	Pad         int           `json:"pad"`
	Clients     int           `json:"clients,omitempty"`
	Conns       int           `json:"conns,omitempty"`
	Rooms       int           `json:"rooms,omitempty"`
	Publishers  int           `json:"publishers,omitempty"`
	PubSndBuf   int           `json:"pub_sndbuf,omitempty"`
	SubRcvBuf   int           `json:"sub_rcvbuf,omitempty"`
	Rate        float64       `json:"rate,omitempty"`
	Overload    float64       `json:"overload,omitempty"`
	Recovery    time.Duration `json:"recovery_ns,omitempty"`
	Start       float64       `json:"start,omitempty"`
	Growth      float64       `json:"growth,omitempty"`
	Bisect      int           `json:"bisect,omitempty"`
	MaxSteps    int           `json:"max_steps,omitempty"`
	MaxRate     float64       `json:"max_rate,omitempty"`
	Rates       []float64     `json:"rates,omitempty"`
	Warmup      time.Duration `json:"warmup_ns,omitempty"`
	Step        time.Duration `json:"step_ns,omitempty"`
	Drain       time.Duration `json:"drain_ns,omitempty"`
	SettleMax   time.Duration `json:"settle_max_ns,omitempty"`
	Duration    time.Duration `json:"duration_ns,omitempty"`
	IdleSettle  time.Duration `json:"idle_settle_ns,omitempty"`
	P99         time.Duration `json:"p99_bound_ns,omitempty"`
	Concurrency int           `json:"concurrency"`
	Srcs        []string      `json:"srcs,omitempty"`
	Procs       int           `json:"procs"`
	ServerPID   int           `json:"server_pid,omitempty"`
	ServerPIDs  []int         `json:"server_pids,omitempty"` // every server process, with -server-pid a,b,c
	HSTimeout   time.Duration `json:"handshake_timeout_ns"`
	RBufMax     int           `json:"rbuf_max"`
	IO          string        `json:"io"`
	Transport   string        `json:"transport,omitempty"`
	EchoEvery   time.Duration `json:"echo_interval_ns,omitempty"`
	Timeout     time.Duration `json:"timeout_ns"`

	jsonOut    bool
	reportDir  string
	progress   string
	cpuProfile string
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// parseConfig parses the flags of a scenario run.
func parseConfig(scenario string, args []string) (*config, error) {
	c := &config{Scenario: scenario}
	fs := newFlagSet(scenario)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:3000", "server host:port, or a comma-separated list of a cluster's nodes: subscriber i connects to node i mod n, publishers to the first")
	fs.StringVar(&c.Path, "path", "", "request path (default /socket.io/?EIO=4&transport=websocket, or / with -proto raw)")
	fs.StringVar(&c.Proto, "proto", "sio", "sio (Engine.IO v4 + Socket.IO v5) or raw (contract's raw WebSocket mode)")
	fs.StringVar(&c.Label, "label", "", "name of the server under test, copied into the results")
	fs.StringVar(&c.Case, "case", "", "name of the measurement for summaries (default: scenario and size, e.g. fanout1k)")
	fs.IntVar(&c.Subs, "subs", 1000, "fanout/chat/overload: subscribers (overload: 10000 unless given)")
	fs.IntVar(&c.Pad, "pad", 64, "bytes of padding in each message")
	fs.IntVar(&c.Clients, "clients", 1000, "echo: clients, one request in flight each")
	fs.IntVar(&c.Conns, "conns", 10000, "idle/connect: connections")
	fs.IntVar(&c.Rooms, "rooms", 100, "chat: rooms (subscriber i joins room i mod rooms)")
	fs.IntVar(&c.Publishers, "publishers", 10, "chat/overload: publisher connections (overload: 1 unless given)")
	fs.IntVar(&c.PubSndBuf, "pub-sndbuf", 0, "fanout/chat/overload: SO_SNDBUF of each publisher, bytes (0: the kernel's autotuning, which lets a publisher the server has stopped reading queue megabytes, seconds of its messages, in its own socket)")
	fs.IntVar(&c.SubRcvBuf, "sub-rcvbuf", 0, "SO_RCVBUF of every connection but the publishers, bytes (0: the kernel's autotuning, which lets a subscriber that reads slower than the server writes queue megabytes, seconds of deliveries, in its own socket)")
	fs.Float64Var(&c.Rate, "rate", 1000, "chat: published messages/s, all publishers together; overload: the sustainable rate in deliveries/s, as the fanout ladder counts (overload: 0 unless given, which finds it with a short ladder first)")
	fs.Float64Var(&c.Overload, "overload", 2, "overload: the overload phase offers this factor times the sustainable rate")
	fs.DurationVar(&c.Recovery, "recovery", 5*time.Second, "overload: the recovery phase at half the sustainable rate")
	fs.Float64Var(&c.Start, "start", 10000, "fanout: first ladder rate, deliveries/s")
	fs.Float64Var(&c.Growth, "growth", 1.5, "fanout: ladder growth factor")
	fs.IntVar(&c.Bisect, "bisect", 2, "fanout: bisection steps after the first confirmed failure (overload's ladder: 1 unless given)")
	fs.IntVar(&c.MaxSteps, "max-steps", 30, "fanout: bound on ladder steps (<= 60)")
	fs.Float64Var(&c.MaxRate, "max-rate", 50e6, "fanout: bound on the ladder rate, deliveries/s")
	rates := fs.String("rates", "", "fanout: comma-separated rates to run instead of the ladder")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "unmeasured publishing before each step")
	fs.DurationVar(&c.Step, "step", 4*time.Second, "fanout: measured publishing per step (overload's ladder: 2s unless given)")
	fs.DurationVar(&c.Drain, "drain", 2*time.Second, "time allowed after a step for deliveries to arrive (overload: after the recovery phase, 5s unless given)")
	fs.DurationVar(&c.SettleMax, "settle-max", 10*time.Second, "bound on waiting for late deliveries to stop between steps")
	fs.DurationVar(&c.Duration, "duration", 8*time.Second, "echo/chat: measured duration; overload: the overload phase, 20s unless given")
	fs.DurationVar(&c.IdleSettle, "settle", 5*time.Second, "idle: settle time before reading RSS")
	fs.DurationVar(&c.P99, "p99", 250*time.Millisecond, "fanout/chat: p99 latency bound for a passing step")
	fs.IntVar(&c.Concurrency, "concurrency", 256, "handshakes in flight")
	srcs := fs.String("src", "", "comma-separated local source addresses, e.g. 127.0.0.2,127.0.0.3")
	fs.IntVar(&c.Procs, "procs", 1, "worker processes holding the connections (>1 re-executes sioperf)")
	pids := fs.String("server-pid", "", "server pid, or a comma-separated list of the pids of a cluster's nodes: report their CPU (/proc/pid/stat) and RSS (/proc/pid/status), summed, and each node's RSS")
	fs.DurationVar(&c.HSTimeout, "handshake-timeout", 10*time.Second, "bound on one connection's handshake")
	fs.IntVar(&c.RBufMax, "rbuf", 64<<10, "largest per-connection read buffer, bytes (-io goroutine)")
	fs.StringVar(&c.IO, "io", ioLoop, "receive path: loop (event loops, no goroutine per connection) or goroutine (a reader goroutine per connection)")
	fs.DurationVar(&c.EchoEvery, "echo-interval", 0, "echo: each client sends one echo per interval at its own random phase, at most one in flight (0: a closed loop, the next echo as soon as the answer comes)")
	fs.StringVar(&c.Transport, "transport", transportWebSocket, "subscribers and echo clients: websocket (a WebSocket at once), upgrade (a polling handshake on its own connection, then the WebSocket upgrade, as io() in a browser) or polling (HTTP long-polling only, each client with its own connections, no compression); publishers always use websocket")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Minute, "bound on the whole run")
	fs.BoolVar(&c.jsonOut, "json", false, "print one JSON object per run on stdout")
	fs.StringVar(&c.reportDir, "report", "", "write a Markdown table and an SVG chart into this directory")
	fs.StringVar(&c.progress, "progress", "auto", "live progress line on stderr: auto (when a terminal), on, off")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write this process's CPU profile to the file (to see where the load tool spends its core)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.Scenario == "overload" {
		if err := overloadDefaults(c, fs); err != nil {
			return nil, err
		}
	}
	if *pids != "" {
		for _, s := range strings.Split(*pids, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("bad -server-pid entry %q", s)
			}
			c.ServerPIDs = append(c.ServerPIDs, pid)
		}
		c.ServerPID = c.ServerPIDs[0]
	}
	if *srcs != "" {
		c.Srcs = strings.Split(*srcs, ",")
	}
	if *rates != "" {
		for _, s := range strings.Split(*rates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || r <= 0 {
				return nil, fmt.Errorf("bad -rates entry %q", s)
			}
			c.Rates = append(c.Rates, r)
		}
	}
	switch c.Proto {
	case "sio":
		if c.Path == "" {
			c.Path = "/socket.io/?EIO=4&transport=websocket"
		}
	case "raw":
		if c.Path == "" {
			c.Path = "/"
		}
	default:
		return nil, fmt.Errorf("-proto must be sio or raw, not %q", c.Proto)
	}
	if c.IO != ioLoop && c.IO != ioGoroutine {
		return nil, fmt.Errorf("-io must be %s or %s, not %q", ioLoop, ioGoroutine, c.IO)
	}
	if c.Procs < 1 {
		c.Procs = 1
	}
	if c.MaxSteps > maxSteps-4 {
		c.MaxSteps = maxSteps - 4
	}
	if c.Growth <= 1 {
		return nil, fmt.Errorf("-growth must be > 1")
	}
	if c.Concurrency < 1 {
		c.Concurrency = 1
	}
	if c.Scenario == "fanout" {
		c.Rooms = 1
		c.Publishers = 1
	}
	if c.Scenario == "chat" && c.Proto == "raw" {
		return nil, fmt.Errorf("chat needs rooms, which -proto raw does not have")
	}
	return c, nil
}

const usage = `usage:
  sioperf <fanout|echo|idle|connect|chat|overload> [flags]   run one scenario (-h for flags)
  sioperf summarize [-md] <dir or files>                     medians and min-max of JSON results
`

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "worker":
		return workerMain(args[1:])
	case "summarize":
		return summarizeMain(args[1:], stdout, stderr)
	case "fanout", "echo", "idle", "connect", "chat", "overload":
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown scenario %q\n%s", args[0], usage)
		return 2
	}
	cfg, err := parseConfig(args[0], args[1:])
	if err != nil {
		fmt.Fprintln(stderr, "sioperf:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "sioperf:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "sioperf:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	prog := newProgress(stderr, cfg.progress)
	defer prog.stop()
	res := run(ctx, cfg, prog)
	prog.stop()
	if cfg.jsonOut {
		b, err := json.Marshal(res)
		if err != nil {
			fmt.Fprintln(stderr, "sioperf:", err)
			return 1
		}
		fmt.Fprintln(stdout, string(b))
	} else {
		writeText(stdout, res)
	}
	if cfg.reportDir != "" {
		if err := writeReport(cfg.reportDir, res); err != nil {
			fmt.Fprintln(stderr, "sioperf: report:", err)
			return 1
		}
	}
	if res.Error != "" {
		fmt.Fprintln(stderr, "sioperf:", res.Error)
		return 1
	}
	return 0
}
