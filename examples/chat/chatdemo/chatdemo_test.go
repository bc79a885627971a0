package chatdemo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
		{name: "not a number", target: "/score?team=team-red", body: "ten", wantStatus: http.StatusBadRequest},
		{name: "empty", target: "/score?team=team-red", body: "", wantStatus: http.StatusBadRequest},
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

// TestIndexPage guards the contract with the browser test and with socket.io
// users: the script path, io(), and the element ids.
func TestIndexPage(t *testing.T) {
	rec := httptest.NewRecorder()
	serveIndex(rec, httptest.NewRequest("GET", "/", nil))
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
