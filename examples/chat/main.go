package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sioloop/sioloop/examples/chat/chatdemo"
	"github.com/sioloop/sioloop/metrics"
	"github.com/sioloop/sioloop/sio"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	addr   string
	ticker time.Duration
	mode   string
	parser string
	// cert and key are PEM files: with both, the demo serves https://
	// and wss:// (ListenAndServeTLS, or http.Server.ServeTLS).
	cert, key string
}

// defaultAddr is ":3000" as in the socket.io examples, or ":$PORT" when the
// environment sets PORT (as hosting platforms do).
func defaultAddr(getenv func(string) string) string {
	if p := getenv("PORT"); p != "" {
		return ":" + p
	}
	return ":3000"
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", defaultAddr(getenv), "listen address host:port (default from $PORT, else :3000)")
	fs.DurationVar(&c.ticker, "ticker", 0, "send a random score to a random team this often (0 = never)")
	fs.StringVar(&c.mode, "mode", "standalone", "standalone: serve on sioloop's event loops; nethttp: mount in a net/http server")
	fs.StringVar(&c.cert, "cert", "", "TLS certificate (PEM file): serve https:// and wss:// with -key")
	fs.StringVar(&c.key, "key", "", "TLS private key (PEM file), with -cert")
	fs.StringVar(&c.parser, "parser", "json", "json: socket.io-parser; msgpack: socket.io-msgpack-parser (the page loads socket.io.msgpack.min.js)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() != 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.mode != "standalone" && c.mode != "nethttp" {
		return c, fmt.Errorf("-mode %q: want standalone or nethttp", c.mode)
	}
	if c.parser != "json" && c.parser != "msgpack" {
		return c, fmt.Errorf("-parser %q: want json or msgpack", c.parser)
	}
	if (c.cert == "") != (c.key == "") {
		return c, errors.New("-cert and -key go together")
	}
	if c.ticker < 0 {
		return c, fmt.Errorf("-ticker %v: want a positive duration or 0", c.ticker)
	}
	return c, nil
}

// run starts the demo and blocks until ctx is cancelled or serving fails.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	scfg := sio.Config{Logger: logger}
	if cfg.parser == "msgpack" {
		scfg.Parser = sio.MsgpackParser
	}
	srv := sio.NewServer(scfg)
	chatdemo.Register(srv, chatdemo.Options{Logger: logger})
	mux := chatdemo.NewMux(srv)
	if cfg.parser == "msgpack" {
		mux = chatdemo.NewMsgpackMux(srv)
	}
	// Prometheus metrics of the server at /metrics (package metrics).
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(srv))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	if cfg.ticker > 0 {
		go chatdemo.Tick(ctx, srv, cfg.ticker)
	}

	errc := make(chan error, 1)
	var httpSrv *http.Server
	switch cfg.mode {
	case "standalone":
		go func() {
			if cfg.cert != "" {
				errc <- srv.ListenAndServeTLS(cfg.addr, cfg.cert, cfg.key, mux)
				return
			}
			errc <- srv.ListenAndServe(cfg.addr, mux)
		}()
		// Log "listening" only once it is true, so a busy port reads as
		// an error and not as a server that never answers.
		select {
		case <-srv.Ready():
		case err := <-errc:
			return errors.Join(err, srv.Close())
		case <-ctx.Done():
			return srv.Close()
		}
	case "nethttp":
		mux.Handle("/socket.io/", srv)
		httpSrv = &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		l, err := net.Listen("tcp", cfg.addr)
		if err != nil {
			return errors.Join(err, srv.Close())
		}
		if cfg.cert != "" {
			// HTTP/1.1 only: browsers would send WebSocket over HTTP/2
			// (an extended CONNECT, RFC 8441), which sio does not serve.
			httpSrv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}
		go func() {
			if cfg.cert != "" {
				errc <- httpSrv.ServeTLS(l, cfg.cert, cfg.key)
				return
			}
			errc <- httpSrv.Serve(l)
		}()
	}
	logger.Info("chat demo listening", "url", pageURL(cfg.addr, cfg.cert != ""), "mode", cfg.mode)

	select {
	case err := <-errc:
		// Serving stopped by itself, before any shutdown was asked for.
		return errors.Join(err, srv.Close())
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// sio goes first: closing its sessions ends the long-polling requests
	// that would otherwise keep http.Server.Shutdown waiting.
	errs := []error{srv.Shutdown(sctx)}
	if httpSrv != nil {
		errs = append(errs, httpSrv.Shutdown(sctx))
	}
	select {
	case err := <-errc:
		// Both servers return a "closed" sentinel once shut down; that is
		// the expected end, not a failure.
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, sio.ErrServerClosed) {
			errs = append(errs, err)
		}
	case <-sctx.Done():
		errs = append(errs, errors.New("server did not stop within 5s"))
	}
	return errors.Join(errs...)
}

// pageURL turns a listen address into something clickable in the log.
func pageURL(addr string, tls bool) string {
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	if strings.HasPrefix(addr, ":") {
		return scheme + "localhost" + addr + "/"
	}
	return scheme + addr + "/"
}
