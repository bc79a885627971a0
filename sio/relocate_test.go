package sio_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// TestUpgradeRelocatesInOrder connects clients as a browser's io() does
// (a polling handshake on its own connection, CONNECT and a room joined
// over polling, then the WebSocket upgrade) to a two-loop server while the
// server streams, from one goroutine, a room broadcast and a direct emit to
// each socket per step: b0 d0 b1 d1 ... Each client must see that sequence
// whole and in order across the upgrade, and every upgraded client's
// socket must end up in its WebSocket's loop group; some clients must have
// moved between groups, or the test proves nothing.
func TestUpgradeRelocatesInOrder(t *testing.T) {
	const clients = 16
	conns := make(chan *sio.Socket, clients)
	ts := startServer(t, sio.Config{Loops: 2}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			s.Join("r")
			conns <- s
		})
	})
	type result struct {
		got []string
		err error
	}
	results := make(chan result, clients)
	var upgraded atomic.Int32
	for i := 0; i < clients; i++ {
		go func() {
			got, err := upgradeDuringStream(ts, &upgraded)
			results <- result{got, err}
		}()
	}
	var socks []*sio.Socket
	first := map[*sio.Socket]int{}
	for len(socks) < clients {
		select {
		case s := <-conns:
			socks = append(socks, s)
			first[s] = sio.SocketGroup(s)
		case <-time.After(wait):
			t.Fatalf("%d of %d clients connected", len(socks), clients)
		}
	}
	// The stream: the clients start their upgrade once they have seen its
	// first messages; it goes on until all of them have upgraded, and a
	// while after.
	deadline := time.Now().Add(3 * wait)
	after := -1
	for i := 0; ; i++ {
		_ = ts.To("r").Emit("b", i)
		for _, s := range socks {
			_ = s.Emit("d", i)
		}
		if after < 0 && upgraded.Load() == clients {
			after = i + 200
		}
		if i == after || time.Now().After(deadline) {
			break
		}
		if i%8 == 0 {
			time.Sleep(time.Millisecond) // pacing, so the stream spans the upgrades
		}
	}
	_ = ts.To("r").Emit("end")
	for i := 0; i < clients; i++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if err := checkStream(r.got); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	moved := 0
	for _, s := range socks {
		if g, c := sio.SocketGroup(s), sio.ConnGroup(s); g != c {
			t.Errorf("socket %s: group %d after the upgrade, its WebSocket is on loop %d", s.ID(), g, c)
		}
		if sio.SocketGroup(s) != first[s] {
			moved++
		}
	}
	if moved == 0 {
		t.Fatalf("none of %d clients changed loops on upgrading; the test needs some that do", clients)
	}
	t.Logf("%d of %d clients moved to another loop", moved, clients)
}

// checkStream requires got to be b k, d k, b k+1, d k+1, ... from its first
// message on, ending with "end".
func checkStream(got []string) error {
	if len(got) < 3 || got[len(got)-1] != "end" {
		return fmt.Errorf("stream of %d messages does not end with end: %.200q", len(got), got)
	}
	var kind string
	var n int
	if _, err := fmt.Sscanf(got[0], "%1s %d", &kind, &n); err != nil {
		return fmt.Errorf("first message %q", got[0])
	}
	want := got[0]
	for i, m := range got[:len(got)-1] {
		if m != want {
			return fmt.Errorf("message %d is %q, want %q (previous %q)", i, m, want, got[max(0, i-3):i])
		}
		if kind == "b" {
			kind = "d"
		} else {
			kind, n = "b", n+1
		}
		want = fmt.Sprintf("%s %d", kind, n)
	}
	return nil
}

// upgradeDuringStream is one browser-like client: it connects over polling,
// polls until the stream has begun, upgrades (pausing polling as
// engine.io-client does: the upgrade is sent once the poll in flight came
// back), then reads the WebSocket until "end". It returns every stream
// message as "b 3", "d 3" or "end".
func upgradeDuringStream(ts *testServer, upgraded *atomic.Int32) ([]string, error) {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: wait}
	defer hc.CloseIdleConnections()
	do := func(method, url, body string) (string, error) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			return "", err
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: status %d %q", method, resp.StatusCode, b)
		}
		return string(b), err
	}
	body, err := do(http.MethodGet, ts.url("http", "EIO=4&transport=polling"), "")
	if err != nil {
		return nil, err
	}
	m := openRE.FindStringSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("handshake %q", body)
	}
	sid := m[1]
	pollURL := ts.url("http", "EIO=4&transport=polling&sid="+sid)
	if _, err := do(http.MethodPost, pollURL, "40"); err != nil {
		return nil, err
	}
	var got []string
	take := func(pkt string) error {
		switch {
		case pkt == "" || pkt == "6" || strings.HasPrefix(pkt, "40"):
		case pkt == "2":
			_, err := do(http.MethodPost, pollURL, "3")
			return err
		case strings.HasPrefix(pkt, `42["b",`), strings.HasPrefix(pkt, `42["d",`):
			got = append(got, pkt[4:5]+" "+strings.TrimSuffix(pkt[7:], "]"))
		case pkt == `42["end"]`:
			got = append(got, "end")
		default:
			return fmt.Errorf("unexpected packet %q", pkt)
		}
		return nil
	}
	for len(got) == 0 {
		body, err := do(http.MethodGet, pollURL, "")
		if err != nil {
			return nil, err
		}
		for _, pkt := range strings.Split(body, "\x1e") {
			if err := take(pkt); err != nil {
				return nil, err
			}
		}
	}
	// The upgrade: probe on the WebSocket while a poll is in flight, as
	// engine.io-client's polling keeps one; the server answers that poll
	// once the probe stands.
	polled := make(chan error, 1)
	var polledBody string
	go func() {
		b, err := do(http.MethodGet, pollURL, "")
		polledBody = b
		polled <- err
	}()
	c, err := tryDialWS(ts.url("ws", "EIO=4&transport=websocket&sid="+sid))
	if err != nil {
		return nil, err
	}
	defer c.conn.Close()
	c.autoPong = true
	if err := c.trySend(1, []byte("2probe")); err != nil {
		return nil, err
	}
	msg, err := c.readMessage(wait)
	if err != nil || string(msg.data) != "3probe" {
		return nil, fmt.Errorf("probe answer %q, %v", msg.data, err)
	}
	if err := <-polled; err != nil {
		return nil, err
	}
	for _, pkt := range strings.Split(polledBody, "\x1e") {
		if err := take(pkt); err != nil {
			return nil, err
		}
	}
	if err := c.trySend(1, []byte("5")); err != nil {
		return nil, err
	}
	upgraded.Add(1)
	for len(got) == 0 || got[len(got)-1] != "end" {
		msg, err := c.readMessage(3 * wait)
		if err != nil {
			return got, fmt.Errorf("after %d messages: %v", len(got), err)
		}
		if err := take(string(msg.data)); err != nil {
			return got, err
		}
	}
	return got, nil
}
