package admin_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/admin"
	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/sio"
)

// features decodes a config event's supportedFeatures.
func features(t *testing.T, ev event) []string {
	t.Helper()
	var cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	if err := json.Unmarshal(ev.args[0], &cfg); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, ev.args[0]); got != "supportedFeatures" {
		t.Fatalf("config has keys %s", got)
	}
	return cfg.SupportedFeatures
}

func TestOptionsChecked(t *testing.T) {
	srv := sio.NewServer(sio.Config{})
	for _, tc := range []struct {
		opts admin.Options
		want string
	}{
		{admin.Options{}, "must be specified"},
		{admin.Options{Auth: &admin.BasicAuth{Username: "a", Password: "plain"}}, "valid bcrypt hash"},
		{admin.Options{NoAuth: true, Auth: &admin.BasicAuth{Username: "a", Password: testHash}}, "both"},
		{admin.Options{NoAuth: true, Mode: "staging"}, "unknown mode"},
	} {
		if _, err := admin.Instrument(srv, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Instrument(%+v) = %v, want an error with %q", tc.opts, err, tc.want)
		}
	}
}

// TestBasicAuth: the UI's {username, password} is checked against the
// bcrypt hash; a wrong one is refused as admin-ui refuses it
// (connect_error "invalid credentials", no data); a good one gets a
// session id, which then logs in alone.
func TestBasicAuth(t *testing.T) {
	_, _, base := startServer(t, sio.Config{}, admin.Options{
		Auth: &admin.BasicAuth{Username: "admin", Password: testHash},
	}, nil)
	for _, auth := range []any{
		nil,
		map[string]any{"username": "admin", "password": "wrong"},
		map[string]any{"username": "root", "password": "changeit"},
		map[string]any{"username": "admin", "password": 42},
		map[string]any{"sessionId": "0123456789abcdef"},
	} {
		_, err := dial(t, base, "/admin", auth, "websocket")
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "invalid credentials" || ce.Data != nil {
			t.Errorf("auth %v: got %v, want connect_error \"invalid credentials\" without data", auth, err)
		}
	}
	r := mustDial(t, base, "/admin", map[string]any{"username": "admin", "password": "changeit"})
	sid := str(t, r.next("session", nil).args[0])
	if len(sid) != 16 || strings.Trim(sid, "0123456789abcdef") != "" {
		t.Errorf("session id %q, want 16 hex digits", sid)
	}
	r.next("config", nil)
	r.next("all_sockets", nil)
	// In this order, as admin-ui sends them; its own room_joined and
	// socket_connected may come in between.
	var own []string
	for _, n := range r.names() {
		if n == "session" || n == "config" || n == "all_sockets" {
			own = append(own, n)
		}
	}
	if !slices.Equal(own, []string{"session", "config", "all_sockets"}) {
		t.Errorf("first events %v, want session, config, all_sockets", r.names())
	}

	again := mustDial(t, base, "/admin", map[string]any{"sessionId": sid})
	again.next("config", nil)
	if slices.Contains(again.names(), "session") {
		t.Errorf("a session login was sent a new session id: %v", again.names())
	}
}

// TestConfigAndServerStats checks the config and server_stats a UI gets.
func TestConfigAndServerStats(t *testing.T) {
	_, _, base := startServer(t, sio.Config{}, admin.Options{NoAuth: true, ServerID: "node-7"}, nil)
	r := mustDial(t, base, "/admin", nil, "websocket")
	want := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}
	if got := features(t, r.next("config", nil)); !slices.Equal(got, want) {
		t.Errorf("supportedFeatures %v, want %v", got, want)
	}
	all := r.next("all_sockets", nil)
	var socks []map[string]json.RawMessage
	if err := json.Unmarshal(all.args[0], &socks); err != nil {
		t.Fatal(err)
	}
	// The admin socket itself is one of the server's sockets.
	if len(socks) != 1 || str(t, socks[0]["nsp"]) != "/admin" || str(t, socks[0]["id"]) != r.s.ID() {
		t.Errorf("all_sockets %s, want the admin socket", all.args[0])
	}

	ev := r.next("server_stats", func(args []json.RawMessage) bool {
		return strings.Contains(string(args[0]), `"name":"/admin","socketsCount":1`)
	})
	if got := keys(t, ev.args[0]); got != "aggregatedEvents,clientsCount,hostname,namespaces,pid,pollingClientsCount,serverId,uptime" {
		t.Errorf("server_stats keys %s", got)
	}
	var st struct {
		ServerID            string  `json:"serverId"`
		Hostname            string  `json:"hostname"`
		PID                 int     `json:"pid"`
		Uptime              float64 `json:"uptime"`
		ClientsCount        int     `json:"clientsCount"`
		PollingClientsCount int     `json:"pollingClientsCount"`
		AggregatedEvents    []struct {
			Timestamp int64  `json:"timestamp"`
			Type      string `json:"type"`
			SubType   string `json:"subType"`
			Count     int    `json:"count"`
		} `json:"aggregatedEvents"`
		Namespaces []struct {
			Name         string `json:"name"`
			SocketsCount int    `json:"socketsCount"`
		} `json:"namespaces"`
	}
	if err := json.Unmarshal(ev.args[0], &st); err != nil {
		t.Fatal(err)
	}
	if st.ServerID != "node-7" || st.Hostname == "" || st.PID <= 0 || st.Uptime <= 0 || st.ClientsCount != 1 || st.PollingClientsCount != 0 {
		t.Errorf("server_stats %s", ev.args[0])
	}
	if len(st.Namespaces) != 2 || st.Namespaces[0].Name != "/" || st.Namespaces[1].Name != "/admin" {
		t.Errorf("namespaces %+v", st.Namespaces)
	}
	// The admin client's own connection is counted.
	for {
		types := map[string]bool{}
		for _, a := range st.AggregatedEvents {
			types[a.Type] = true
			if a.Timestamp%1000 != 0 || a.Count <= 0 {
				t.Errorf("aggregated event %+v", a)
			}
		}
		if types["rawConnection"] && types["packetsOut"] && types["bytesOut"] {
			break
		}
		ev = r.next("server_stats", nil)
		var more struct {
			AggregatedEvents []struct {
				Timestamp int64  `json:"timestamp"`
				Type      string `json:"type"`
				SubType   string `json:"subType"`
				Count     int    `json:"count"`
			} `json:"aggregatedEvents"`
		}
		if err := json.Unmarshal(ev.args[0], &more); err != nil {
			t.Fatal(err)
		}
		st.AggregatedEvents = append(st.AggregatedEvents, more.AggregatedEvents...)
	}
}
