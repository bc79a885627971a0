package sio_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// TestStructBinaryRoundTrip: placeholders sent by a client decode into
// []byte fields of a Go struct (nested, in a slice, behind a pointer), and
// acknowledging with that struct sends the fields back as binary
// attachments, in the same depth-first order, not as base64 strings.
func TestStructBinaryRoundTrip(t *testing.T) {
	type part struct {
		Data []byte `json:"data"`
	}
	type msg struct {
		Name  string `json:"name"`
		Inner struct {
			Data []byte `json:"data"`
		} `json:"inner"`
		List []part `json:"list"`
		P    *part  `json:"p"`
		None []byte `json:"none"`
	}
	decoded := make(chan msg, 1)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			s.On("struct-echo", func(ev *sio.Event) {
				var m msg
				if err := ev.Decode(&m); err != nil {
					t.Errorf("Decode: %v", err)
					return
				}
				decoded <- m
				if err := ev.Ack(m); err != nil {
					t.Errorf("Ack: %v", err)
				}
			})
		})
	})
	c, id := ts.connectWS(t)
	ph := func(n string) string { return `{"_placeholder":true,"num":` + n + `}` }
	body := `{"name":"n","inner":{"data":` + ph("1") + `},"list":[{"data":` + ph("0") + `},{"data":` + ph("2") + `}],"p":{"data":` + ph("3") + `},"none":null}`
	c.send(t, `454-7["struct-echo",`+body+`]`)
	bins := [][]byte{{0xa0}, {0xa1, 0xa1}, {}, {0xa3}}
	for _, b := range bins {
		c.sendBinary(t, b)
	}
	var m msg
	select {
	case m = <-decoded:
	case <-time.After(wait):
		t.Fatalf("struct-echo not decoded; server saw %q", ts.eventsOf(id))
	}
	if m.Name != "n" || !bytes.Equal(m.Inner.Data, bins[1]) || len(m.List) != 2 || !bytes.Equal(m.List[0].Data, bins[0]) ||
		len(m.List[1].Data) != 0 || m.P == nil || !bytes.Equal(m.P.Data, bins[3]) || m.None != nil {
		t.Fatalf("decoded %+v", m)
	}

	// The ack renumbers in output order: inner first.
	want := `464-7[{"name":"n","inner":{"data":` + ph("0") + `},"list":[{"data":` + ph("1") + `},{"data":` + ph("2") + `}],"p":{"data":` + ph("3") + `},"none":null}]`
	if got := c.next(t); got != want {
		t.Fatalf("ack\n%s\nwant\n%s", got, want)
	}
	for i, w := range [][]byte{bins[1], bins[0], bins[2], bins[3]} {
		if got := c.nextBinary(t); !bytes.Equal(got, w) {
			t.Fatalf("attachment %d = %x, want %x", i, got, w)
		}
	}
}
