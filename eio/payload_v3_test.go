package eio

import (
	"bytes"
	"testing"
)

// The reference encodings below are engine.io's parser-v3 encodePayload
// output for [message "hé😀", message <01 02 03>, pong].
var (
	v3TextGolden   = "5:4hé😀6:b4AQID1:3"
	v3BinaryGolden = []byte{0, 8, 255, '4', 'h', 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 1, 4, 255, 4, 1, 2, 3, 0, 1, 255, '3'}
	v3Packets      = [][]byte{[]byte("4hé😀"), {1, 2, 3}, []byte("3")}
	v3Binary       = []bool{false, true, false}
)

func decodeAllV3(body []byte, binaryForm bool) ([]rec, error) {
	decode := DecodePayloadV3
	if binaryForm {
		decode = DecodeBinaryPayloadV3
	}
	var out []rec
	err := decode(body, func(p []byte, binary bool) bool {
		out = append(out, rec{string(p), binary})
		return true
	})
	return out, err
}

func wantPackets(t *testing.T, got []rec, packets [][]byte, binary []bool) {
	t.Helper()
	if len(got) != len(packets) {
		t.Fatalf("got %d packets %+v, want %d", len(got), got, len(packets))
	}
	for i := range got {
		if got[i].p != string(packets[i]) || got[i].binary != binary[i] {
			t.Fatalf("packet %d = %q/%v, want %q/%v", i, got[i].p, got[i].binary, packets[i], binary[i])
		}
	}
}

func TestPayloadV3Golden(t *testing.T) {
	if got := string(AppendPayloadV3(nil, v3Packets, v3Binary)); got != v3TextGolden {
		t.Errorf("text form %q, want %q", got, v3TextGolden)
	}
	if got := AppendBinaryPayloadV3(nil, v3Packets, v3Binary); !bytes.Equal(got, v3BinaryGolden) {
		t.Errorf("binary form %v, want %v", got, v3BinaryGolden)
	}
	got, err := decodeAllV3([]byte(v3TextGolden), false)
	if err != nil {
		t.Fatal(err)
	}
	wantPackets(t, got, v3Packets, v3Binary)
	got, err = decodeAllV3(v3BinaryGolden, true)
	if err != nil {
		t.Fatal(err)
	}
	wantPackets(t, got, v3Packets, v3Binary)
}

