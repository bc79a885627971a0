// Command server is sioloop's implementation of the benchmark scenario
// contract (../shared/docs/BENCH-SCENARIO.md, summarized in BENCHMARKS.md):
// events "join" (ack after the join), "bcast" (io.to(room).emit("msg", obj))
// and "echo" (ack with the same arguments). It uses only the public sio API.
//
//	go run ./bench/server -addr 127.0.0.1:3001
package main

import (
	"encoding/json"
	"flag"
	"log"

	"github.com/sioloop/sioloop/sio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3001", "listen address")
	flag.Parse()
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(ev *sio.Event) {
			var room string
			if err := ev.Decode(&room); err != nil {
				return
			}
			s.Join(room)
			_ = ev.Ack("ok")
		})
		s.On("bcast", func(ev *sio.Event) {
			var target struct {
				Room string `json:"room"`
			}
			obj := ev.Arg(0)
			if err := json.Unmarshal(obj, &target); err != nil {
				return
			}
			// The raw JSON object is forwarded as is: no re-encoding.
			_ = srv.To(target.Room).Emit("msg", obj)
		})
		s.On("echo", func(ev *sio.Event) {
			_ = ev.Ack(ev.Arg(0))
		})
	})
	log.Printf("sioloop scenario server on %s", *addr)
	log.Fatal(srv.ListenAndServe(*addr, nil))
}
