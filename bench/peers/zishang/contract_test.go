package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// sioClient speaks just enough Engine.IO v4 / Socket.IO v5 over WebSocket
// to check the benchmark contract.
type sioClient struct {
	t  *testing.T
	nc net.Conn
	rw io.ReadWriter
}

func connect(t *testing.T, url string) *sioClient {
	t.Helper()
	nc, br, _, err := ws.Dial(context.Background(), url+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	var r io.Reader = nc
	if br != nil {
		r = io.MultiReader(br, nc)
	}
	c := &sioClient{t: t, nc: nc, rw: struct {
		io.Reader
		io.Writer
	}{bufio.NewReader(r), nc}}
	if p := c.recv(); !strings.HasPrefix(p, "0{") {
		t.Fatalf("open packet %q", p)
	}
	c.send("40")
	if p := c.recv(); !strings.HasPrefix(p, "40") {
		t.Fatalf("connect packet %q", p)
	}
	return c
}

func (c *sioClient) send(p string) {
	if err := wsutil.WriteClientText(c.nc, []byte(p)); err != nil {
		c.t.Fatal(err)
	}
}

// recv returns the next packet that is not a ping.
func (c *sioClient) recv() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		b, err := wsutil.ReadServerText(c.rw)
		if err != nil {
			c.t.Fatal(err)
		}
		if string(b) == "2" {
			c.send("3")
			continue
		}
		return string(b)
	}
}

func TestContract(t *testing.T) {
	_, h := newHandler()
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	sub, pub := connect(t, url), connect(t, url)
	sub.send(`425["join","r1"]`)
	if p := sub.recv(); !strings.HasPrefix(p, "435[") {
		t.Fatalf("join ack %q", p)
	}

	pub.send(`42["bcast",{"room":"r1","s":3,"seq":9,"t":1764096000000000,"pad":"xx"}]`)
	p := sub.recv()
	if !strings.HasPrefix(p, `42["msg",`) {
		t.Fatalf("delivery %q", p)
	}
	if err := json.Unmarshal([]byte(p[2:]), &[]any{}); err != nil {
		t.Fatalf("delivery is not JSON: %q", p)
	}
	// Every field round-trips as a plain integer (no exponent), as the load
	// tool extracts them by substring.
	for _, want := range []string{`"t":1764096000000000`, `"s":3`, `"seq":9`, `"room":"r1"`, `"pad":"xx"`} {
		if !strings.Contains(p, want) {
			t.Errorf("delivery %q lacks %s", p, want)
		}
	}

	pub.send(`4277["echo",{"t":123,"pad":"yy"}]`)
	if p := pub.recv(); p != `4377[{"pad":"yy","t":123}]` && p != `4377[{"t":123,"pad":"yy"}]` {
		t.Fatalf("echo ack %q", p)
	}
}
