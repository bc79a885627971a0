// Command wsecho is a plain WebSocket echo server built from packages loop
// and wsframe alone, with no Engine.IO or Socket.IO: every message comes
// back to its sender as it arrived (text as text, binary as binary). It
// exists so the framing layer can be checked on its own against RFC 6455
// conformance tools such as the Autobahn test suite:
//
//	go run ./examples/wsecho -addr 127.0.0.1:9001
//	# then point Autobahn's fuzzingclient at ws://127.0.0.1:9001/
//
// With -deflate it accepts the permessage-deflate extension (RFC 7692) and
// compresses every echoed message of at least -threshold bytes, for the
// compression cases (Autobahn groups 12 and 13).
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
