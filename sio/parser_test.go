package sio

import (
	"bytes"
	"testing"

	"github.com/sioloop/sioloop/internal/packet"
)

// TestMsgpackGolden: the bytes notepack.io (socket.io-msgpack-parser's
// encoder) writes for {type: 2, data: ["hello", 1], nsp: "/"}, and for an
// ack with a Buffer, {type: 3, data: [<Buffer 01 02>], nsp: "/chat", id: 7}.
func TestMsgpackGolden(t *testing.T) {
	cases := []struct {
		text string
		atts [][]byte
		want []byte
	}{
		{`2["hello",1]`, nil, []byte("\x83\xa4type\x02\xa4data\x92\xa5hello\x01\xa3nsp\xa1/")},
		{`61-/chat,7[{"_placeholder":true,"num":0}]`, [][]byte{{1, 2}},
			[]byte("\x84\xa4type\x03\xa4data\x91\xc4\x02\x01\x02\xa3nsp\xa5/chat\xa2id\x07")},
		{`1/chat,`, nil, []byte("\x82\xa4type\x01\xa3nsp\xa5/chat")},
	}
	for _, tc := range cases {
		got, err := encodeMsgpack(nil, []byte(tc.text), tc.atts)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("encode %s: %q, %v; want %q", tc.text, got, err, tc.want)
			continue
		}
		p, atts, err := decodeMsgpack(tc.want, 10, false)
		if err != nil {
			t.Errorf("decode %q: %v", tc.want, err)
			continue
		}
		var back []byte
		back = packet.AppendEncode(back, &p)
		if string(back) != tc.text || len(atts) != len(tc.atts) {
			t.Errorf("decode %q: %s with %d attachments, want %s with %d", tc.want, back, len(atts), tc.text, len(tc.atts))
		}
		for i := range atts {
			if !bytes.Equal(atts[i], tc.atts[i]) {
				t.Errorf("attachment %d: %x, want %x", i, atts[i], tc.atts[i])
			}
		}
	}
}

// TestMsgpackRefused: what socket.io-msgpack-parser's decoder refuses (its
// checkPacket, and notepack on bad msgpack or trailing bytes), and what the
// text form refuses, is refused.
func TestMsgpackRefused(t *testing.T) {
	bad := map[string][]byte{
		"not a map":         []byte("\x92\x02\xa1/"),
		"no nsp":            []byte("\x82\xa4type\x02\xa4data\x91\xa1x"),
		"nsp not a string":  []byte("\x83\xa4type\x02\xa4data\x91\xa1x\xa3nsp\x01"),
		"nsp without slash": []byte("\x83\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1x"),
		"type 5":            []byte("\x83\xa4type\x05\xa4data\x91\xa1x\xa3nsp\xa1/"),
		"type string":       []byte("\x83\xa4type\xa12\xa4data\x91\xa1x\xa3nsp\xa1/"),
		"event data object": []byte("\x83\xa4type\x02\xa4data\x80\xa3nsp\xa1/"),
		"event no data":     []byte("\x82\xa4type\x02\xa3nsp\xa1/"),
		"disconnect data":   []byte("\x83\xa4type\x01\xa4data\x80\xa3nsp\xa1/"),
		"connect data list": []byte("\x83\xa4type\x00\xa4data\x90\xa3nsp\xa1/"),
		"id negative":       []byte("\x84\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1/\xa2id\xff"),
		"id nil":            []byte("\x84\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1/\xa2id\xc0"),
		"id float":          []byte("\x84\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1/\xa2id\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"),
		"trailing byte":     []byte("\x83\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1/\x00"),
		"truncated":         []byte("\x83\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1"),
		"reserved event":    []byte("\x83\xa4type\x02\xa4data\x91\xa7connect\xa3nsp\xa1/"),
		"too many binaries": append([]byte("\x83\xa4type\x02\xa4data\x9c\xa1x"), append(bytes.Repeat([]byte("\xc4\x00"), 11), "\xa3nsp\xa1/"...)...),
		"empty":             {},
	}
	for name, b := range bad {
		if p, _, err := decodeMsgpack(b, 10, false); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, p)
		}
	}
}

