package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

type echo struct{}

func (echo) OnMessage(c eio.WSConn, binary bool, p []byte) { c.WriteMessage(binary, p) }
func (echo) OnClose(eio.WSConn, error)                     {}

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address")
	max := flag.Int64("max", 16<<20, "largest message accepted, bytes")
	deflate := flag.Bool("deflate", false, "accept permessage-deflate")
	threshold := flag.Int("threshold", -1, "with -deflate, smallest message compressed, bytes (negative: all, 0: 1024)")
	level := flag.Int("level", 0, "with -deflate, compress/flate level (0: 1, flate.BestSpeed)")
	flag.Parse()
	var pmd *loop.PerMessageDeflate
	if *deflate {
		pmd = &loop.PerMessageDeflate{Threshold: *threshold, Level: *level}
	}
	log.Printf("websocket echo on ws://%s/", *addr)
	log.Fatal(newServer(*addr, *max, pmd).Serve())
}

// newServer returns the echo server, not yet serving.
func newServer(addr string, max int64, pmd *loop.PerMessageDeflate) *loop.Server {
	return loop.NewServer(loop.Config{
		Addr:              addr,
		MaxMessageBytes:   max,
		MaxBodyBytes:      1 << 10,
		MaxOutboundBytes:  64 << 20,
		PerMessageDeflate: pmd,
		Handler: func(x eio.Exchange) {
			if _, err := x.Upgrade(nil, echo{}); err != nil {
				x.Respond(http.StatusBadRequest, http.Header{"Content-Type": {"text/plain"}}, []byte(err.Error()+"\n"))
			}
		},
	})
}
