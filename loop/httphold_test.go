package loop

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// TestHTTPInputHeldWhileRequestPending (hole 1): a client parks a request
// (the handler does not answer it, like a long-polling GET) and pipelines
// 64 MiB of requests behind it without reading. The server stops reading
// once one maximal request is buffered, so the client's writes stall; a
// second client on the same loop is served meanwhile; once the parked
// request is answered the pipeline is served in order.
func TestHTTPInputHeldWhileRequestPending(t *testing.T) {
	const (
		maxHeader = 4 << 10
		maxBody   = 64 << 10
		body      = 32 << 10
		total     = 64 << 20
	)
	parked := make(chan eio.Exchange, 1)
	srv := NewServer(Config{Addr: freeAddr(t), Loops: 1, MaxHeaderBytes: maxHeader, MaxBodyBytes: maxBody,
		Handler: func(x eio.Exchange) {
			if x.Path() == "/park" {
				parked <- x
				return
			}
			x.Respond(200, nil, []byte(x.Path()))
		}})
	runServer(t, srv)

	nc, err := net.Dial("tcp", srv.cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, "GET /park HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	x := recv(t, parked, "parked request")
	c := x.(*exchange).c

	var pipeline strings.Builder
	filler := strings.Repeat("a", body)
	for i := 0; pipeline.Len() < total; i++ {
		fmt.Fprintf(&pipeline, "POST /%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", i, body, filler)
	}
	stream := []byte(pipeline.String())
	_ = nc.SetWriteDeadline(time.Now().Add(3 * time.Second))
	n, err := nc.Write(stream)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("the client wrote %d of %d pipelined bytes behind a parked request (err %v): the server kept reading", n, len(stream), err)
	}
	var buffered int
	onLoop(t, c.lp, func() { buffered = c.gc.InboundBuffered() })
	limit := maxHeader + maxBody + 64<<10 // one maximal request and one gnet read
	t.Logf("the client got %d bytes in; the server buffers %d (limit %d)", n, buffered, limit)
	if buffered > limit {
		t.Fatalf("the server buffers %d bytes behind a parked request, want <= %d", buffered, limit)
	}

	// Another client on the same (only) loop is served.
	other, err := net.Dial("tcp", srv.cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_ = other.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(other, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := readBody(t, bufio.NewReader(other)); got != "/other" {
		t.Fatalf("second client got %q", got)
	}

	// Answering the parked request resumes the pipeline, in order.
	x.Respond(200, nil, []byte("parked"))
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	for i, want := range []string{"parked", "/0", "/1", "/2"} {
		if got := readBody(t, br); got != want {
			t.Fatalf("response %d: got %q, want %q", i, got, want)
		}
	}
}

func readBody(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}