// FuzzDecodeMsgpack: any input is decoded or refused without a panic, and
// what is decoded encodes back to a message that decodes to the same packet.
func FuzzDecodeMsgpack(f *testing.F) {
	f.Add([]byte("\x83\xa4type\x02\xa4data\x92\xa5hello\x01\xa3nsp\xa1/"))
	f.Add([]byte("\x84\xa4type\x03\xa4data\x91\xc4\x02\x01\x02\xa3nsp\xa5/chat\xa2id\x07"))
	f.Add([]byte("\x82\xa4type\x00\xa3nsp\xa1/"))
	f.Add([]byte("\x83\xa4type\x00\xa4data\x81\xa5token\xa3abc\xa3nsp\xa6/admin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, atts, err := decodeMsgpack(b, 10, false)
		if err != nil {
			return
		}
		text := packet.AppendEncode(nil, &p)
		again, err := encodeMsgpack(nil, text, atts)
		if err != nil {
			t.Fatalf("decoded %s but cannot encode it: %v", text, err)
		}
		q, atts2, err := decodeMsgpack(again, 10, false)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		if text2 := packet.AppendEncode(nil, &q); !bytes.Equal(text, text2) || len(atts) != len(atts2) {
			t.Fatalf("round trip: %s (%d attachments) became %s (%d)", text, len(atts), text2, len(atts2))
		}
	})
}

// TestMsgpackV3: socket.io-msgpack-parser 2.2.1, as socket.io-client 2.x
// uses it: BINARY_EVENT (5) and BINARY_ACK (6) in msgpack, read as EVENT
// and ACK; CONNECT, DISCONNECT and ERROR as JSON text both ways; what its
// checkPacket refuses is refused.
func TestMsgpackV3(t *testing.T) {
	// {type: 5, data: ["b", <Buffer 01>], nsp: "/"}: a v5 server refuses it.
	bin := []byte("\x83\xa4type\x05\xa4data\x92\xa1b\xc4\x01\x01\xa3nsp\xa1/")
	if _, _, err := decodeMsgpack(bin, 10, false); err == nil {
		t.Error("type 5 accepted without v3")
	}
	p, atts, err := decodeMsgpack(bin, 10, true)
	if err != nil || p.Type != packet.BinaryEvent || len(atts) != 1 || atts[0][0] != 1 {
		t.Errorf("v3 type 5: %+v, %x, %v", p, atts, err)
	}
	// {type: 0, nsp: "/"} in msgpack with data: refused by v3's checkPacket.
	if _, _, err := decodeMsgpack([]byte("\x83\xa4type\x00\xa4data\x80\xa3nsp\xa1/"), 10, true); err == nil {
		t.Error("v3 CONNECT with data accepted")
	}

	good := map[string]string{
		`{"type":0,"query":"token=t1","nsp":"/v2ns?token=t1"}`: `0/v2ns?token=t1,`,
		`{"type":1,"nsp":"/v2ns"}`:                             `1/v2ns,`,
		`{"type":2,"data":["a",1],"nsp":"/","id":3}`:           `23["a",1]`,
		`{"type":5,"data":["a"],"nsp":"/"}`:                    `2["a"]`,
	}
	for in, want := range good {
		p, err := decodeJSONV3([]byte(in), 10)
		if err != nil {
			t.Errorf("decodeJSONV3 %s: %v", in, err)
			continue
		}
		if got := string(packet.AppendEncode(nil, &p)); got != want {
			t.Errorf("decodeJSONV3 %s: %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{
		`{"type":0,"nsp":"/","data":{}}`, `{"type":7,"nsp":"/"}`, `{"type":2,"nsp":"/","data":{}}`,
		`{"type":2,"data":[]}`, `{"nsp":"/"}`, `{"type":4,"nsp":"/","data":{"a":1}}`, `[0]`, `{"type":2,"nsp":"x","data":[]}`,
	} {
		if p, err := decodeJSONV3([]byte(in), 10); err == nil {
			t.Errorf("decodeJSONV3 %s accepted: %+v", in, p)
		}
	}

	for in, want := range map[string]string{
		`0`:                  `{"type":0,"nsp":"/"}`,
		`0/v2ns,`:            `{"type":0,"nsp":"/v2ns"}`,
		`4/denied,"not you"`: `{"type":4,"data":"not you","nsp":"/denied"}`,
		`1/v2ns,`:            `{"type":1,"nsp":"/v2ns"}`,
	} {
		if got, err := encodeJSONV3([]byte(in)); err != nil || string(got) != want {
			t.Errorf("encodeJSONV3 %s: %s, %v; want %s", in, got, err, want)
		}
	}
}
