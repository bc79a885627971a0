package emitter

import (
	"bytes"
	"testing"
)

// TestBroadcastStructBinary: []byte in struct fields is published as
// msgpack bin, as the Node emitter publishes a Buffer, not as a base64
// string.
func TestBroadcastStructBinary(t *testing.T) {
	type msg struct {
		B  []byte `json:"b"`
		In struct {
			C []byte `json:"c"`
		} `json:"in"`
	}
	m := msg{B: []byte{1, 2, 3}}
	m.In.C = []byte{4}
	got, _, err := appendBroadcast(nil, nil, "/", "ev", []any{m}, nil, nil, flags{})
	if err != nil {
		t.Fatal(err)
	}
	// data: ["ev", {"b": bin 010203, "in": {"c": bin 04}}]
	want := "\xa4data\x92\xa2ev\x82\xa1b\xc4\x03\x01\x02\x03\xa2in\x81\xa1c\xc4\x01\x04\xa3nsp"
	if !bytes.Contains(got, []byte(want)) {
		t.Fatalf("broadcast %q does not hold %q", got, want)
	}
}
