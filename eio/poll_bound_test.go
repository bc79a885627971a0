package eio_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/eio"
)

// A polling client that stops polling while the server sends is a slow
// consumer once more than MaxOutboundBytes wait: its session is closed
// with "transport error" and its queue freed. Under the bound nothing is
// lost.
func TestPollingOutboundBound(t *testing.T) {
	const bound = 64 << 10
	cfg := quietPing
	cfg.MaxOutboundBytes = bound
	msg := strings.Repeat("x", 1000)

	t.Run("under the bound", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		p := e.openPolling(t)
		s := p.session()
		// 60 records of 1005 bytes (type, index, separator): under 64 KiB.
		const n = 60
		for i := 0; i < n; i++ {
			s.Send([]byte(strconv.Itoa(i%10) + msg))
		}
		if e.isClosed(p.sid) {
			t.Fatal("session closed under the bound")
		}
		var got []string
		for len(got) < n {
			status, body := p.get(t)
			if status != 200 {
				t.Fatalf("GET: %d %q", status, body)
			}
			got = append(got, strings.Split(body, "\x1e")...)
		}
		for i, r := range got {
			if r != "4"+strconv.Itoa(i%10)+msg {
				t.Fatalf("record %d is %.10q…", i, r)
			}
		}
	})

	t.Run("past the bound", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		p := e.openPolling(t)
		s := p.session()
		sent := 0
		for !e.isClosed(p.sid) {
			if sent > 2*bound {
				t.Fatalf("session still open with %d bytes sent and never polled", sent)
			}
			s.Send([]byte(msg))
			sent += len(msg) + 2
		}
		if sent <= bound {
			t.Fatalf("closed after %d bytes, under the bound %d", sent, bound)
		}
		if ev := e.closed(t, p.sid); ev.reason != eio.ReasonTransportError {
			t.Fatalf("reason %q, want %q", ev.reason, eio.ReasonTransportError)
		}
		if eio.HasPollState(s) || e.Session(p.sid) != nil {
			t.Fatal("the slow consumer's queue or session was kept")
		}
		if status, _ := p.get(t); status != 400 {
			t.Fatalf("poll after the close: %d, want 400", status)
		}
	})
}
