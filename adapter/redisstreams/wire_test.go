package redisstreams

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/sio"
)

// Golden values from the Node adapter 0.3.1 on the wire (captured with
// socket.io 4.8.3 and socket.io-adapter 2.5.9 on redis-server 7.0).
const (
	capHello      = `{"packet":{"type":2,"data":["hello","A"]},"opts":{"rooms":["6TK_HviFhuFOv5GSAAAA"],"except":[],"flags":{}}}`
	capBinary     = "gqZwYWNrZXSCpHR5cGUCpGRhdGGSo2JpbsQDAQIDpG9wdHODpXJvb21zkKZleGNlcHSQpWZsYWdzgA=="
	capJoin       = `{"opts":{"rooms":["GAXek5YeGNa4VPDXAAAC"],"except":[],"flags":{}},"rooms":["room2"]}`
	capVolatile   = `{"packet":{"type":2,"data":["vol","missed-volatile"]},"opts":{"rooms":[],"except":[],"flags":{"volatile":true}}}`
	capExcept     = `{"packet":{"type":2,"data":["news","except-room1"]},"opts":{"rooms":[],"except":["room1"],"flags":{}}}`
	capFetch      = "\x84\xa4type\x07\xa4data\x82\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80\xa9requestId\xb0ce6fa85ce9379d52\xa3uid\xb018378531c2982400\xa3nsp\xa1/"
	capSSE        = "\x84\xa4type\x09\xa4data\x82\xa9requestId\xb0821f155e4597bc7a\xa6packet\x92\xacping-servers\xa1x\xa3uid\xb018378531c2982400\xa3nsp\xa1/"
	capSSEAnswer  = "\x84\xa4type\x0a\xa4data\x82\xa9requestId\xb0821f155e4597bc7a\xa6packet\xabpong from B\xa3uid\xb05373ad1ab5a4be3a\xa3nsp\xa1/"
	capAskAll     = "\x84\xa4type\x03\xa4data\x83\xa6packet\x82\xa4type\x02\xa4data\x92\xa3ask\xa2q?\xa9requestId\xb02f30c3212483bf4a\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x81\xa7timeout\xcd\x07\xd0\xa3uid\xb018378531c2982400\xa3nsp\xa1/"
	capClientCnt  = "\x84\xa4type\x0b\xa4data\x82\xa9requestId\xb02f30c3212483bf4a\xabclientCount\x01\xa3uid\xb05373ad1ab5a4be3a\xa3nsp\xa1/"
	capBroadcastA = "\x84\xa4type\x0c\xa4data\x82\xa9requestId\xb02f30c3212483bf4a\xa6packet\xaback from c2\xa3uid\xb05373ad1ab5a4be3a\xa3nsp\xa1/"
	capSession    = "hKNzaWS0NlRLX0h2aUZodUZPdjVHU0FBQUGjcGlktEJHcEt6b1NuN1Y4S05WVUlBQUFCpXJvb21zkrQ2VEtfSHZpRmh1Rk92NUdTQUFBQaVyb29tMaRkYXRhgaR1c2VyqXVzZXItb2YtQQ=="
)

