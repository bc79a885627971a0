package main

import (
	"flag"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

func main() {
	mode := flag.String("mode", "eio", "eio or sio")
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	flag.Parse()
	switch *mode {
	case "eio":
		log.Fatal(runEIO(*addr))
	case "sio":
		log.Fatal(runSIO(*addr))
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
}

func runEIO(addr string) error {
	srv := eio.NewServer(eio.Config{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   1e6,
		CORS:         &eio.CORS{Origins: []string{"*"}},
	})
	srv.OnConnection(func(s *eio.Session) {
		s.OnMessage(func(data []byte, binary bool) {
			if binary {
				s.SendBinary(data)
			} else {
				s.Send(data)
			}
		})
	})
	ls := loop.NewServer(loop.Config{
		Addr: addr,
		Handler: func(x eio.Exchange) {
			if strings.HasPrefix(x.Path(), "/engine.io/") {
				srv.Handle(x)
				return
			}
			x.Respond(http.StatusNotFound, nil, []byte("not found\n"))
		},
	})
	log.Printf("engine.io conformance server on http://%s/engine.io/", addr)
	return ls.Serve()
}
