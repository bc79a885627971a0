package message_test

import (
	"fmt"

	"github.com/sioloop/sioloop/message"
)

// A handler's arguments, as a client's socket.emit("move", {x: 3, y: 4},
// buf) sends them: JSON with a placeholder for the binary attachment.
func ExampleMessage_Decode() {
	m, err := message.ParseEvent([]byte(`["move",{"x":3,"y":4},{"_placeholder":true,"num":0}]`), [][]byte{{0xde, 0xad}})
	if err != nil {
		panic(err)
	}
	var pos struct{ X, Y int }
	var blob []byte
	if err := m.Decode(&pos, &blob); err != nil {
		panic(err)
	}
	fmt.Println(m.Len(), pos.X, pos.Y, blob)
	// Output: 2 3 4 [222 173]
}

func ExampleMessage_Binary() {
	m, _ := message.Parse([]byte(`["name",{"_placeholder":true,"num":0}]`), [][]byte{[]byte("bytes")})
	_, isBinary := m.Binary(0)
	b, _ := m.Binary(1)
	fmt.Println(string(m.Arg(0)), isBinary, string(b))
	// Output: "name" false bytes
}
