// Command chat is sioloop's demo: the server side of the classic socket.io
// chat-and-rooms examples, with a page at / that uses the unchanged browser
// client (<script src="/socket.io/socket.io.js">, io()).
//
//	go run ./examples/chat                    # http://localhost:3000
//	go run ./examples/chat -addr :8080 -ticker 2s -mode nethttp
//
// Events, as in the socket.io examples:
//
//   - connection: the socket id is logged;
//   - "client-message": logged with the sender's id;
//   - "chat-message": re-sent as "new-chat-message" to everyone but the
//     sender (socket.broadcast.emit);
//   - "join-team-room" (team): the socket joins the room named team and
//     alone receives "welcome-message";
//   - "score-update": sent to one team's room only, from outside any socket
//     handler: POST /score?team=team-red with the score as the body, or
//     every -ticker interval with a random score.
//
// -mode standalone runs HTTP and WebSocket on sioloop's event loops, with the
// page and /score served by the fallback mux; -mode nethttp mounts the server
// in a net/http server next to the same routes, the way an existing Go
// application would.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sioloop/sioloop/sio"
)

//go:embed index.html
var indexHTML []byte

// teams are the rooms the page offers and the ticker updates. Any valid room
// name can be joined; these two are just the ones with buttons.
var teams = [...]string{"team-red", "team-blue"}

// Limits on what a browser may send: the demo is meant to be safe to leave
// running on a LAN.
const (
	maxChatLen   = 2000 // bytes in one chat message
	maxTeamLen   = 64   // bytes in a team (room) name
	maxScoreBody = 32   // bytes in a POST /score body
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
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() != 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.mode != "standalone" && c.mode != "nethttp" {
		return c, fmt.Errorf("-mode %q: want standalone or nethttp", c.mode)
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
	srv := sio.NewServer(sio.Config{Logger: logger})
	registerHandlers(srv, logger)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serveIndex)
	mux.HandleFunc("POST /score", func(w http.ResponseWriter, r *http.Request) { postScore(srv, w, r) })

	if cfg.ticker > 0 {
		go tick(ctx, srv, cfg.ticker)
	}

	errc := make(chan error, 1)
	var httpSrv *http.Server
	switch cfg.mode {
	case "standalone":
		go func() { errc <- srv.ListenAndServe(cfg.addr, mux) }()
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
		go func() { errc <- httpSrv.Serve(l) }()
	}
	logger.Info("chat demo listening", "url", pageURL(cfg.addr), "mode", cfg.mode)

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
func pageURL(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "http://localhost" + addr + "/"
	}
	return "http://" + addr + "/"
}

// registerHandlers wires the socket.io events of the classic examples.
func registerHandlers(srv *sio.Server, logger *slog.Logger) {
	srv.OnConnection(func(s *sio.Socket) {
		logger.Info("socket connected", "id", s.ID())

		s.On("client-message", func(ev *sio.Event) {
			var msg any
			if err := ev.Decode(&msg); err != nil {
				logger.Warn("client-message: bad payload", "from", s.ID(), "err", err)
				return
			}
			logger.Info("client-message", "from", s.ID(), "msg", msg)
		})

		s.On("chat-message", func(ev *sio.Event) {
			var msg string
			if err := ev.Decode(&msg); err != nil || msg == "" || len(msg) > maxChatLen {
				return
			}
			// socket.broadcast.emit: everyone but the sender.
			s.Broadcast().Emit("new-chat-message", msg)
		})

		s.On("join-team-room", func(ev *sio.Event) {
			var team string
			if err := ev.Decode(&team); err != nil || !validTeam(team) {
				return
			}
			s.Join(team)
			if err := s.Emit("welcome-message", "Welcome to the "+team+" fan club!"); err != nil {
				logger.Warn("welcome-message not sent", "id", s.ID(), "err", err)
			}
		})

		s.OnDisconnect(func(reason string) {
			logger.Info("socket disconnected", "id", s.ID(), "reason", reason)
		})
	})
}

// validTeam keeps room names short and printable so a page cannot make the
// server hold arbitrary strings.
func validTeam(team string) bool {
	if team == "" || len(team) > maxTeamLen {
		return false
	}
	for i := 0; i < len(team); i++ {
		c := team[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func serveIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(indexHTML) // the browser went away; nothing to do
}

// postScore implements POST /score?team=<room> with an integer body: the
// io.to(team).emit("score-update", score) of the examples, triggered from
// outside any socket handler.
func postScore(srv *sio.Server, w http.ResponseWriter, r *http.Request) {
	team := r.URL.Query().Get("team")
	if !validTeam(team) {
		http.Error(w, "team: want a room name such as team-red", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxScoreBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	score, err := strconv.Atoi(strings.TrimSpace(string(body)))
	if err != nil {
		http.Error(w, "body: want an integer score", http.StatusBadRequest)
		return
	}
	srv.To(team).Emit("score-update", score)
	w.WriteHeader(http.StatusNoContent)
}

// tick sends a random score to a random team every d until ctx ends, so a
// lone visitor sees rooms at work.
func tick(ctx context.Context, srv *sio.Server, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			srv.To(teams[rand.IntN(len(teams))]).Emit("score-update", rand.IntN(100))
		}
	}
}
