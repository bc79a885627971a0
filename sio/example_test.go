package sio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing/fstest"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/sioloop/sioloop/sio"
)

// The examples start a real server on a loopback port and talk to it with a
// few lines of raw Engine.IO long-polling (the wire format a browser uses
// before it upgrades), printing exactly what a client receives. Random ids
// are printed as "…".

// listen runs srv on a free loopback port and returns the address once it
// accepts connections.
func listen(srv *sio.Server, fallback http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := l.Addr().String()
	l.Close()
	go func() { _ = srv.ListenAndServe(addr, fallback) }()
	<-srv.Ready()
	return addr
}

var idRE = regexp.MustCompile(`"(sid|pid)":"[A-Za-z0-9_-]+"`)

// hideIDs replaces random session and socket ids.
func hideIDs(s string) string { return idRE.ReplaceAllString(s, `"$1":"…"`) }

// poller is a minimal Engine.IO long-polling client.
type poller struct {
	url     string
	pending []string // packets received but not yet returned
}

// dial performs the Engine.IO handshake at base (".../socket.io/").
func dial(base string) *poller {
	body := httpCall("GET", base+"?EIO=4&transport=polling", "")
	var open struct{ Sid string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(body, "0")), &open); err != nil {
		panic(body)
	}
	return &poller{url: base + "?EIO=4&transport=polling&sid=" + open.Sid}
}

// close ends the session with a close packet, as a client leaving does;
// the server then need not wait for its next poll to say goodbye.
func (p *poller) close() { httpCall("POST", p.url, "1") }

// send posts packets in one payload (records separated by 0x1E).
func (p *poller) send(packets ...string) {
	if r := httpCall("POST", p.url, strings.Join(packets, "\x1e")); r != "ok" {
		panic(r)
	}
}

// recv returns the next packet, polling as often as needed.
func (p *poller) recv() string {
	for len(p.pending) == 0 {
		p.pending = strings.Split(httpCall("GET", p.url, ""), "\x1e")
	}
	pk := p.pending[0]
	p.pending = p.pending[1:]
	return pk
}

func httpCall(method, url, body string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A server that acknowledges "chat" events: the client joins the main
// namespace ("40"), then sends event 1 with an ack request.
func Example() {
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("chat", func(ev *sio.Event) {
			var msg string
			if err := ev.Decode(&msg); err != nil {
				return
			}
			_ = ev.Ack("got " + msg)
		})
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	fmt.Println(hideIDs(c.recv()))
	c.send(`421["chat","hello"]`)
	fmt.Println(c.recv())
	// Output:
	// 40{"sid":"…"}
	// 431["got hello"]
}

// Emit sends an event to one socket; arguments are JSON-encoded, []byte
// values travel as binary attachments.
func ExampleServer_OnConnection() {
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		_ = s.Emit("welcome", "hi", map[string]int{"players": 3}, []byte{1, 2, 3})
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	fmt.Println(hideIDs(c.recv()))
	fmt.Println(c.recv()) // the event, with a placeholder for the bytes
	fmt.Println(c.recv()) // the attachment: "b" + base64 over polling
	// Output:
	// 40{"sid":"…"}
	// 451-["welcome","hi",{"players":3},{"_placeholder":true,"num":0}]
	// bAQID
}

// Binary arguments arrive as attachments; Decode fills []byte targets.
func ExampleEvent_Decode() {
	got := make(chan string, 1)
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("upload", func(ev *sio.Event) {
			var name string
			var data []byte
			if err := ev.Decode(&name, &data); err != nil {
				got <- err.Error()
				return
			}
			got <- fmt.Sprintf("%s: %d bytes %v", name, len(data), data)
		})
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	c.recv()
	c.send(`451-["upload","a.bin",{"_placeholder":true,"num":0}]`, "bAQID")
	fmt.Println(<-got)
	// Output:
	// a.bin: 3 bytes [1 2 3]
}

// Rooms: To selects sockets in a room, Except removes those in another.
func ExampleBroadcastOperator_Except() {
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(ev *sio.Event) {
			var rooms []string
			_ = ev.Decode(&rooms)
			s.Join(rooms...)
			_ = ev.Ack()
		})
	})
	addr := listen(srv, nil)
	defer srv.Close()

	alice := dial("http://" + addr + "/socket.io/")
	defer alice.close()
	bob := dial("http://" + addr + "/socket.io/")
	defer bob.close()
	for _, c := range []*poller{alice, bob} {
		c.send("40")
		c.recv()
	}
	alice.send(`421["join",["news"]]`)
	fmt.Println("alice:", alice.recv())
	bob.send(`421["join",["news","muted"]]`)
	fmt.Println("bob:", bob.recv())

	_ = srv.To("news").Except("muted").Emit("headline", "rooms work")
	_ = srv.Emit("bye") // everyone
	fmt.Println("alice:", alice.recv())
	fmt.Println("alice:", alice.recv())
	fmt.Println("bob:", bob.recv())
	// Output:
	// alice: 431[]
	// bob: 431[]
	// alice: 42["headline","rooms work"]
	// alice: 42["bye"]
	// bob: 42["bye"]
}

