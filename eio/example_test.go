package eio_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// run serves srv under /engine.io/ on a free loopback port, on one event
// loop, and returns the base URL and a stop function.
func run(srv *eio.Server) (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := l.Addr().String()
	l.Close()
	ls := loop.NewServer(loop.Config{
		Addr:  addr,
		Loops: 1,
		Handler: func(x eio.Exchange) {
			if strings.HasPrefix(x.Path(), "/engine.io/") {
				srv.Handle(x)
				return
			}
			x.Respond(http.StatusNotFound, nil, nil)
		},
	})
	done := make(chan error, 1)
	go func() { done <- ls.Serve() }()
	<-ls.Ready()
	return "http://" + addr + "/engine.io/", func() {
		srv.Close()
		_ = ls.Stop(context.Background())
		<-done
	}
}

// call runs one HTTP request and returns the body.
func call(method, url, body string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var sidRE = regexp.MustCompile(`"sid":"([^"]+)"`)

// An echo server: every message goes back to its sender, text as text and
// binary as binary. The client here speaks raw long-polling: "0" is the
// open packet, "4" a text message, "b" a base64 binary message, and
// records in one body are separated by 0x1E.
func ExampleServer() {
	srv := eio.NewServer(eio.Config{})
	srv.OnConnection(func(s *eio.Session) {
		s.OnMessage(func(data []byte, binary bool) {
			if binary {
				s.SendBinary(data)
			} else {
				s.Send(data)
			}
		})
	})
	base, stop := run(srv)
	defer stop()

	open := call("GET", base+"?EIO=4&transport=polling", "")
	fmt.Println(sidRE.ReplaceAllString(open, `"sid":"…"`))
	url := base + "?EIO=4&transport=polling&sid=" + sidRE.FindStringSubmatch(open)[1]

	fmt.Println(call("POST", url, "4hello\x1ebAQID"))
	fmt.Printf("%q\n", call("GET", url, ""))
	// Output:
	// 0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
	// ok
	// "4hello\x1ebAQID"
}

// OnClose reports why a session ended, in engine.io's words.
func ExampleSession_OnClose() {
	reasons := make(chan string, 1)
	srv := eio.NewServer(eio.Config{})
	srv.OnConnection(func(s *eio.Session) {
		s.OnClose(func(reason string) { reasons <- reason })
	})
	base, stop := run(srv)
	defer stop()

	open := call("GET", base+"?EIO=4&transport=polling", "")
	url := base + "?EIO=4&transport=polling&sid=" + sidRE.FindStringSubmatch(open)[1]
	call("POST", url, "2") // a ping from the client: not allowed in v4
	fmt.Println(<-reasons)
	fmt.Println(call("GET", url, ""))
	// Output:
	// transport error
	// {"code":1,"message":"Session ID unknown"}
}

// counter is one connection's state. It is the session's Handler, so a
// session needs no closure of its own.
type counter struct {
	s      *eio.Session
	n      int // OnMessage calls of one session never overlap
	closed chan<- string
}

func (c *counter) OnMessage(data []byte, binary bool) {
	c.n++
	c.s.Send(fmt.Appendf(nil, "%d:%s", c.n, data))
}

func (c *counter) OnClose(reason string) { c.closed <- reason }

// SetHandler gives a session one object that handles its messages and its
// end.
func ExampleSession_SetHandler() {
	closed := make(chan string, 1)
	srv := eio.NewServer(eio.Config{})
	srv.OnConnection(func(s *eio.Session) {
		s.SetHandler(&counter{s: s, closed: closed})
	})
	base, stop := run(srv)
	defer stop()

	open := call("GET", base+"?EIO=4&transport=polling", "")
	url := base + "?EIO=4&transport=polling&sid=" + sidRE.FindStringSubmatch(open)[1]
	fmt.Println(call("POST", url, "4a\x1e4b"))
	fmt.Printf("%q\n", call("GET", url, ""))
	call("POST", url, "1") // the client closes
	fmt.Println(<-closed)
	// Output:
	// ok
	// "41:a\x1e42:b"
	// transport close
}

// Prepare encodes a message once for every transport; SendPrepared then
// costs a copy per session. Frames is the WebSocket form: a text frame
// holding "4"+text, then one binary frame per attachment.
func ExamplePrepare() {
	p := eio.Prepare([]byte("hello"), []byte{1, 2, 3})
	fmt.Printf("%q\n", p.Frames())
	// Output:
	// "\x81\x064hello\x82\x03\x01\x02\x03"
}
