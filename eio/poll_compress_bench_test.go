package eio_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/eio"
)

// BenchmarkPollCompression measures one polling round (a message queued,
// then the GET that takes it) with the response sent plain, gzipped or
// deflated, for a 1 KiB (the default threshold) and a 16 KiB chat-like
// message: what Config.HTTPCompressionThreshold trades against bytes. The
// message is not valid JSON past its cut; the engine does not parse it.
func BenchmarkPollCompression(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		// Chat lines with varied ids and times, so that the ratio is not a
		// best case; the Engine.IO body is exactly size bytes.
		var sb strings.Builder
		sb.WriteString(`42["chat",[`)
		for i := 0; sb.Len() < size; i++ {
			fmt.Fprintf(&sb, `{"id":%d,"user":"user%d","at":%d,"text":"line %x"},`, i*7919%100003, i*31%977, 1764633600000+i*1337, i*2654435761)
		}
		msg := []byte(sb.String()[:size-2] + `]]`)
		for _, enc := range []string{"identity", "gzip", "deflate"} {
			b.Run(fmt.Sprintf("%s/%dKiB", enc, size>>10), func(b *testing.B) {
				benchPoll(b, msg, enc)
			})
		}
	}
}

func benchPoll(b *testing.B, msg []byte, enc string) {
	srv := eio.NewServer(quietPing)
	b.Cleanup(srv.Close)
	sessions := make(chan *eio.Session, 1)
	srv.OnConnection(func(s *eio.Session) { sessions <- s })
	hs := newExchange(b, "GET", "transport=polling", "")
	srv.Handle(hs)
	m := openRE.FindStringSubmatch(strings.TrimPrefix(hs.response(b), "200 "))
	if m == nil {
		b.Fatal("no open packet")
	}
	sess := <-sessions
	get := newExchange(b, "GET", "transport=polling&sid="+m[1], "")
	if enc != "identity" {
		get.req.Header.Set("Accept-Encoding", enc)
	}
	wire := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sess.Send(msg[1:]) // the Engine.IO message: "4" is the type byte
		srv.Handle(get)
		wire = len(get.response(b)) - len("200 ")
	}
	b.StopTimer()
	b.ReportMetric(float64(wire), "wire-bytes")
}
