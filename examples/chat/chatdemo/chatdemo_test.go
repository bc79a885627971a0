package chatdemo

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/sio"
)

func TestValidTeam(t *testing.T) {
	tests := []struct {
		team string
		want bool
	}{
		{team: "team-red", want: true},
		{team: "Team_Blue2", want: true},
		{team: "", want: false},
		{team: "a b", want: false},
		{team: "<script>", want: false},
		{team: strings.Repeat("x", maxTeamLen), want: true},
		{team: strings.Repeat("x", maxTeamLen+1), want: false},
	}
	for _, tc := range tests {
		if got := validTeam(tc.team); got != tc.want {
			t.Errorf("validTeam(%q) = %v, want %v", tc.team, got, tc.want)
		}
	}
}

func TestPostScoreValidation(t *testing.T) {
	srv := sio.NewServer(sio.Config{})
	defer srv.Close()
	tests := []struct {
		name       string
		target     string
		body       string
		wantStatus int
	}{
		{name: "ok", target: "/score?team=team-red", body: "42\n", wantStatus: http.StatusNoContent},
		{name: "negative ok", target: "/score?team=team-blue", body: "-3", wantStatus: http.StatusNoContent},
		{name: "no team", target: "/score", body: "1", wantStatus: http.StatusBadRequest},
		{name: "bad team", target: "/score?team=a%20b", body: "1", wantStatus: http.StatusBadRequest},
		{name: "text ok", target: "/score?team=team-red", body: "Red: 1, Blue: 0", wantStatus: http.StatusNoContent},
		{name: "word ok", target: "/score?team=team-red", body: "ten", wantStatus: http.StatusNoContent},
		{name: "longest ok", target: "/score?team=team-red", body: strings.Repeat("é", maxScoreBody/2), wantStatus: http.StatusNoContent},
		{name: "empty", target: "/score?team=team-red", body: "", wantStatus: http.StatusBadRequest},
		{name: "blank", target: "/score?team=team-red", body: " \n\t", wantStatus: http.StatusBadRequest},
		{name: "not UTF-8", target: "/score?team=team-red", body: "Red: \xff", wantStatus: http.StatusBadRequest},
		{name: "too large", target: "/score?team=team-red", body: strings.Repeat("1", maxScoreBody+1), wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			postScore(srv, rec, httptest.NewRequest("POST", tc.target, strings.NewReader(tc.body)))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, tc.wantStatus)
			}
		})
	}
}

// TestParseScore: numbers stay numbers (as written), everything else is
// text.
func TestParseScore(t *testing.T) {
	tests := []struct {
		body   string
		want   any
		wantOK bool
	}{
		{body: "42\n", want: json.RawMessage("42"), wantOK: true},
		{body: " -3 ", want: json.RawMessage("-3"), wantOK: true},
		{body: "2.5", want: json.RawMessage("2.5"), wantOK: true},
		{body: "1e3", want: json.RawMessage("1e3"), wantOK: true},
		{body: "Red: 1, Blue: 0", want: "Red: 1, Blue: 0", wantOK: true},
		{body: "  ten\r\n", want: "ten", wantOK: true},
		{body: "007", want: "007", wantOK: true},
		{body: "1 2", want: "1 2", wantOK: true},
		{body: "-", want: "-", wantOK: true},
		{body: "NaN", want: "NaN", wantOK: true},
		{body: `"quoted"`, want: `"quoted"`, wantOK: true},
		{body: "", wantOK: false},
		{body: "\t \n", wantOK: false},
		{body: "\xc3\x28", wantOK: false},
	}
	for _, tc := range tests {
		got, ok := parseScore([]byte(tc.body))
		if ok != tc.wantOK || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseScore(%q) = %#v, %v; want %#v, %v", tc.body, got, ok, tc.want, tc.wantOK)
		}
	}
}

// TestPostScoreReachesRoom posts a number and a text score and checks what
// a socket in the team's room receives: a JSON number, then a JSON string.
func TestPostScoreReachesRoom(t *testing.T) {
	srv := sio.NewServer(sio.Config{Loops: 1})
	defer srv.Close()
	Register(srv, Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	go func() { _ = srv.ListenAndServe(addr, NewMux(srv)) }()
	<-srv.Ready()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := client.New("http://"+addr, client.Options{Transports: []string{client.WebSocket}})
	defer c.Close()
	got := make(chan json.RawMessage, 4)
	welcome := make(chan struct{}, 1)
	c.On("score-update", func(ev *client.Event) { got <- ev.Arg(0) })
	c.On("welcome-message", func(*client.Event) { welcome <- struct{}{} })
	if err := c.ConnectContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Emit("join-team-room", "team-red"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-welcome: // joined
	case <-ctx.Done():
		t.Fatal("no welcome-message")
	}
	for _, tc := range []struct{ body, want string }{
		{body: "42\n", want: `42`},
		{body: "Red: 1, Blue: 0", want: `"Red: 1, Blue: 0"`},
		{body: "<b>5</b>", want: `"<b>5</b>"`}, // the page shows it with textContent
	} {
		resp, err := http.Post("http://"+addr+"/score?team=team-red", "text/plain", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST %q: status %d", tc.body, resp.StatusCode)
		}
		select {
		case arg := <-got:
			if string(arg) != tc.want {
				t.Fatalf("POST %q: score-update argument %s, want %s", tc.body, arg, tc.want)
			}
		case <-ctx.Done():
			t.Fatalf("POST %q: no score-update", tc.body)
		}
	}
}

// TestMsgpackPage: the msgpack demo page loads the msgpack bundle instead.
func TestMsgpackPage(t *testing.T) {
	rec := httptest.NewRecorder()
	NewMsgpackMux(sio.NewServer(sio.Config{Parser: sio.MsgpackParser})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	page := rec.Body.String()
	if !strings.Contains(page, `<script src="/socket.io/socket.io.msgpack.min.js"></script>`) || strings.Contains(page, `src="/socket.io/socket.io.js"`) {
		t.Fatalf("msgpack page does not load only the msgpack bundle")
	}
}

// TestIndexPage guards the contract with the browser test and with socket.io
// users: the script path, io(), and the element ids.
func TestIndexPage(t *testing.T) {
	rec := httptest.NewRecorder()
	NewMux(sio.NewServer(sio.Config{})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	page := rec.Body.String()
	for _, want := range []string{
		`<script src="/socket.io/socket.io.js"></script>`,
		`io()`,
		`io({ transports: ["polling"] })`,
		`id="messages"`, `id="chat-input"`, `id="chat-send"`, `id="join-red"`, `id="join-blue"`,
		`id="welcome"`, `id="score"`, `id="transport"`,
		`"chat-message"`, `"new-chat-message"`, `"join-team-room"`, `"welcome-message"`, `"score-update"`, `"client-message"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
}
