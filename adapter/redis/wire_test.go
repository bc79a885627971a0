package redis

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/sio"
)

// Messages captured from a cluster of Node nodes (socket.io 4.8.3 with
// @socket.io/redis-adapter 8.3.0): what this node publishes must be byte
// for byte what a Node node does.
var (
	capRoom1  = "\x93\xa6OzpGEJ\x83\xa4type\x02\xa4data\x92\xa4news\xa8to room1\xa3nsp\xa1/\x83\xa5rooms\x91\xa5room1\xa6except\x90\xa5flags\x80"
	capExcept = "\x93\xa6OzpGEJ\x83\xa4type\x02\xa4data\x92\xa4news\xb5room1+room9 except c2\xa3nsp\xa1/\x83\xa5rooms\x92\xa5room1\xa5room9\xa6except\x91\xb48dh7JNM8LXZgeD41AAAB\xa5flags\x80"
	capBinary = "\x93\xa6OzpGEJ\x83\xa4type\x02\xa4data\x93\xa3bin\xc4\x03\x01\x02\x03\x82\xa1n\xcb?\xf8\x00\x00\x00\x00\x00\x00\xa1t\xc3\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x82\xa8volatile\xc3\xa8compress\xc2"
	capAsk    = "\x85\xa3uid\xa6OzpGEJ\xa9requestId\xa6e7lfpl\xa4type\x07\xa6packet\x83\xa4type\x02\xa4data\x92\xa3ask\xa2q?\xa3nsp\xa1/\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x81\xa7timeout\xcd\x07\xd0"
)

func TestEncodeBroadcastLikeNode(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *sio.Packet
		t    target
		want string
	}{
		{"one room", &sio.Packet{Data: []byte(`["news","to room1"]`)}, target{rooms: []string{"room1"}, except: []string{}}, capRoom1},
		{"except", &sio.Packet{Data: []byte(`["news","room1+room9 except c2"]`)}, target{rooms: []string{"room1", "room9"}, except: []string{"8dh7JNM8LXZgeD41AAAB"}}, capExcept},
	} {
		got, err := encodeBroadcast(nil, "OzpGEJ", "/", tc.p, tc.t, false)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	got, err := encodeAckBroadcast(nil, "OzpGEJ", "e7lfpl", "/", &sio.Packet{Data: []byte(`["ask","q?"]`)}, target{rooms: []string{}, except: []string{}}, false, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != capAsk {
		t.Errorf("ack broadcast:\n got %q\nwant %q", got, capAsk)
	}
}

func TestDecodeBroadcastFromNode(t *testing.T) {
	m, err := decodeBroadcast([]byte(capBinary))
	if err != nil {
		t.Fatal(err)
	}
	if m.uid != "OzpGEJ" || m.nsp != "/" || !m.volatile || len(m.target.rooms) != 0 || len(m.target.except) != 0 {
		t.Fatalf("decoded %+v", m)
	}
	if string(m.packet.Data) != `["bin",{"_placeholder":true,"num":0},{"n":1.5,"t":true}]` ||
		len(m.packet.Attachments) != 1 || !bytes.Equal(m.packet.Attachments[0], []byte{1, 2, 3}) {
		t.Fatalf("packet %s %v", m.packet.Data, m.packet.Attachments)
	}
	m, err = decodeBroadcast([]byte(capExcept))
	if err != nil || strings.Join(m.target.rooms, ",") != "room1,room9" || strings.Join(m.target.except, ",") != "8dh7JNM8LXZgeD41AAAB" {
		t.Fatalf("except: %+v %v", m, err)
	}
	req, err := decodeRequest([]byte(capAsk))
	if err != nil || req.Type != clusterwire.ReqBroadcast || req.UID != "OzpGEJ" || req.RequestID != "e7lfpl" || req.Opts == nil {
		t.Fatalf("ack broadcast request: %+v %v", req, err)
	}
}

// Every proper prefix of a valid message and arbitrary garbage are
// refused, never mis-decoded and never a panic.
func TestDecodeBroadcastSplit(t *testing.T) {
	for _, msg := range []string{capRoom1, capExcept, capBinary} {
		for i := 0; i < len(msg); i++ {
			if _, err := decodeBroadcast([]byte(msg[:i])); err == nil {
				t.Fatalf("prefix %d of %q decoded", i, msg)
			}
		}
	}
	for _, junk := range []string{"", "[1,2,3]", `{"a":1}`, "\x93\xa6OzpGEJ\xc0\xc0", "\x93\x01\x02\x03", "\x91\xa1x"} {
		if _, err := decodeBroadcast([]byte(junk)); err == nil {
			t.Fatalf("%q decoded", junk)
		}
	}
}

func FuzzDecodeBroadcast(f *testing.F) {
	for _, s := range []string{capRoom1, capExcept, capBinary, capAsk} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeBroadcast(b); err == nil {
			// What decodes re-encodes, and is stable from then on (a first
			// round may reorder keys as JavaScript objects order them).
			once, err := encodeBroadcast(nil, m.uid, m.nsp, &m.packet, m.target, m.volatile)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			m2, err := decodeBroadcast(once)
			if err != nil {
				t.Fatalf("decode re-encoded: %v", err)
			}
			twice, err := encodeBroadcast(nil, m2.uid, m2.nsp, &m2.packet, m2.target, m2.volatile)
			if err != nil || !bytes.Equal(once, twice) {
				t.Fatalf("not stable: %q then %q (%v)", once, twice, err)
			}
		}
		decodeRequest(b)
		decodeResponse(b)
	})
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		capAsk,
		`{"uid":"OzpGEJ","requestId":"7iUmgO","type":5,"opts":{"rooms":["room1"],"except":[]}}`,
		`{"uid":"OzpGEJ","type":2,"opts":{"rooms":["8dh7JNM8LXZgeD41AAAB"],"except":[]},"rooms":["room2",12]}`,
		`{"uid":"OzpGEJ","requestId":"vhEoNh","type":6,"data":["ping-servers","with-ack"]}`,
		`{"type":6,"requestId":"vhEoNh","data":"pong from B"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeRequest(b)
		decodeResponse(b)
	})
}

func TestTargetOfDedupes(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		rooms, except         []string
		wantRooms, wantExcept string
	}{
		{"plain", []string{"a", "b"}, []string{"x"}, "a,b", "x"},
		{"rooms twice", []string{"r", "r"}, nil, "r", ""},
		{"except twice", nil, []string{"x", "y", "x"}, "", "x,y"},
		{"many rooms", strings.Split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,a", ","), nil, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", ""},
	} {
		got := targetOf(&sio.BroadcastOptions{Rooms: tc.rooms, Except: tc.except})
		if r, e := strings.Join(got.rooms, ","), strings.Join(got.except, ","); r != tc.wantRooms || e != tc.wantExcept {
			t.Errorf("%s: rooms %q except %q, want %q %q", tc.name, r, e, tc.wantRooms, tc.wantExcept)
		}
		if got.rooms == nil || got.except == nil {
			t.Errorf("%s: nil lists encode as nil, not []", tc.name)
		}
	}
}
