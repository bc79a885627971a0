package chatdemo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

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
	maxScoreBody = 256  // bytes in a POST /score body
)

// Options configures Register. The zero value serves the single-server
// demo.
type Options struct {
	// Logger receives a line per connection, client-message and
	// disconnect. Nil discards.
	Logger *slog.Logger
	// Node, when set, names this server in the welcome message ("Welcome
	// to the team-red fan club! (node-2)"), so that a page shows which
	// node of a cluster its socket reached. Empty: the message of the
	// socket.io examples, unchanged.
	Node string
}

// Register wires the socket.io events of the classic examples on srv's main
// namespace. Call it before serving.
func Register(srv *sio.Server, opts Options) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	suffix := ""
	if opts.Node != "" {
		suffix = " (" + opts.Node + ")"
	}
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
			if err := s.Emit("welcome-message", "Welcome to the "+team+" fan club!"+suffix); err != nil {
				logger.Warn("welcome-message not sent", "id", s.ID(), "err", err)
			}
		})

		s.OnDisconnect(func(reason string) {
			logger.Info("socket disconnected", "id", s.ID(), "reason", reason)
		})
	})
}

// NewMux returns the demo's HTTP routes, for ListenAndServe's fallback or
// a net/http server: the page at GET / and POST /score?team=<room>, whose
// body (a number or a short text) is sent to that room as "score-update".
// Add /socket.io/ to
// it when mounting srv in net/http.
func NewMux(srv *sio.Server) *http.ServeMux { return newMux(srv, indexHTML) }

// NewMsgpackMux is NewMux for a server with sio.MsgpackParser: its page
// loads the client bundle with socket.io-msgpack-parser built in,
// /socket.io/socket.io.msgpack.min.js.
func NewMsgpackMux(srv *sio.Server) *http.ServeMux {
	page := bytes.Replace(indexHTML, []byte(`<script src="/socket.io/socket.io.js">`),
		[]byte(`<script src="/socket.io/socket.io.msgpack.min.js">`), 1)
	return newMux(srv, page)
}

func newMux(srv *sio.Server, page []byte) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { serveIndex(w, page) })
	mux.HandleFunc("POST /score", func(w http.ResponseWriter, r *http.Request) { postScore(srv, w, r) })
	return mux
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

func serveIndex(w http.ResponseWriter, page []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(page) // the browser went away; nothing to do
}

// postScore implements POST /score?team=<room> with the score as the body:
// the io.to(team).emit("score-update", score) of the examples, triggered
// from outside any socket handler (parseScore says what is sent).
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
	score, ok := parseScore(body)
	if !ok {
		http.Error(w, "body: want a score, a number or a short UTF-8 text such as \"Red: 1, Blue: 0\"", http.StatusBadRequest)
		return
	}
	srv.To(team).Emit("score-update", score)
	w.WriteHeader(http.StatusNoContent)
}

// parseScore returns what a POST /score body sends, with surrounding white
// space trimmed: a JSON number (42, -3, 2.5, 1e3) as that number, sent as
// written; any other text as a string, so that the socket.io examples'
// sendScoreUpdate("team-red", "Red: 1, Blue: 0") works as well as a plain
// 3. It reports false for a body that is empty (after trimming) or not
// UTF-8.
func parseScore(body []byte) (any, bool) {
	s := strings.TrimSpace(string(body))
	if s == "" || !utf8.ValidString(s) {
		return nil, false
	}
	// Valid JSON that starts with a digit or a minus sign is a number.
	if c := s[0]; (c == '-' || '0' <= c && c <= '9') && json.Valid([]byte(s)) {
		return json.RawMessage(s), true
	}
	return s, true
}

// Tick sends a random score to a random team every d until ctx ends, so a
// lone visitor sees rooms at work. In a cluster, run it on one node: its
// broadcasts reach every node's sockets.
func Tick(ctx context.Context, srv *sio.Server, d time.Duration) {
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
