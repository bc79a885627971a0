package http1_test

import (
	"fmt"
	"strings"

	"github.com/sioloop/sioloop/internal/http1"
)

// Example shows the loop a connection handler runs over its inbound buffer:
// parse, serve, consume, repeat; wait when Parse needs more; answer and
// close on an error. Here two pipelined requests arrive cut in the middle of
// the second one's body, followed by a bad request.
func Example() {
	reads := []string{
		"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n40" +
			"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n42[\"a\"",
		",1]",
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
	}
	var (
		inbound []byte // owned by the connection, like gnet's inbound ring
		req     http1.Request
		limits  = http1.Limits{MaxBodyBytes: 1 << 20}
	)
	for _, r := range reads {
		inbound = append(inbound, r...)
		for {
			n, err := http1.Parse(inbound, &req, &limits)
			if err != nil {
				out := http1.AppendError(nil, err.(*http1.Error))
				status, _, _ := strings.Cut(string(out), "\r\n")
				fmt.Printf("reject with %q, then close: %v\n", status, err)
				return
			}
			if n == 0 {
				fmt.Printf("need %d bytes, have %d\n", req.Len(), len(inbound))
				break
			}
			sid, _ := req.Query("sid") // a copy: safe to keep
			fmt.Printf("%s sid=%s body=%s\n", req.Method, sid, req.Body)
			inbound = inbound[n:] // req's views die here
		}
	}
	// Output:
	// POST sid=abc body=40
	// need 98 bytes, have 95
	// POST sid=abc body=42["a",1]
	// need 0 bytes, have 0
	// reject with "HTTP/1.1 400 Bad Request", then close: http1: malformed header field name
}
