package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sioloop/sioloop/admin"
	"github.com/sioloop/sioloop/internal/testutil"
	"github.com/sioloop/sioloop/sio"
)

func inCI() bool { return testutil.InCI() }

// requireBrowser returns node and the UI's files, skipping on a developer
// machine (failing under CI) when node, Chromium, playwright-core or the
// pinned @socket.io/admin-ui are missing.
func requireBrowser(t *testing.T, root string) (node, uiDir string) {
	t.Helper()
	ui := filepath.Join("node_modules", "@socket.io", "admin-ui", "ui", "dist")
	node = testutil.RequireBrowser(t, "the Admin UI browser test", root,
		testutil.Need{Path: filepath.Join(ui, "index.html"), Install: "node_modules/@socket.io/admin-ui (npm ci)"})
	return node, filepath.Join(root, ui)
}

// TestAdminUIInBrowser serves the Admin UI's own build from another origin
// (as https://admin.socket.io is), logs in through its form, checks that
// it lists the server's sockets and rooms, and clicks the disconnect
// button of one socket, which must disconnect it on the server.
func TestAdminUIInBrowser(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	node, uiDir := requireBrowser(t, root)
	ui := httptest.NewServer(http.FileServer(http.Dir(uiDir)))
	defer ui.Close()

	kicked := make(chan string, 4)
	srv, _, base := startServer(t, sio.Config{
		// The UI connects with withCredentials: true.
		CORS: &sio.CORS{Origins: []string{ui.URL}, Credentials: true},
	}, admin.Options{Auth: &admin.BasicAuth{Username: "admin", Password: testHash}}, func(srv *sio.Server) {
		chatServer(srv)
		srv.OnConnection(func(s *sio.Socket) {
			s.OnDisconnect(func(reason string) { kicked <- s.ID() + " " + reason })
		})
	})
	a := mustDial(t, base, "/", nil)
	b := mustDial(t, base, "/", nil, "websocket")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := a.s.EmitWithAck(ctx, "join", "lobby"); err != nil {
		t.Fatal(err)
	}
	idA, idB := a.s.ID(), b.s.ID()
	spec, _ := json.Marshal(map[string]any{"sockets": []string{idA, idB}, "room": "lobby", "kick": idB})

	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "ui.spec.mjs"), ui.URL, base, string(spec))
	cmd.Env = testutil.BrowserEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ui.spec.mjs: %v\n%s", err, out)
	}
	t.Logf("ui.spec.mjs:\n%s", out)
	select {
	case got := <-kicked:
		if want := idB + " " + sio.ReasonServerNamespaceDisconnect; got != want {
			t.Errorf("server saw %q, want %q", got, want)
		}
	case <-time.After(wait):
		t.Fatal("the UI's disconnect never reached the server")
	}
	if s := srv.Of("/").Socket(idA); s == nil || !s.Connected() {
		t.Error("the other socket was disconnected too")
	}
}
