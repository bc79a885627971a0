package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/sioloop/sioloop/adapter/redis"
	"github.com/sioloop/sioloop/bench/scenario"
	"github.com/sioloop/sioloop/sio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3001", "listen address")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until SIGINT or SIGTERM")
	debug := flag.Bool("pprof", false, "serve net/http/pprof under /debug/pprof/ on the same address")
	memRate := flag.Int("memprofilerate", 0, "set runtime.MemProfileRate (1 records every allocation; 0 keeps the default)")
	redisAddr := flag.String("redis", "", "Redis host:port: use the classic Redis adapter (a cluster node)")
	sndbuf := flag.Int("sndbuf", 0, "sio.Config.SocketSendBuffer: SO_SNDBUF of accepted connections, bytes (0: the kernel's autotuning)")
	rcvbuf := flag.Int("rcvbuf", 0, "sio.Config.SocketRecvBuffer: SO_RCVBUF of accepted connections, bytes (0: the kernel's autotuning)")
	maxInput := flag.Int("max-queued-input", 0, "sio.Config.MaxQueuedInputBytes: bound on one connection's queued events, bytes (0: the default, 1 MiB)")
	maxBacklog := flag.Int("max-backlog", 0, "sio.Config.MaxLoopBacklog: bound on one loop's queued broadcast work, recipient visits (0: the default, 1 Mi)")
	loops := flag.Int("loops", 0, "sio.Config.Loops: event loops (0: one per CPU)")
	recovery := flag.Bool("recovery", false, "turn on connection state recovery (sio.Config.ConnectionStateRecovery, defaults)")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *cpuProfile != "" {
		stop := startProfile(*cpuProfile)
		defer stop()
	}
	cfg := sio.Config{SocketSendBuffer: *sndbuf, SocketRecvBuffer: *rcvbuf, Loops: *loops, MaxQueuedInputBytes: *maxInput, MaxLoopBacklog: *maxBacklog}
	if *recovery {
		cfg.ConnectionStateRecovery = &sio.RecoveryConfig{}
	}
	if *redisAddr != "" {
		ra, err := redis.New(context.Background(), redis.Config{Addr: *redisAddr})
		if err != nil {
			log.Fatalf("redis adapter: %v", err)
		}
		defer ra.Close()
		cfg.Adapter = ra.ForNamespace
	}
	srv := sio.NewServer(cfg)
	scenario.Register(srv)
	log.Printf("sioloop scenario server on %s (redis %q)", *addr, *redisAddr)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		_ = srv.Shutdown(context.Background())
	}()
	var fallback http.Handler
	if *debug {
		fallback = http.DefaultServeMux // net/http/pprof registers there
	}
	if err := srv.ListenAndServe(*addr, fallback); err != nil && !errors.Is(err, sio.ErrServerClosed) {
		log.Fatal(err)
	}
}

// startProfile starts a CPU profile into path and returns its stop function.
func startProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
