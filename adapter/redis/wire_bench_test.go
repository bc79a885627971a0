package redis

import (
	"encoding/json"
	"testing"

	"github.com/sioloop/sioloop/sio"
)

// Benchmarks of the adapter's messages, by payload: what each broadcast
// costs its sender (encode, once per broadcast whatever the number of
// recipients and nodes) and each other node (decode, once per node).
//
//	go test -run '^$' -bench . -benchmem ./adapter/redis/

// benchPackets are broadcast payloads: a short event, a 1 KiB object, and
// an event with a 4 KiB binary attachment.
func benchPackets() []struct {
	name string
	p    *sio.Packet
} {
	obj := map[string]any{"user": "someone", "text": string(make([]byte, 0)), "n": 42, "tags": []string{"a", "b", "c"}}
	long := make([]byte, 1024)
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	obj["text"] = string(long)
	objJSON, _ := json.Marshal([]any{"chat", obj})
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(i)
	}
	return []struct {
		name string
		p    *sio.Packet
	}{
		{"small", &sio.Packet{Data: []byte(`["news","to room1"]`)}},
		{"1KiB", &sio.Packet{Data: objJSON}},
		{"binary4KiB", &sio.Packet{Data: []byte(`["file",{"name":"x.bin"},{"_placeholder":true,"num":0}]`), Attachments: [][]byte{bin}}},
	}
}

var benchTarget = target{rooms: []string{"room1"}, except: []string{"8dh7JNM8LXZgeD41AAAB"}}

func BenchmarkEncodeBroadcast(b *testing.B) {
	for _, bp := range benchPackets() {
		b.Run(bp.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				buf, err = encodeBroadcast(buf[:0], "OzpGEJ", "/", bp.p, benchTarget, false)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkDecodeBroadcast(b *testing.B) {
	for _, bp := range benchPackets() {
		msg, err := encodeBroadcast(nil, "OzpGEJ", "/", bp.p, benchTarget, false)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bp.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := decodeBroadcast(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeRequest: the requests every node decodes: a fetchSockets
// (JSON, as Node sends it), a server-side emit (JSON) and a broadcast with
// acks (msgpack, the capture's).
func BenchmarkDecodeRequest(b *testing.B) {
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"fetchSockets", []byte(`{"uid":"OzpGEJ","requestId":"e7lfpl","type":5,"opts":{"rooms":["room1"],"except":["8dh7JNM8LXZgeD41AAAB"]}}`)},
		{"serverSideEmit", []byte(`{"uid":"OzpGEJ","requestId":"e7lfpl","type":6,"data":["hello",{"from":"A","n":1}]}`)},
		{"broadcastWithAck", []byte(capAsk)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.msg)))
			for b.Loop() {
				if _, err := decodeRequest(tc.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeBroadcastFresh is EncodeBroadcast into a new buffer each
// time.
func BenchmarkEncodeBroadcastFresh(b *testing.B) {
	for _, bp := range benchPackets() {
		b.Run(bp.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeBroadcast(nil, "OzpGEJ", "/", bp.p, benchTarget, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
