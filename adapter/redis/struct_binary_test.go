package redis

import (
	"bytes"
	"testing"

	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/sio"
)

// TestBroadcastStructBinary: a struct with []byte fields, encoded as sio
// encodes a broadcast, is published with msgpack bin where the bytes are
// (as a Node node publishes a Buffer) and decodes back to the same
// placeholders and attachments on the receiving node.
func TestBroadcastStructBinary(t *testing.T) {
	type part struct {
		Data []byte `json:"data"`
	}
	type msg struct {
		Name  string `json:"name"`
		Parts []part `json:"parts"`
	}
	body, atts, err := packet.AppendArgs(nil, "ev", []any{msg{Name: "n", Parts: []part{{Data: []byte{1, 2}}, {Data: []byte{3}}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := &sio.Packet{Data: body, Attachments: atts}
	enc, err := encodeBroadcast(nil, "OzpGEJ", "/", p, target{rooms: []string{}, except: []string{}}, false)
	if err != nil {
		t.Fatal(err)
	}
	// data: ["ev", {"name": "n", "parts": [{"data": bin 0102}, {"data": bin 03}]}]
	want := "\xa4data\x92\xa2ev\x82\xa4name\xa1n\xa5parts\x92\x81\xa4data\xc4\x02\x01\x02\x81\xa4data\xc4\x01\x03"
	if !bytes.Contains(enc, []byte(want)) {
		t.Fatalf("published %q, want it to hold %q", enc, want)
	}
	m, err := decodeBroadcast(enc)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.packet.Data) != string(body) || len(m.packet.Attachments) != 2 ||
		!bytes.Equal(m.packet.Attachments[0], []byte{1, 2}) || !bytes.Equal(m.packet.Attachments[1], []byte{3}) {
		t.Fatalf("received %s %v, sent %s %v", m.packet.Data, m.packet.Attachments, body, atts)
	}
}