func TestDecodePayloadV3(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []rec
		wantErr bool
	}{
		{name: "one", body: "6:4hello", want: []rec{{"4hello", false}}},
		{name: "two", body: "2:4a2:4b", want: []rec{{"4a", false}, {"4b", false}}},
		{name: "ping probe", body: "6:2probe", want: []rec{{"2probe", false}}},
		{name: "utf-16 length", body: "4:4é😀", want: []rec{{"4é😀", false}}},
		{name: "empty record skipped", body: "0:1:6", want: []rec{{"6", false}}},
		{name: "base64", body: "6:b4AQID", want: []rec{{"\x01\x02\x03", true}}},
		{name: "empty base64", body: "2:b4", want: []rec{{"", true}}},
		{name: "record separator is data", body: "3:4\x1ea", want: []rec{{"4\x1ea", false}}},
		{name: "empty", body: "", wantErr: true},
		{name: "no length", body: ":4a", wantErr: true},
		{name: "no colon", body: "12", wantErr: true},
		{name: "not a digit", body: "1x:4", wantErr: true},
		{name: "too long", body: "9:4abc", wantErr: true},
		{name: "length in bytes, not characters", body: "3:4é", wantErr: true},
		{name: "half a surrogate pair", body: "2:4😀", wantErr: true},
		{name: "not utf-8", body: "2:4\xff", wantErr: true},
		{name: "trailing", body: "1:6x", wantErr: true},
		{name: "unknown type", body: "1:9", wantErr: true},
		{name: "binary of another type", body: "6:b2AQID", wantErr: true},
		{name: "bad base64", body: "4:b4!!", wantErr: true},
		{name: "huge length", body: "99999999999:4", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAllV3([]byte(tt.body), false)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v (got %+v)", err, tt.wantErr, got)
			}
			if !tt.wantErr {
				if len(got) != len(tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Fatalf("packet %d = %+v, want %+v", i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestDecodeBinaryPayloadV3Errors(t *testing.T) {
	for name, body := range map[string][]byte{
		"empty":           {},
		"no 0xff":         {0, 1},
		"no digits":       {0, 255, '4'},
		"digit above 9":   {0, 10, 255, '4'},
		"too long":        {0, 5, 255, '4'},
		"zero length":     {0, 0, 255},
		"unknown type":    {0, 1, 255, '9'},
		"binary type 2":   {1, 2, 255, 2, 0},
		"too many digits": append([]byte{0}, bytes.Repeat([]byte{1}, 12)...),
	} {
		if _, err := decodeAllV3(body, true); err == nil {
			t.Errorf("%s: decoded %v", name, body)
		}
	}
}

// TestPayloadV3Split cuts valid bodies at every offset: the cut body
// decodes to an error or to a prefix of the packets, never to a packet
// that was not sent; the two halves never decode to more than the whole.
func TestPayloadV3Split(t *testing.T) {
	packets := [][]byte{[]byte("4hé😀"), {1, 2, 3}, []byte("3"), []byte(`42["ev","\u001e😀"]`), {}, []byte("6")}
	binary := []bool{false, true, false, false, true, false}
	for _, form := range []struct {
		name   string
		binary bool
		body   []byte
	}{
		{"text", false, AppendPayloadV3(nil, packets, binary)},
		{"binary", true, AppendBinaryPayloadV3(nil, packets, binary)},
	} {
		all, err := decodeAllV3(form.body, form.binary)
		if err != nil {
			t.Fatalf("%s: %v", form.name, err)
		}
		wantPackets(t, all, packets, binary)
		for cut := 0; cut <= len(form.body); cut++ {
			head, errHead := decodeAllV3(form.body[:cut], form.binary)
			for i, p := range head {
				if p != all[i] {
					t.Fatalf("%s cut at %d: packet %d = %+v, want %+v", form.name, cut, i, p, all[i])
				}
			}
			if errHead == nil && cut < len(form.body) {
				// A clean cut is at a record boundary: the rest decodes
				// to the remaining packets.
				tail, err := decodeAllV3(form.body[cut:], form.binary)
				if err != nil {
					t.Fatalf("%s cut at %d: head decodes, tail fails: %v", form.name, cut, err)
				}
				if len(head)+len(tail) != len(all) {
					t.Fatalf("%s cut at %d: %d+%d packets, want %d", form.name, cut, len(head), len(tail), len(all))
				}
			}
		}
	}
}

// TestTranscodeV3 checks that the v4 queue records transcode to what the
// v3 encoders give for the same packets.
func TestTranscodeV3(t *testing.T) {
	q := AppendPayload(nil, v3Packets, v3Binary)
	var recs []record
	for i, n := 0, 0; i < len(v3Packets); i++ {
		if v3Binary[i] {
			n += 1 + (len(v3Packets[i])+2)/3*4
		} else {
			n += len(v3Packets[i])
		}
		recs = append(recs, record{end: n, binary: v3Binary[i]})
		n++
	}
	got, isBinary := transcodeV3(nil, q, recs, false)
	if isBinary || string(got) != v3TextGolden {
		t.Errorf("b64 client: %q (binary %v), want %q", got, isBinary, v3TextGolden)
	}
	got, isBinary = transcodeV3(nil, q, recs, true)
	if !isBinary || !bytes.Equal(got, v3BinaryGolden) {
		t.Errorf("binary client: %v (binary %v), want %v", got, isBinary, v3BinaryGolden)
	}
	// Without binary records a binary-capable client gets the text form.
	got, isBinary = transcodeV3(nil, []byte("4a\x1e3"), []record{{end: 2}, {end: 4}}, true)
	if isBinary || string(got) != "2:4a1:3" {
		t.Errorf("text only: %q (binary %v), want \"2:4a1:3\"", got, isBinary)
	}
}

func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range []string{v3TextGolden, "0:", "1:6", "2:b4", "4:4é😀", "3:4\x1ea", "1:", "x", string(v3BinaryGolden)} {
		f.Add([]byte(s), false)
	}
	f.Add(v3BinaryGolden, true)
	f.Add([]byte{1, 1, 255, 4}, true)
	f.Fuzz(func(t *testing.T, body []byte, binaryForm bool) {
		ps, err := decodeAllV3(bytes.Clone(body), binaryForm)
		if err != nil {
			return
		}
		packets := make([][]byte, len(ps))
		binary := make([]bool, len(ps))
		for i, p := range ps {
			packets[i], binary[i] = []byte(p.p), p.binary
		}
		// Whatever decodes re-encodes, in both forms, to a body that
		// decodes the same.
		for _, form := range []bool{false, true} {
			enc := AppendPayloadV3(nil, packets, binary)
			if form {
				enc = AppendBinaryPayloadV3(nil, packets, binary)
			}
			again, err := decodeAllV3(enc, form)
			if err != nil && len(packets) > 0 {
				t.Fatalf("re-encoded (binary form %v) fails: %v", form, err)
			}
			if len(again) != len(ps) && len(packets) > 0 {
				t.Fatalf("round trip: %d packets, want %d", len(again), len(ps))
			}
			for i := range again {
				if again[i] != ps[i] {
					t.Fatalf("round trip packet %d: %+v, want %+v", i, again[i], ps[i])
				}
			}
		}
	})
}
