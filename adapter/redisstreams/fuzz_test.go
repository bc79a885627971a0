package redisstreams

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/sioloop/sioloop/adapter/internal/clusterwire"
	"github.com/sioloop/sioloop/internal/packet"
)

// Seeds common to the targets, besides testdata/fuzz: what Node writes.
func addEntrySeeds(f *testing.F) {
	for _, d := range []string{capHello, capBinary, capJoin, capVolatile, capExcept,
		`{"packet":{"type":2,"data":["a",1,{"b":[null,true]}],"id":3},"opts":{"rooms":[7,"x"],"except":[],"flags":{"volatile":false,"timeout":5}}}`,
		`{"opts":{"rooms":[],"except":["r"],"flags":{}},"close":true}`,
	} {
		f.Add("3", d)
	}
}

// FuzzEntry: a stream entry's type and data never make the decoder panic;
// a broadcast it accepts has a JSON array of arguments whose placeholders
// name its attachments, takes an offset as valid JSON, and encodes back
// to an entry that decodes to the same broadcast.
func FuzzEntry(f *testing.F) {
	addEntrySeeds(f)
	f.Fuzz(func(t *testing.T, typ, data string) {
		m, err := entryFields([]string{"uid", "u", "nsp", "/", "type", typ, "data", data})
		if err != nil {
			return
		}
		d, atts, err := decodeData(m.data)
		if err != nil {
			return
		}
		_ = d.Opts.target // nil-safe use below
		if d.Opts != nil {
			d.Opts.flags()
		}
		b, err := decodeBroadcast(d, atts)
		if err != nil {
			return
		}
		if !packet.Valid(b.packet.Data) || b.packet.Data[0] != '[' {
			t.Fatalf("arguments %q", b.packet.Data)
		}
		if len(atts) > 0 && packet.ValidatePlaceholders(b.packet.Data, len(atts)) != nil {
			t.Fatalf("placeholders of %q do not match %d attachments", b.packet.Data, len(atts))
		}
		if with := appendOffset(b.packet.Data, "1-2"); !json.Valid(with) {
			t.Fatalf("with offset: %q", with)
		}
		// Round trip.
		again, err := streamData(appendBroadcastData(nil, &b.packet, b.target, b.flags.volatile, "", 0), atts)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		d2, atts2, err := decodeData(again)
		if err != nil {
			t.Fatalf("re-decode %q: %v", again, err)
		}
		b2, err := decodeBroadcast(d2, atts2)
		if err != nil {
			t.Fatalf("re-decode %q: %v", again, err)
		}
		if !sameJSON(b.packet.Data, b2.packet.Data) || !reflect.DeepEqual(b.target, b2.target) ||
			b.flags.volatile != b2.flags.volatile || len(atts) != len(atts2) {
			t.Fatalf("round trip:\n%q %+v\n%q %+v", b.packet.Data, b.target, b2.packet.Data, b2.target)
		}
		for i := range atts {
			if !bytes.Equal(atts[i], atts2[i]) {
				t.Fatalf("attachment %d", i)
			}
		}
	})
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// FuzzMessage: a pub/sub payload never makes the decoder panic, and what
// it accepts re-encodes to a message that decodes the same.
func FuzzMessage(f *testing.F) {
	for _, m := range []string{capFetch, capSSE, capSSEAnswer, capAskAll, capClientCnt, capBroadcastA} {
		f.Add([]byte(m))
	}
	f.Add([]byte(`{"type":7}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		in := slices.Clone(payload)
		m, d, atts, err := decodeMessage(payload)
		if !bytes.Equal(in, payload) {
			t.Fatal("the payload was modified")
		}
		if err != nil {
			return
		}
		if m.Type == clusterwire.MsgBroadcast {
			decodeBroadcast(d, atts)
		}
		if d.Opts != nil {
			d.Opts.flags()
		}
		again, err := clusterwire.AppendMessage(nil, m.Type, m.Data, atts, m.UID, m.Nsp)
		if err != nil {
			return // data JSON that msgpack cannot hold the same way (placeholders)
		}
		m2, _, _, err := decodeMessage(again)
		if err != nil || m2.Type != m.Type || m2.UID != m.UID || m2.Nsp != m.Nsp {
			t.Fatalf("round trip: %+v %v", m2, err)
		}
	})
}

// FuzzSession: a stored session value never makes the decoder panic, and
// what it accepts encodes back to a value that decodes the same.
func FuzzSession(f *testing.F) {
	f.Add([]byte(capSession))
	f.Add([]byte("gA=="))
	f.Fuzz(func(t *testing.T, v []byte) {
		s, err := decodeSession(v)
		if err != nil {
			return
		}
		enc, err := encodeSession(s)
		if err != nil {
			if json.Valid(s.Data) {
				return // placeholders in data that msgpack cannot hold
			}
			t.Fatalf("data %q: %v", s.Data, err)
		}
		s2, err := decodeSession([]byte(enc))
		if err != nil || s2.SID != s.SID || s2.PID != s.PID || !slices.Equal(s2.Rooms, s.Rooms) || !sameJSON(s.Data, s2.Data) {
			t.Fatalf("round trip: %+v %+v %v", s, s2, err)
		}
	})
}
