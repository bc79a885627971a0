package msgpack_test

import (
	"fmt"

	"github.com/sioloop/sioloop/internal/msgpack"
)

// Example publishes an event with a binary argument in the classic
// adapter's [uid, packet, opts] envelope, then takes it apart as a
// receiving node does.
func Example() {
	// The event as sio holds it: socket.io JSON and its attachments.
	data := []byte(`["file",{"name":"a.bin","body":{"_placeholder":true,"num":0}}]`)
	atts := [][]byte{{0xca, 0xfe}}

	b := msgpack.AppendArrayHeader(nil, 3)
	b = msgpack.AppendString(b, "OzpGEJ") // the node's uid
	b = msgpack.AppendMapHeader(b, 3)
	b = msgpack.AppendString(b, "type")
	b = msgpack.AppendInt(b, 2)
	b = msgpack.AppendString(b, "data")
	b, err := msgpack.AppendJSON(b, data, atts)
	if err != nil {
		panic(err)
	}
	b = msgpack.AppendString(b, "nsp")
	b = msgpack.AppendString(b, "/")
	b = msgpack.AppendMapHeader(b, 0) // opts, abridged
	fmt.Printf("% x\n", b[:8])

	r := msgpack.NewReader(b)
	n, _ := r.ReadArrayHeader()
	uid, _ := r.ReadString()
	fields, _ := r.ReadMapHeader()
	fmt.Println(n, uid, fields)
	for range fields {
		key, _ := r.ReadString()
		if key != "data" {
			_ = r.Skip()
			continue
		}
		raw, _ := r.Raw()
		js, got, _, err := msgpack.AppendToJSON(nil, raw, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s % x\n", js, got)
	}
	// Output:
	// 93 a6 4f 7a 70 47 45 4a
	// 3 OzpGEJ 3
	// ["file",{"name":"a.bin","body":{"_placeholder":true,"num":0}}] [ca fe]
}
