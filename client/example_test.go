package client_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/sio"
)

// startExampleServer runs a Socket.IO server greeting each client and
// answering "add" with the sum of its arguments.
func startExampleServer() (url string, stop func()) {
	srv := sio.NewServer(sio.Config{Loops: 1})
	srv.OnConnection(func(s *sio.Socket) {
		_ = s.Emit("welcome", "hello "+string(s.Handshake().Auth))
		s.On("add", func(ev *sio.Event) {
			var a, b int
			_ = ev.Decode(&a, &b)
			_ = ev.Ack(a + b)
		})
	})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	_ = l.Close()
	go func() { _ = srv.ListenAndServe(addr, nil) }()
	<-srv.Ready()
	return "http://" + addr, func() { _ = srv.Close() }
}

func Example() {
	url, stop := startExampleServer()
	defer stop()

	m := client.NewManager(url, client.Options{
		Transports:   []string{client.WebSocket},
		Reconnection: true,
	})
	defer m.Close()
	s := m.Socket("/", client.SocketOptions{Auth: map[string]string{"user": "ann"}})

	welcome := make(chan string, 1)
	s.On("welcome", func(ev *client.Event) {
		var msg string
		_ = ev.Decode(&msg)
		welcome <- msg
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ConnectContext(ctx); err != nil {
		fmt.Println("connect:", err)
		return
	}
	fmt.Println(<-welcome)

	reply, err := s.EmitWithAck(ctx, "add", 2, 3)
	if err != nil {
		fmt.Println("add:", err)
		return
	}
	var sum int
	_ = reply.Decode(&sum)
	fmt.Println("2 + 3 =", sum)
	// Output:
	// hello {"user":"ann"}
	// 2 + 3 = 5
}

// ExampleSocket_OnDisconnect reacts to the end of a connection; with
// Options.Reconnection the socket comes back by itself unless the server
// or the client ended it on purpose.
func ExampleSocket_OnDisconnect() {
	url, stop := startExampleServer()
	defer stop()

	s := client.New(url, client.Options{Transports: []string{client.WebSocket}})
	done := make(chan struct{})
	s.OnDisconnect(func(reason string) {
		fmt.Println("disconnected:", reason)
		close(done)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ConnectContext(ctx); err != nil {
		fmt.Println("connect:", err)
		return
	}
	s.Disconnect()
	<-done
	// Output:
	// disconnected: io client disconnect
}
