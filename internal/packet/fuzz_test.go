package packet

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func addPacketSeeds(f *testing.F) {
	for _, tc := range validPackets {
		f.Add([]byte(tc.in))
	}
	for _, tc := range invalidPackets {
		f.Add([]byte(tc.in))
	}
}

// FuzzDecode: Decode never panics, accepted payloads are valid JSON, and
// encode(decode(x)) decodes to the same packet and is canonical.
func FuzzDecode(f *testing.F) {
	addPacketSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Decode(in, 10)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("accepted invalid JSON %q", p.Data)
		}
		if p.Type.IsBinary() != (p.Attachments > 0) || p.Attachments > 10 || p.ID < NoID || p.ID > MaxID {
			t.Fatalf("bad fields %s", dump(p))
		}
		enc := AppendEncode(nil, &p)
		q, err := Decode(enc, 10)
		if err != nil {
			t.Fatalf("Decode(AppendEncode(Decode(%q))) = %q: %v", in, enc, err)
		}
		if !packetEqual(p, q) {
			t.Fatalf("round trip of %q: %s then %s", in, dump(p), dump(q))
		}
		if again := AppendEncode(nil, &q); !bytes.Equal(again, enc) {
			t.Fatalf("not canonical: %q then %q", enc, again)
		}
		if p.Type == Event || p.Type == BinaryEvent {
			args, err := SplitArgs(p.Data)
			if err != nil || len(args) == 0 {
				t.Fatalf("SplitArgs(%q) = %q, %v", p.Data, args, err)
			}
		}
		if p.Type.IsBinary() {
			_ = ValidatePlaceholders(p.Data, p.Attachments)
		}
	})
}

// FuzzReassemble: a header and a blob cut into attachments; never panics,
// and a completed packet substitutes into valid JSON that agrees with Resolve.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte(`52-["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},"Q8Jq4Ln"]`), []byte{1, 2, 3, 4}, uint8(3), uint16(100))
	f.Add([]byte(`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), []byte("hello"), uint8(1), uint16(5))
	f.Add([]byte(`51-["x",{"_placeholder":true,"num":0,"y":{"_placeholder":true,"num":9}}]`), []byte{}, uint8(0), uint16(0))
	f.Add([]byte(`51-["x",{"_placeholder":true,"num":"__proto__"}]`), []byte{1}, uint8(0), uint16(10))
	f.Add([]byte(`2["x"]`), []byte{1}, uint8(0), uint16(10))
	f.Fuzz(func(t *testing.T, header, blob []byte, cut uint8, limit uint16) {
		r := Reassembler{MaxAttachmentBytes: int64(limit)}
		p, err := Decode(header, 10)
		if err != nil || !p.Type.IsBinary() {
			if _, _, _, err := r.Add(blob); !errors.Is(err, ErrUnexpectedBinary) {
				t.Fatalf("Add without Start: %v", err)
			}
			return
		}
		if err := r.Start(p); err != nil {
			if ValidatePlaceholders(p.Data, p.Attachments) == nil {
				t.Fatalf("Start refused valid placeholders: %v", err)
			}
			if r.Pending() {
				t.Fatal("pending after refused Start")
			}
			return
		}
		wantData := bytes.Clone(p.Data)
		copy(header, bytes.Repeat([]byte{'#'}, len(header))) // Start must have copied
		rest := blob
		var total int
		for k := 0; k < p.Attachments; k++ {
			n := 0
			if len(rest) > 0 {
				n = (int(cut) + k) % (len(rest) + 1)
			}
			if k == p.Attachments-1 {
				n = len(rest)
			}
			part := rest[:n]
			rest = rest[n:]
			total += n
			done, q, atts, err := r.Add(part)
			if err != nil {
				if !errors.Is(err, ErrAttachmentSize) || int64(total) <= r.MaxAttachmentBytes && r.MaxAttachmentBytes > 0 {
					t.Fatalf("Add: %v (total %d, limit %d)", err, total, r.MaxAttachmentBytes)
				}
				return
			}
			if done != (k == p.Attachments-1) {
				t.Fatalf("done=%v after %d of %d", done, k+1, p.Attachments)
			}
			if !done {
				continue
			}
			if len(atts) != p.Attachments || !bytes.Equal(bytes.Join(atts, nil), blob) {
				t.Fatalf("attachments %q do not rebuild %q", atts, blob)
			}
			if q.ID != p.ID || q.Namespace != p.Namespace || !bytes.Equal(q.Data, wantData) {
				t.Fatalf("packet changed: %s", dump(q))
			}
			if q.Data == nil {
				continue // BINARY_ACK without payload, accepted like the reference
			}
			sub := SubstituteBase64(q.Data, atts)
			if !json.Valid(sub) {
				t.Fatalf("SubstituteBase64 gave invalid JSON %q", sub)
			}
			// Start validated every placeholder, so none may survive.
			if err := ValidatePlaceholders(sub, 0); err != nil {
				t.Fatalf("placeholder left in %q: %v", sub, err)
			}
			checkSubstituteResolveAgree(t, q.Data, atts)
		}
		if r.Pending() {
			t.Fatal("still pending after all attachments")
		}
	})
}

// FuzzJSON compares the scanner, the placeholder walker, SplitArgs and
// AppendUnquote with encoding/json on arbitrary input.
func FuzzJSON(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add([]byte(s))
	}
	f.Add([]byte(`["chat",{"a":1},2]`))
	f.Add([]byte(`[{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1.0}}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, err := trimValue(in)
		std := json.Valid(in)
		switch {
		case err == nil && !std:
			t.Fatalf("scanner accepts %q, encoding/json does not", in)
		case err != nil && std && !errors.Is(err, ErrDepth):
			t.Fatalf("scanner rejects %q (%v), encoding/json accepts", in, err)
		}
		werr := ValidatePlaceholders(in, 1<<30)
		if (werr == nil || errors.Is(werr, ErrPlaceholder)) != (err == nil) {
			t.Fatalf("walker %v, scanner %v for %q", werr, err, in)
		}
		if err != nil {
			return
		}
		sub := SubstituteBase64(in, [][]byte{{1}, {2}})
		if !json.Valid(sub) {
			t.Fatalf("SubstituteBase64(%q) = %q invalid", in, sub)
		}
		checkSubstituteResolveAgree(t, in, [][]byte{{1}, {2}})
		var raws []json.RawMessage
		if json.Unmarshal(in, &raws) == nil && raws != nil {
			got, err := SplitArgs(in)
			if err != nil || len(got) != len(raws) {
				t.Fatalf("SplitArgs(%q) = %q, %v; want %q", in, got, err, raws)
			}
			for i := range got {
				if !bytes.Equal(got[i], raws[i]) {
					t.Fatalf("SplitArgs(%q)[%d] = %q, want %q", in, i, got[i], raws[i])
				}
			}
		}
		var s string
		if trimmed := bytes.TrimSpace(in); len(trimmed) > 0 && trimmed[0] == '"' && json.Unmarshal(in, &s) == nil {
			got, err := AppendUnquote(nil, in)
			if err != nil || string(got) != s {
				t.Fatalf("AppendUnquote(%q) = %q, %v; want %q", in, got, err, s)
			}
			if !jsonStringIs(bytes.TrimSpace(in), s) {
				t.Fatalf("jsonStringIs(%q, %q) = false", in, s)
			}
		}
	})
}

