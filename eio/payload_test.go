package eio

import (
	"bytes"
	"testing"
)

type rec struct {
	p      string
	binary bool
}

func decodeAll(body []byte) ([]rec, error) {
	var out []rec
	err := DecodePayload(body, func(p []byte, binary bool) bool {
		out = append(out, rec{string(p), binary})
		return true
	})
	return out, err
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []rec
		wantErr bool
	}{
		{name: "one text", body: "4hello", want: []rec{{"4hello", false}}},
		{name: "several", body: "4test1\x1e4test2\x1e4test3", want: []rec{{"4test1", false}, {"4test2", false}, {"4test3", false}}},
		{name: "text and binary", body: "4hello\x1ebAQIDBA==", want: []rec{{"4hello", false}, {"\x01\x02\x03\x04", true}}},
		{name: "socket.io packets", body: "42[\"message\",\"hi\"]\x1e451-[\"m\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID",
			want: []rec{{`42["message","hi"]`, false}, {`451-["m",{"_placeholder":true,"num":0}]`, false}, {"\x01\x02\x03", true}}},
		{name: "ping pong close", body: "3\x1e1", want: []rec{{"3", false}, {"1", false}}},
		{name: "empty binary", body: "b", want: []rec{{"", true}}},
		{name: "empty body", body: "", wantErr: true},
		{name: "unknown type", body: "abc", wantErr: true},
		{name: "type 9", body: "9", wantErr: true},
		{name: "empty record", body: "4a\x1e", want: []rec{{"4a", false}}, wantErr: true},
		{name: "bad base64", body: "b!!!notbase64", wantErr: true},
		{name: "unpadded base64", body: "bAQID", want: []rec{{"\x01\x02\x03", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("packet %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestDecodePayloadStops(t *testing.T) {
	n := 0
	err := DecodePayload([]byte("4a\x1e4b\x1e4c"), func([]byte, bool) bool { n++; return n < 2 })
	if err != nil || n != 2 {
		t.Fatalf("n = %d, err = %v; want 2, nil", n, err)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	packets := [][]byte{[]byte("4hello"), {0, 1, 2, 0x1e, 0xff}, []byte("2"), {}, []byte("4\u00e9\u4e16")}
	binary := []bool{false, true, false, true, false}
	body := AppendPayload(nil, packets, binary)
	got, err := decodeAll(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range packets {
		if got[i].p != string(packets[i]) || got[i].binary != binary[i] {
			t.Fatalf("packet %d = %q/%v, want %q/%v", i, got[i].p, got[i].binary, packets[i], binary[i])
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1ebAQIDBA==\x1e3", "b", "\x1e", "1", "6\x1e6", "bAQ=", "0{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var ps [][]byte
		var bs []bool
		err := DecodePayload(bytes.Clone(body), func(p []byte, binary bool) bool {
			ps = append(ps, bytes.Clone(p))
			bs = append(bs, binary)
			return true
		})
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to a body that decodes the same.
		again, err := decodeAll(AppendPayload(nil, ps, bs))
		if err != nil {
			t.Fatalf("re-encoded payload fails: %v", err)
		}
		if len(again) != len(ps) {
			t.Fatalf("round trip: %d packets, want %d", len(again), len(ps))
		}
		for i := range ps {
			if again[i].p != string(ps[i]) || again[i].binary != bs[i] {
				t.Fatalf("round trip packet %d differs", i)
			}
		}
	})
}

func BenchmarkDecodePayload(b *testing.B) {
	body := []byte("42[\"message\",\"hi\"]\x1e451-[\"m\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBAUGBwgJCgsMDQ4PEA==")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		_ = DecodePayload(body, func([]byte, bool) bool { return true })
	}
}
