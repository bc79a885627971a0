package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/message"
)

// serverPackets are packets a Socket.IO server sends to a client. Some of
// them (CONNECT with {"sid"}, CONNECT_ERROR) never travel the other way, so
// the shared decoder must accept them with the client's settings.
var serverPackets = []struct {
	in   string
	want packet.Packet
}{
	{`0{"sid":"abc"}`, packet.Packet{Type: packet.Connect, Namespace: "/", ID: packet.NoID, Data: []byte(`{"sid":"abc"}`)}},
	{`0/admin,{"sid":"abc","pid":"x"}`, packet.Packet{Type: packet.Connect, Namespace: "/admin", ID: packet.NoID, Data: []byte(`{"sid":"abc","pid":"x"}`)}},
	{`1/admin,`, packet.Packet{Type: packet.Disconnect, Namespace: "/admin", ID: packet.NoID}},
	{`2[42,1]`, packet.Packet{Type: packet.Event, Namespace: "/", ID: packet.NoID, Data: []byte(`[42,1]`)}},
	{`30[]`, packet.Packet{Type: packet.Ack, Namespace: "/", ID: 0, Data: []byte(`[]`)}},
	{`4{"message":"Invalid namespace"}`, packet.Packet{Type: packet.ConnectError, Namespace: "/", ID: packet.NoID, Data: []byte(`{"message":"Invalid namespace"}`)}},
	{`4/x,"nope"`, packet.Packet{Type: packet.ConnectError, Namespace: "/x", ID: packet.NoID, Data: []byte(`"nope"`)}},
	{`61-/a,9[{"_placeholder":true,"num":0}]`, packet.Packet{Type: packet.BinaryAck, Namespace: "/a", ID: 9, Attachments: 1, Data: []byte(`[{"_placeholder":true,"num":0}]`)}},
}

func TestServerPackets(t *testing.T) {
	var o Options
	o.withDefaults()
	for _, c := range serverPackets {
		got, err := packet.Decode([]byte(c.in), o.MaxAttachments)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v (%s), %v; want %+v", c.in, got, got.Data, err, c.want)
		}
	}
	if _, err := packet.Decode([]byte(`511-["a"]`), o.MaxAttachments); err == nil {
		t.Error("11 attachments accepted with the default MaxAttachments")
	}
}

// TestBinaryMessage follows a binary event from the wire to the handler's
// Message: attachments come back through Binary and Decode.
func TestBinaryMessage(t *testing.T) {
	p, err := packet.Decode([]byte(`52-["b",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},{"num":0,"_placeholder":false}]`), 10)
	if err != nil {
		t.Fatal(err)
	}
	var r packet.Reassembler
	if err := r.Start(p); err != nil {
		t.Fatal(err)
	}
	buf := []byte{7, 7}
	if done, _, _, err := r.Add(buf); done || err != nil {
		t.Fatal("done after one of two")
	}
	buf[0] = 0 // attachments are copied: the transport reuses its buffer
	done, got, atts, err := r.Add([]byte{8})
	if !done || err != nil || !reflect.DeepEqual(atts, [][]byte{{7, 7}, {8}}) {
		t.Fatalf("got %+v %v %v %v", got, atts, done, err)
	}
	m, err := message.Parse(got.Data, atts)
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 4 {
		t.Fatalf("Len = %d", m.Len())
	}
	if b, ok := m.Binary(1); !ok || !bytes.Equal(b, []byte{7, 7}) {
		t.Fatalf("Binary(1) = %v %v", b, ok)
	}
	for _, i := range []int{0, 2, 3, 4, -1} {
		if b, ok := m.Binary(i); ok {
			t.Fatalf("Binary(%d) = %v", i, b)
		}
	}
	var b1 []byte
	var s struct {
		X []byte `json:"x"`
	}
	var generic any
	var notPH map[string]any
	if err := m.Decode(nil, &b1, &s, &notPH); err != nil {
		t.Fatal(err)
	}
	if err := m.Decode(nil, nil, &generic); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, []byte{7, 7}) || !bytes.Equal(s.X, []byte{8}) {
		t.Fatalf("decoded %v %v", b1, s.X)
	}
	if x, _ := generic.(map[string]any)["x"].([]byte); !bytes.Equal(x, []byte{8}) {
		t.Fatalf("generic %#v", generic)
	}
	if notPH["_placeholder"] != false {
		t.Fatalf("non-placeholder %#v", notPH)
	}
	// In a plain EVENT a placeholder-shaped object is data.
	plain, err := message.Parse([]byte(`[{"_placeholder":true,"num":0}]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.Binary(0); ok {
		t.Fatal("placeholder resolved without attachments")
	}
}

// TestAttachmentByteCap: the reassembler's total cap follows the options
// (MaxAttachments messages of MaxMessageBytes), saturating instead of
// overflowing.
func TestAttachmentByteCap(t *testing.T) {
	for _, c := range []struct {
		atts int
		msg  int64
		want int64
	}{
		{10, 1e6, 1e7},
		{3, 5, 15},
		{10, math.MaxInt64 / 5, math.MaxInt64},
	} {
		o := Options{MaxAttachments: c.atts, MaxMessageBytes: c.msg}
		e := newEngine(nil, &o, nil)
		if e.reasm.MaxAttachmentBytes != c.want {
			t.Errorf("%d x %d: cap %d, want %d", c.atts, c.msg, e.reasm.MaxAttachmentBytes, c.want)
		}
	}
	if !errors.Is(errPendingText, packet.ErrInvalid) {
		t.Error("errPendingText is not a packet error")
	}
}

// FuzzMessage: whatever the shared decoder accepts, Message must handle
// without panicking, and its arguments must be the array's elements.
func FuzzMessage(f *testing.F) {
	for _, c := range serverPackets {
		f.Add([]byte(c.in))
	}
	f.Add([]byte(`52-["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := packet.Decode(b, 10)
		if err != nil || p.Data == nil || p.Data[0] != '[' {
			return
		}
		atts := make([][]byte, p.Attachments)
		for i := range atts {
			atts[i] = []byte{byte(i)}
		}
		m, err := message.Parse(p.Data, atts)
		if err != nil {
			t.Fatalf("%q: %v", p.Data, err)
		}
		var want []json.RawMessage
		if err := json.Unmarshal(p.Data, &want); err != nil {
			t.Fatal(err)
		}
		if m.Len() != len(want) {
			t.Fatalf("%q: %d arguments, encoding/json %d", p.Data, m.Len(), len(want))
		}
		for i := range m.Len() {
			if bin, ok := m.Binary(i); ok && len(bin) != 1 {
				t.Fatalf("Binary(%d) = %v", i, bin)
			}
			var v any
			_ = m.Decode(append(make([]any, i), &v)...)
		}
	})
}