// FuzzAppendQuote: AppendQuote matches encoding/json and round-trips.
func FuzzAppendQuote(f *testing.F) {
	for _, s := range stringSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendQuote(nil, s)
		if want := encodingJSONString(t, s); string(got) != want {
			t.Fatalf("AppendQuote(%q) = %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		dec, err := AppendUnquote(nil, got)
		if err != nil || string(dec) != back {
			t.Fatalf("AppendUnquote(%s) = %q, %v; want %q", got, dec, err, back)
		}
	})
}

// FuzzAppendArgsStruct: a struct holding []byte at several kinds of place
// (field, pointer, slice, map, interface) encodes to valid placeholders,
// and putting the attachments back as base64 gives encoding/json's output;
// decoding with DecodeArg gives the value back.
func FuzzAppendArgsStruct(f *testing.F) {
	f.Add([]byte{1, 2, 3}, "name", uint8(0xff), true)
	f.Add([]byte{}, "", uint8(0), false)
	f.Add([]byte(nil), "<&>\u2028\xff", uint8(0x55), true)
	f.Add([]byte(`{"_placeholder":true,"num":0}`), `{"_placeholder":true,"num":0}`, uint8(0x0f), false)
	type item struct {
		S string `json:"s"`
		B []byte `json:"b,omitempty"`
	}
	type msg struct {
		B    []byte            `json:"b"`
		P    *[]byte           `json:"p"`
		L    []item            `json:"l"`
		M    map[string][]byte `json:"m"`
		A    any               `json:"a"`
		Name string            `json:"name,string"`
	}
	f.Fuzz(func(t *testing.T, b []byte, s string, mask uint8, ptr bool) {
		pick := func(bit uint8) []byte {
			if mask&bit == 0 {
				return nil
			}
			return b
		}
		v := msg{B: pick(1), L: []item{{S: s, B: pick(2)}, {B: pick(4)}}, M: map[string][]byte{s: pick(8), "k": pick(16)}, Name: s}
		if ptr {
			bb := pick(32)
			v.P = &bb
		}
		if mask&64 != 0 {
			v.A = []any{pick(128), s}
		}
		checkAgainstJSON(t, v)
		out, atts, err := AppendArgs(nil, "", []any{v})
		if err != nil {
			t.Fatal(err)
		}
		var back msg
		if err := DecodeArg(out[1:len(out)-1], atts, &back); err != nil {
			t.Fatalf("DecodeArg(%s): %v", out, err)
		}
		// What encoding/json gives back from its own (base64) encoding.
		var want msg
		if err := json.Unmarshal([]byte(jsonNoHTML(t, v)), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("round trip: %+v, want %+v", back, want)
		}
	})
}