func mustPacket(t testing.TB, name string, args ...any) *sio.Packet {
	t.Helper()
	p, err := sio.NewPacket(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The encoders write what the Node adapter writes, byte for byte.
func TestEncodeLikeNode(t *testing.T) {
	tests := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"broadcast to a socket", func() (string, error) {
			return streamData(appendBroadcastData(nil, mustPacket(t, "hello", "A"), target{rooms: []string{"6TK_HviFhuFOv5GSAAAA"}, except: []string{}}, false, "", 0), nil)
		}, capHello},
		{"volatile broadcast", func() (string, error) {
			return streamData(appendBroadcastData(nil, mustPacket(t, "vol", "missed-volatile"), target{rooms: []string{}, except: []string{}}, true, "", 0), nil)
		}, capVolatile},
		{"broadcast except a room", func() (string, error) {
			opts := &sio.BroadcastOptions{Except: []string{"room1", "room1"}}
			return streamData(appendBroadcastData(nil, mustPacket(t, "news", "except-room1"), targetOf(opts), false, "", 0), nil)
		}, capExcept},
		{"binary broadcast", func() (string, error) {
			p := mustPacket(t, "bin", []byte{1, 2, 3})
			return streamData(appendBroadcastData(nil, p, targetOf(&sio.BroadcastOptions{}), false, "", 0), p.Attachments)
		}, capBinary},
		{"socketsJoin", func() (string, error) {
			return string(appendChangeData(nil, clusterwire.MsgSocketsJoin, target{rooms: []string{"GAXek5YeGNa4VPDXAAAC"}, except: []string{}}, []string{"room2"}, false)), nil
		}, capJoin},
		{"fetchSockets request", func() (string, error) {
			b := appendOpts([]byte(`{"opts":`), target{rooms: []string{}, except: []string{}}, false, 0)
			b = append(b, `,"requestId":"ce6fa85ce9379d52"}`...)
			m, err := clusterwire.AppendMessage(nil, clusterwire.MsgFetchSockets, b, nil, "18378531c2982400", "/")
			return string(m), err
		}, capFetch},
		{"serverSideEmit with ack", func() (string, error) {
			m, err := clusterwire.AppendMessage(nil, clusterwire.MsgServerSideEmit, []byte(`{"requestId":"821f155e4597bc7a","packet":["ping-servers","x"]}`), nil, "18378531c2982400", "/")
			return string(m), err
		}, capSSE},
		{"broadcast with ack", func() (string, error) {
			data := appendBroadcastData(nil, mustPacket(t, "ask", "q?"), target{rooms: []string{}, except: []string{}}, false, "2f30c3212483bf4a", 2000)
			m, err := clusterwire.AppendMessage(nil, clusterwire.MsgBroadcast, data, nil, "18378531c2982400", "/")
			return string(m), err
		}, capAskAll},
		{"client count", func() (string, error) {
			m, err := clusterwire.AppendMessage(nil, clusterwire.MsgBroadcastClientCount, []byte(`{"requestId":"2f30c3212483bf4a","clientCount":1}`), nil, "5373ad1ab5a4be3a", "/")
			return string(m), err
		}, capClientCnt},
		{"session", func() (string, error) {
			return encodeSession(&sio.Session{SID: "6TK_HviFhuFOv5GSAAAA", PID: "BGpKzoSn7V8KNVUIAAAB",
				Rooms: []string{"6TK_HviFhuFOv5GSAAAA", "room1"}, Data: json.RawMessage(`{"user":"user-of-A"}`)})
		}, capSession},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// The decoders read what the Node adapter writes.
func TestDecodeNode(t *testing.T) {
	t.Run("binary broadcast", func(t *testing.T) {
		d, atts, err := decodeData(capBinary)
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodeBroadcast(d, atts)
		if err != nil {
			t.Fatal(err)
		}
		if string(b.packet.Data) != `["bin",{"_placeholder":true,"num":0}]` || len(atts) != 1 || !bytes.Equal(atts[0], []byte{1, 2, 3}) {
			t.Errorf("packet %s %x", b.packet.Data, atts)
		}
	})
	t.Run("volatile", func(t *testing.T) {
		d, atts, err := decodeData(capVolatile)
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodeBroadcast(d, atts)
		if err != nil || !b.flags.volatile || !b.flags.volatileSet || len(b.target.rooms) != 0 {
			t.Errorf("%+v %v", b, err)
		}
	})
	t.Run("join", func(t *testing.T) {
		d, _, err := decodeData(capJoin)
		if err != nil || d.Opts == nil || !reflect.DeepEqual([]string(d.Rooms), []string{"room2"}) || d.Opts.Rooms[0] != "GAXek5YeGNa4VPDXAAAC" {
			t.Errorf("%+v %v", d, err)
		}
	})
	for _, tc := range []struct {
		name, msg string
		typ       int
		check     func(*wireData) bool
	}{
		{"fetch", capFetch, clusterwire.MsgFetchSockets, func(d *wireData) bool { return d.RequestID == "ce6fa85ce9379d52" && d.Opts != nil }},
		{"sse", capSSE, clusterwire.MsgServerSideEmit, func(d *wireData) bool { return string(d.Packet) == `["ping-servers","x"]` }},
		{"sse answer", capSSEAnswer, clusterwire.MsgServerSideEmitResponse, func(d *wireData) bool { return string(d.Packet) == `"pong from B"` }},
		{"ask", capAskAll, clusterwire.MsgBroadcast, func(d *wireData) bool { return d.RequestID == "2f30c3212483bf4a" && d.Opts.flags().timeoutMs == 2000 }},
		{"count", capClientCnt, clusterwire.MsgBroadcastClientCount, func(d *wireData) bool { return d.ClientCount == 1 }},
		{"ack", capBroadcastA, clusterwire.MsgBroadcastAck, func(d *wireData) bool { return string(d.Packet) == `"ack from c2"` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, d, _, err := decodeMessage([]byte(tc.msg))
			if err != nil || m.Type != tc.typ || m.Nsp != "/" || len(m.UID) != 16 || !tc.check(d) {
				t.Errorf("%+v %+v %v", m, d, err)
			}
		})
	}
	t.Run("session", func(t *testing.T) {
		s, err := decodeSession([]byte(capSession))
		if err != nil || s.SID != "6TK_HviFhuFOv5GSAAAA" || s.PID != "BGpKzoSn7V8KNVUIAAAB" ||
			!reflect.DeepEqual(s.Rooms, []string{"6TK_HviFhuFOv5GSAAAA", "room1"}) || string(s.Data) != `{"user":"user-of-A"}` {
			t.Errorf("%+v %v", s, err)
		}
	})
	t.Run("JSON on pub/sub is refused", func(t *testing.T) {
		if _, _, _, err := decodeMessage([]byte(`{"type":7,"data":{},"uid":"x","nsp":"/"}`)); err == nil {
			t.Error("a JSON payload was taken")
		}
	})
}

func TestEntryFields(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string
		hasNsp  bool
		typ     int
		wantErr bool
	}{
		{name: "marker", fields: []string{"uid", "0123456789abcdef"}},
		{name: "warm-up", fields: []string{"warmup", "A"}},
		{name: "broadcast", fields: []string{"uid", "u", "nsp", "/", "type", "3", "data", "{}"}, hasNsp: true, typ: 3},
		{name: "no type", fields: []string{"uid", "u", "nsp", "/"}, hasNsp: true, wantErr: true},
		{name: "bad type", fields: []string{"uid", "u", "nsp", "/", "type", "x3"}, hasNsp: true, wantErr: true},
		{name: "odd fields", fields: []string{"nsp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := entryFields(tc.fields)
			if (err != nil) != tc.wantErr || m.hasNsp != tc.hasNsp || (err == nil && m.typ != tc.typ) {
				t.Errorf("%+v %v", m, err)
			}
		})
	}
}

func TestDecodeBroadcastRefuses(t *testing.T) {
	for _, data := range []string{
		`{"packet":{"type":2,"data":["news"]}}`,                                // no opts: wedges Node readers
		`{"packet":{"type":2,"data":"x"},"opts":{"rooms":[],"except":[]}}`,     // data not an array
		`{"packet":{"type":2,"data":[1,2},"opts":{}}`,                          // not JSON
		`{"packet":[],"opts":{"rooms":[],"except":[]}}`,                        // packet not an object
		`{"packet":{"type":2,"data":["a"]},"opts":{"rooms":{},"except":[]}}`,   // rooms not an array
		`{"packet":{"type":2,"data":["a"]},"opts":{"rooms":[{}],"except":[]}}`, // a room that is an object
		"gqZwYWNrZXSCpHR5cGUCpGRhdGGSo2JpbsQDAQID",                             // msgpack cut short
		"!!!", // not base64
	} {
		d, atts, err := decodeData(data)
		if err == nil {
			_, err = decodeBroadcast(d, atts)
		}
		if err == nil {
			t.Errorf("%s: accepted", data)
		}
	}
}

func TestAppendOffset(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`["a"]`, `["a","1-0"]`},
		{`[]`, `["1-0"]`},
		{`[ ]`, `["1-0"]`},
		{`["a",{"b":[1]}]`, `["a",{"b":[1]},"1-0"]`},
	} {
		if got := string(appendOffset([]byte(tc.in), "1-0")); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestIDs(t *testing.T) {
	for _, s := range []string{"", "-", "1-", "-1", "1-2-3", "a-1", "1 -2", "+1-2", "18446744073709551616-0"} {
		if _, ok := parseID(s); ok {
			t.Errorf("%q parsed", s)
		}
	}
	a, _ := parseID("9-5")
	b, _ := parseID("10-0")
	if !a.less(b) || b.less(a) || a.next().String() != "9-6" || maxID(a, b) != b {
		t.Error("order")
	}
	m, _ := parseID("1-18446744073709551615")
	if m.next().String() != "2-0" {
		t.Error(m.next())
	}
}

func TestTargetSelects(t *testing.T) {
	member := map[string]bool{"sid": true, "r1": true}
	for _, tc := range []struct {
		t    target
		want bool
	}{
		{target{}, true},
		{target{rooms: []string{"r1"}}, true},
		{target{rooms: []string{"sid"}}, true},
		{target{rooms: []string{"r2"}}, false},
		{target{except: []string{"r1"}}, false},
		{target{rooms: []string{"r1"}, except: []string{"sid"}}, false},
	} {
		if got := tc.t.selects(member); got != tc.want {
			t.Errorf("%+v: %v", tc.t, got)
		}
	}
}

func TestSessionRoundTrip(t *testing.T) {
	in := &sio.Session{SID: "s", PID: "p", Rooms: []string{"s", "r"}, Data: json.RawMessage(`{"n":1.5,"a":[true,null],"k":"\u00e9"}`)}
	v, err := encodeSession(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeSession([]byte(v))
	if err != nil || out.SID != in.SID || out.PID != in.PID || !reflect.DeepEqual(out.Rooms, in.Rooms) {
		t.Fatalf("%+v %v", out, err)
	}
	var x, y any
	json.Unmarshal(in.Data, &x)
	json.Unmarshal(out.Data, &y)
	if !reflect.DeepEqual(x, y) {
		t.Errorf("data %s, want %s", out.Data, in.Data)
	}
	if _, err := decodeSession([]byte(base64.StdEncoding.EncodeToString([]byte{0x80}))); err == nil {
		t.Error("a session without sid was taken")
	}
}
