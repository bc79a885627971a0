package redisstreams

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/sio"
)

// benchPackets are the payloads of the codec benchmarks: a small event,
// a 1 KiB JSON one, and one with a 1 KiB binary.
func benchPackets(b *testing.B) []struct {
	name string
	p    *sio.Packet
} {
	p1, _ := sio.NewPacket("news", map[string]any{"tag": "t-1", "n": 42})
	p2, _ := sio.NewPacket("news", map[string]any{"text": strings.Repeat("lorem ipsum ", 85)})
	p3, _ := sio.NewPacket("blob", "bin", make([]byte, 1024))
	return []struct {
		name string
		p    *sio.Packet
	}{{"small", p1}, {"json1k", p2}, {"binary1k", p3}}
}

var benchTarget = target{rooms: []string{"room1"}, except: []string{"XmmE7W0t7Uh8nONEAAAB"}}

// BenchmarkEncodeBroadcast: the XADD data field of a broadcast, as the
// pipeline builds it once per Broadcast.
func BenchmarkEncodeBroadcast(b *testing.B) {
	for _, tc := range benchPackets(b) {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.p.Data)))
			var buf []byte
			for b.Loop() {
				buf = appendBroadcastData(buf[:0], tc.p, benchTarget, false, "", 0)
				if _, err := streamData(buf, tc.p.Attachments); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeEntry: what the reader does with another node's
// broadcast entry before delivering it (fields, data, packet, offset).
func BenchmarkDecodeEntry(b *testing.B) {
	for _, tc := range benchPackets(b) {
		data, err := streamData(appendBroadcastData(nil, tc.p, benchTarget, false, "", 0), tc.p.Attachments)
		if err != nil {
			b.Fatal(err)
		}
		fields := []string{"uid", "0123456789abcdef", "nsp", "/", "type", "3", "data", data}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				m, err := entryFields(fields)
				if err != nil {
					b.Fatal(err)
				}
				d, atts, err := decodeData(m.data)
				if err != nil {
					b.Fatal(err)
				}
				bc, err := decodeBroadcast(d, atts)
				if err != nil {
					b.Fatal(err)
				}
				appendOffset(bc.packet.Data, "1796153766936-0")
			}
		})
	}
}

func benchFetchAnswer(b *testing.B) []byte {
	hs := &sio.Handshake{Time: time.Unix(1796153710, 0), Address: "127.0.0.1", Issued: 1796153710291,
		URL: "/socket.io/?EIO=4&transport=websocket", Auth: json.RawMessage(`{}`)}
	socks := make([]wireSocket, 10)
	for i := range socks {
		socks[i] = wireSocket{ID: "8dh7JNM8LXZgeD41AAAB", Handshake: hs, Rooms: []string{"8dh7JNM8LXZgeD41AAAB", "room1"}, Data: json.RawMessage(`{"user":"u"}`)}
	}
	list, err := json.Marshal(socks)
	if err != nil {
		b.Fatal(err)
	}
	return append(append([]byte(`{"requestId":"ce6fa85ce9379d52","sockets":`), list...), '}')
}

// BenchmarkEncodeMessage: pub/sub messages, whole-message msgpack: a
// fetchSockets request, and an answer listing 10 sockets.
func BenchmarkEncodeMessage(b *testing.B) {
	for _, tc := range []struct {
		name string
		typ  int
		data []byte
	}{
		{"fetch", clusterwire.MsgFetchSockets, []byte(`{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"ce6fa85ce9379d52"}`)},
		{"fetchAnswer10", clusterwire.MsgFetchSocketsResponse, benchFetchAnswer(b)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.data)))
			var buf []byte
			for b.Loop() {
				var err error
				if buf, err = clusterwire.AppendMessage(buf[:0], tc.typ, tc.data, nil, "18378531c2982400", "/"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeMessage: the same messages as they arrive.
func BenchmarkDecodeMessage(b *testing.B) {
	for _, tc := range []struct {
		name string
		typ  int
		data []byte
	}{
		{"fetch", clusterwire.MsgFetchSockets, []byte(`{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"ce6fa85ce9379d52"}`)},
		{"fetchAnswer10", clusterwire.MsgFetchSocketsResponse, benchFetchAnswer(b)},
	} {
		msg, err := clusterwire.AppendMessage(nil, tc.typ, tc.data, nil, "18378531c2982400", "/")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, _, _, err := decodeMessage(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSession: a session stored at a disconnect and read back.
func BenchmarkSession(b *testing.B) {
	s := &sio.Session{SID: "6TK_HviFhuFOv5GSAAAA", PID: "BGpKzoSn7V8KNVUIAAAB", Rooms: []string{"6TK_HviFhuFOv5GSAAAA", "room1"}, Data: json.RawMessage(`{"user":"user-of-A"}`)}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeSession(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	v, _ := encodeSession(s)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeSession([]byte(v)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