// Socket.Broadcast (and Socket.To) reach everyone but the sender.
func ExampleSocket_Broadcast() {
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("shout", func(ev *sio.Event) {
			_ = s.Broadcast().Emit("heard", ev.Arg(0))
			_ = ev.Ack("sent")
		})
	})
	addr := listen(srv, nil)
	defer srv.Close()

	a := dial("http://" + addr + "/socket.io/")
	defer a.close()
	b := dial("http://" + addr + "/socket.io/")
	defer b.close()
	for _, c := range []*poller{a, b} {
		c.send("40")
		c.recv()
	}
	a.send(`421["shout","hey"]`)
	fmt.Println("a:", a.recv())
	fmt.Println("b:", b.recv())
	// Output:
	// a: 431["sent"]
	// b: 42["heard","hey"]
}

// Namespaces share one connection; the client joins each with its own
// CONNECT, and packets carry the namespace name.
func ExampleServer_Of() {
	srv := sio.NewServer(sio.Config{})
	srv.Of("/admin").OnConnection(func(s *sio.Socket) {
		_ = s.Emit("hello", "admin")
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40/admin,")
	fmt.Println(hideIDs(c.recv()))
	fmt.Println(c.recv())
	c.send("40/unknown,")
	fmt.Println(c.recv())
	// Output:
	// 40/admin,{"sid":"…"}
	// 42/admin,["hello","admin"]
	// 44/unknown,{"message":"Invalid namespace"}
}

// Middleware can refuse a connection; a *ConnectError carries data to the
// client's connect_error handler.
func ExampleNamespace_Use() {
	srv := sio.NewServer(sio.Config{})
	srv.Of("/private").Use(func(s *sio.Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" {
			return &sio.ConnectError{Message: "not authorized", Data: map[string]string{"reason": "bad token"}}
		}
		return nil
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send(`40/private,{"token":"guess"}`)
	fmt.Println(c.recv())
	c.send(`40/private,{"token":"secret"}`)
	fmt.Println(hideIDs(c.recv()))
	// Output:
	// 44/private,{"message":"not authorized","data":{"reason":"bad token"}}
	// 40/private,{"sid":"…"}
}

// EmitWithAck waits for the client's answer (or the context's end).
func ExampleSocket_EmitWithAck() {
	answers := make(chan string, 1)
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		// EmitWithAck blocks: run it off the handler so the socket keeps
		// receiving (the answer itself arrives through the handler queue).
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m, err := s.EmitWithAck(ctx, "question", "ready?")
			if err != nil {
				answers <- err.Error()
				return
			}
			var answer string
			_ = m.Decode(&answer)
			answers <- answer
		}()
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	c.recv()
	q := c.recv()
	fmt.Println(q)
	id := strings.TrimSuffix(strings.TrimPrefix(q, "42"), `["question","ready?"]`)
	c.send("43" + id + `["yes"]`)
	fmt.Println("server got:", <-answers)
	// Output:
	// 420["question","ready?"]
	// server got: yes
}

// ListenAndServe serves Socket.IO on event loops and hands every other path
// to a fallback handler. This client uses WebSocket directly.
func ExampleServer_ListenAndServe() {
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("ping?", func(ev *sio.Event) { _ = ev.Ack("pong!") })
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok from the fallback mux")
	})
	addr := listen(srv, mux)
	defer srv.Close()

	fmt.Println(httpCall("GET", "http://"+addr+"/health", ""))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	// The server speaks first (the open packet), so frames may already sit
	// in the handshake's read buffer.
	rw := struct {
		io.Reader
		io.Writer
	}{conn, conn}
	if br != nil {
		rw.Reader = br
	}
	read := func() string {
		b, err := wsutil.ReadServerText(rw)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	open := read()
	fmt.Println(hideIDs(open))
	_ = wsutil.WriteClientText(conn, []byte("40"))
	fmt.Println(hideIDs(read()))
	_ = wsutil.WriteClientText(conn, []byte(`421["ping?"]`))
	fmt.Println(read())
	// Output:
	// ok from the fallback mux
	// 0{"sid":"…","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
	// 40{"sid":"…"}
	// 431["pong!"]
}

// A Server is an http.Handler: mount it in an existing net/http server.
// Polling is answered by net/http; WebSocket connections are moved onto
// event loops.
func ExampleServer_ServeHTTP() {
	srv := sio.NewServer(sio.Config{})
	defer srv.Close()
	srv.OnConnection(func(s *sio.Socket) {
		s.On("echo", func(ev *sio.Event) { _ = ev.Ack(ev.Arg(0)) })
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()

	c := dial(hs.URL + "/socket.io/")
	defer c.close()
	c.send("40")
	fmt.Println(hideIDs(c.recv()))
	c.send(`421["echo",{"kept":"as sent","n":1}]`)
	fmt.Println(c.recv())
	// Output:
	// 40{"sid":"…"}
	// 431[{"kept":"as sent","n":1}]
}

// Socket.Use runs before every incoming event; an error stops the event and
// goes to the OnError handlers.
func ExampleSocket_Use() {
	errs := make(chan string, 1)
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.Use(func(ev *sio.Event) error {
			if ev.Name == "admin-only" {
				return errors.New("forbidden event " + ev.Name)
			}
			return nil
		})
		s.OnError(func(err error) { errs <- err.Error() })
		s.On("echo", func(ev *sio.Event) { _ = ev.Ack(ev.Arg(0)) })
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	c.recv()
	c.send(`42["admin-only"]`, `421["echo","fine"]`)
	fmt.Println(<-errs)
	fmt.Println(c.recv())
	// Output:
	// forbidden event admin-only
	// 431["fine"]
}

// Disconnect reasons use socket.io's words.
func ExampleSocket_OnDisconnect() {
	reasons := make(chan string, 1)
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.OnDisconnect(func(reason string) { reasons <- reason })
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	c.recv()
	c.send("41") // the client leaves the namespace
	fmt.Println(<-reasons)
	// Output:
	// client namespace disconnect
}

// FetchSockets returns the selected sockets of every node of a cluster
// (here one node), with their rooms and data; Local leads back to the
// *Socket of this node.
func ExampleBroadcastOperator_FetchSockets() {
	joined := make(chan struct{})
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.SetData(map[string]string{"user": "ann"})
		s.Join("team-red")
		close(joined)
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	c.recv()
	<-joined
	sockets, err := srv.In("team-red").FetchSockets(context.Background())
	if err != nil {
		panic(err)
	}
	for _, r := range sockets {
		fmt.Println(len(r.Rooms), r.Rooms[1], r.Data(), r.Local() != nil)
	}
	// Output:
	// 2 team-red map[user:ann] true
}

// A handler waiting on something slow stops when its client goes: the
// socket's Context ends, with ErrDisconnected as its cause, as soon as the
// client leaves, before the disconnect reaches the handlers behind it.
func ExampleSocket_Context() {
	ended := make(chan error, 1)
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("slow", func(*sio.Event) {
			ctx := s.Context()
			select {
			case <-ctx.Done():
				ended <- context.Cause(ctx)
			case <-time.After(time.Minute):
				ended <- errors.New("still waiting")
			}
		})
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	c.recv()
	c.send(`42["slow"]`, "41") // an event, then the client leaves
	fmt.Println(<-ended)
	// Output:
	// sio: socket disconnected
}

// The callback form of an ack (socket.timeout(ms).emit("ping", cb)): the
// emit returns at once, and the callback runs in the socket's handler order
// when the client answers.
func ExampleTimeoutSocket_EmitWithAckFunc() {
	answers := make(chan string, 1)
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		_ = s.Timeout(5*time.Second).EmitWithAckFunc("ping", func(m sio.Message, err error) {
			var a string
			if err == nil {
				err = m.Decode(&a)
			}
			if err != nil {
				a = err.Error()
			}
			answers <- a
		}, 1)
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	c.recv() // the CONNECT answer
	ping := c.recv()
	fmt.Println(ping)
	id := strings.TrimSuffix(strings.TrimPrefix(ping, "42"), `["ping",1]`)
	c.send("43" + id + `["pong"]`) // the client's callback answers
	fmt.Println(<-answers)
	// Output:
	// 420["ping",1]
	// pong
}

// A program that gets sioloop as a module dependency has no embedded client
// bundle; it serves its own copy of the files through Config.ClientFiles.
// From the application's module root,
//
//	go run github.com/sioloop/sioloop/cmd/sioclient -out ./web/socketio
//
// writes them with a package socketio that holds them in an embed.FS, and
// the server is then
//
//	srv := sio.NewServer(sio.Config{ClientFiles: socketio.Files})
//
// A copy installed by npm works too:
// os.DirFS("node_modules/socket.io-client/dist"). Here an in-memory FS stands
// in for either; it lacks socket.io.min.js, which is answered with 404.
func ExampleConfig_clientFiles() {
	files := fstest.MapFS{"socket.io.js": {Data: []byte("/* the client */\n")}}
	srv := sio.NewServer(sio.Config{ClientFiles: files})
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	for _, name := range []string{"socket.io.js", "socket.io.min.js"} {
		resp, err := http.Get(ts.URL + "/socket.io/" + name)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(name, resp.StatusCode, resp.Header.Get("Content-Type"))
		if resp.StatusCode == http.StatusOK {
			fmt.Print(string(body))
		}
	}
	// Output:
	// socket.io.js 200 application/javascript; charset=utf-8
	// /* the client */
	// socket.io.min.js 404 text/plain; charset=utf-8
}

// Socket.Conn is socket.conn: the Engine.IO connection's id, transport and
// upgrade event, read-only.
func ExampleSocket_Conn() {
	transport := make(chan string, 1)
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		transport <- s.Conn().Transport()   // socket.conn.transport.name
		s.Conn().OnUpgrade(func(t string) { // socket.conn.on("upgrade", ...)
			log.Printf("%s upgraded to %s", s.ID(), t)
		})
	})
	addr := listen(srv, nil)
	defer srv.Close()

	c := dial("http://" + addr + "/socket.io/")
	defer c.close()
	c.send("40")
	fmt.Println(<-transport)
	// Output:
	// polling
}

// ListenAndServeTLS serves https:// and wss:// on the event loops; the
// pages of fallback share the port.
func ExampleServer_ListenAndServeTLS() {
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) { _ = s.Emit("hello", "over tls") })
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", http.FileServer(http.Dir("public")))
	if err := srv.ListenAndServeTLS(":443", "cert.pem", "key.pem", mux); err != nil && err != sio.ErrServerClosed {
		log.Fatal(err)
	}
}
