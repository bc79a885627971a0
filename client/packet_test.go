package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"
)

type decodeCase struct {
	name string
	in   string
	want packet // data compared as text
	err  bool
}

func decodeCases() []decodeCase {
	p := func(t packetType, nsp string, id int64, atts int, data string) packet {
		pk := packet{typ: t, nsp: nsp, id: id, atts: atts}
		if data != "" {
			pk.data = []byte(data)
		}
		return pk
	}
	return []decodeCase{
		{name: "connect reply", in: `0{"sid":"abc"}`, want: p(pConnect, "/", noID, 0, `{"sid":"abc"}`)},
		{name: "connect reply custom", in: `0/admin,{"sid":"abc","pid":"x"}`, want: p(pConnect, "/admin", noID, 0, `{"sid":"abc","pid":"x"}`)},
		{name: "connect without comma", in: `0/admin`, want: p(pConnect, "/admin", noID, 0, "")},
		{name: "disconnect", in: `1`, want: p(pDisconnect, "/", noID, 0, "")},
		{name: "disconnect custom", in: `1/admin,`, want: p(pDisconnect, "/admin", noID, 0, "")},
		{name: "event", in: `2["chat","hi"]`, want: p(pEvent, "/", noID, 0, `["chat","hi"]`)},
		{name: "event numeric name", in: `2[42,1]`, want: p(pEvent, "/", noID, 0, `[42,1]`)},
		{name: "event with id", in: `212["q",1]`, want: p(pEvent, "/", 12, 0, `["q",1]`)},
		{name: "event custom with id", in: `2/a,7["q"]`, want: p(pEvent, "/a", 7, 0, `["q"]`)},
		{name: "ack", in: `33[1,"2"]`, want: p(pAck, "/", 3, 0, `[1,"2"]`)},
		{name: "empty ack", in: `30[]`, want: p(pAck, "/", 0, 0, `[]`)},
		{name: "connect error", in: `4{"message":"Invalid namespace"}`, want: p(pConnectError, "/", noID, 0, `{"message":"Invalid namespace"}`)},
		{name: "connect error string", in: `4/x,"nope"`, want: p(pConnectError, "/x", noID, 0, `"nope"`)},
		{name: "binary event", in: `52-["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
			want: p(pBinaryEvent, "/", noID, 2, `["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)},
		{name: "binary ack custom", in: `61-/a,9[{"_placeholder":true,"num":0}]`,
			want: p(pBinaryAck, "/a", 9, 1, `[{"_placeholder":true,"num":0}]`)},
		{name: "max id", in: `39007199254740991[]`, want: p(pAck, "/", maxID, 0, `[]`)},
		{name: "empty", in: ``, err: true},
		{name: "unknown type", in: `7[]`, err: true},
		{name: "not a digit", in: `a`, err: true},
		{name: "bad json", in: `2["a",]`, err: true},
		{name: "event not array", in: `2{}`, err: true},
		{name: "event empty array", in: `2[]`, err: true},
		{name: "event object name", in: `2[{}]`, err: true},
		{name: "event missing payload", in: `2`, err: true},
		{name: "disconnect with payload", in: `1{}`, err: true},
		{name: "connect array", in: `0[]`, err: true},
		{name: "ack object", in: `3{}`, err: true},
		{name: "binary without count", in: `5["a"]`, err: true},
		{name: "binary zero count", in: `50-["a"]`, err: true},
		{name: "binary without dash", in: `51["a"]`, err: true},
		{name: "too many attachments", in: `511-["a"]`, err: true},
		{name: "id overflow", in: `39007199254740992[]`, err: true},
		{name: "trailing garbage", in: `2["a"]x`, err: true},
	}
}

func TestDecodePacket(t *testing.T) {
	for _, c := range decodeCases() {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodePacket([]byte(c.in), 10)
			if c.err {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", got)
				}
				if !errors.Is(err, errPacket) {
					t.Fatalf("error %v does not wrap errPacket", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.typ != c.want.typ || got.nsp != c.want.nsp || got.id != c.want.id || got.atts != c.want.atts || string(got.data) != string(c.want.data) {
				t.Fatalf("got %+v (%s), want %+v (%s)", got, got.data, c.want, c.want.data)
			}
			// Round trip: our encoding of it decodes to the same packet.
			again, err := decodePacket(appendPacket(nil, &got), 10)
			if err != nil || !samePacket(again, got) {
				t.Fatalf("re-encoded %q decodes to %+v, %v", appendPacket(nil, &got), again, err)
			}
		})
	}
}

func samePacket(a, b packet) bool {
	return a.typ == b.typ && a.nsp == b.nsp && a.id == b.id && a.atts == b.atts && bytes.Equal(a.data, b.data)
}

// TestDecodePacketCuts decodes every valid packet cut at every byte: a
// message is never partial on the wire, but a decoder must not trust its
// input's length. Each prefix must decode without panicking, and what
// decodes must round-trip.
func TestDecodePacketCuts(t *testing.T) {
	for _, c := range decodeCases() {
		for i := 0; i <= len(c.in); i++ {
			in := []byte(c.in[:i])
			p, err := decodePacket(in, 10)
			if err != nil {
				continue
			}
			again, err := decodePacket(appendPacket(nil, &p), 10)
			if err != nil || !samePacket(again, p) {
				t.Fatalf("%s cut at %d: %+v does not round-trip (%v)", c.name, i, p, err)
			}
		}
	}
}

func FuzzDecodePacket(f *testing.F) {
	for _, c := range decodeCases() {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b, 10)
		if err != nil {
			return
		}
		if p.atts < 0 || p.atts > 10 || p.id < noID || p.id > maxID || p.nsp == "" || p.nsp[0] != '/' {
			t.Fatalf("bad fields %+v", p)
		}
		enc := appendPacket(nil, &p)
		again, err := decodePacket(enc, 10)
		if err != nil || !samePacket(again, p) {
			t.Fatalf("%q -> %q does not round-trip: %+v vs %+v (%v)", b, enc, again, p, err)
		}
		if p.data != nil && p.data[0] == '[' {
			args, err := splitArray(p.data)
			if err != nil {
				t.Fatalf("splitArray(%q): %v", p.data, err)
			}
			var want []json.RawMessage
			if err := json.Unmarshal(p.data, &want); err != nil {
				t.Fatal(err)
			}
			if len(args) != len(want) {
				t.Fatalf("splitArray(%q) gave %d elements, encoding/json %d", p.data, len(args), len(want))
			}
			for i := range args {
				if !json.Valid(args[i]) || !bytes.Equal(bytes.TrimSpace(want[i]), args[i]) {
					t.Fatalf("element %d: %q vs %q", i, args[i], want[i])
				}
			}
		}
	})
}

func TestSplitArray(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: `[]`, want: nil},
		{in: ` [ ] `, want: nil},
		{in: `[1]`, want: []string{`1`}},
		{in: `["a,b", {"x":[1,2]}, [3,[4]] , null]`, want: []string{`"a,b"`, `{"x":[1,2]}`, `[3,[4]]`, `null`}},
		{in: `["q\"]", "\\"]`, want: []string{`"q\"]"`, `"\\"`}},
		{in: `{}`, err: true},
		{in: `[1,]`, err: true},
		{in: `[,1]`, err: true},
	} {
		got, err := splitArray([]byte(c.in))
		if c.err {
			if err == nil {
				t.Errorf("%s: no error", c.in)
			}
			continue
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if err != nil || !reflect.DeepEqual(gs, c.want) {
			t.Errorf("%s: got %q, %v; want %q", c.in, gs, err, c.want)
		}
	}
}

// TestAppendArgs checks the encoding of emit arguments: attachments found
// at any depth of the generic containers, numbered in order, the rest
// as encoding/json writes it.
func TestAppendArgs(t *testing.T) {
	type S struct {
		B []byte `json:"b"`
		N int    `json:"n"`
	}
	args := []any{
		[]byte{1},
		map[string]any{"z": []any{[]byte{2}, "s"}, "a": 1.5},
		[][]byte{{3}, {4}},
		S{B: []byte{5}, N: 6},
		json.RawMessage(`{"raw":true}`),
		nil, true, int64(-7), uint(8), "<&>\u2028", 1e21, 1e-7, 0.0,
	}
	out, atts, err := appendArgs(nil, true, "ev", args)
	if err != nil {
		t.Fatal(err)
	}
	want := `["ev",{"_placeholder":true,"num":0},{"a":1.5,"z":[{"_placeholder":true,"num":1},"s"]},` +
		`[{"_placeholder":true,"num":2},{"_placeholder":true,"num":3}],{"b":"BQ==","n":6},{"raw":true},` +
		"null,true,-7,8,\"<&>\u2028\",1e+21,1e-7,0]"
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	if !reflect.DeepEqual(atts, [][]byte{{1}, {2}, {3}, {4}}) {
		t.Fatalf("attachments %v", atts)
	}
	if _, _, err := appendArgs(nil, false, "", []any{math.NaN()}); err == nil {
		t.Fatal("NaN encoded")
	}
	cyclic := []any{nil}
	cyclic[0] = cyclic
	if _, _, err := appendArgs(nil, false, "", []any{cyclic}); err == nil {
		t.Fatal("cyclic value encoded")
	}
	ack, _, _ := appendArgs(nil, false, "", []any{1, "a"})
	if string(ack) != `[1,"a"]` {
		t.Fatalf("ack args %s", ack)
	}
}

// TestAppendFloat: floats are written as encoding/json writes them.
func TestAppendFloat(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.1, 1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, -2.5e-9, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		got, err := appendFloat(nil, f)
		want, _ := json.Marshal(f)
		if err != nil || string(got) != string(want) {
			t.Errorf("%v: got %s, want %s", f, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "abc", "\"\\\n\r\t\b\f\x00\x1f", "é\u2028😀", "\xff\xfe", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		// Invalid UTF-8 becomes U+FFFD byte by byte, as with encoding/json.
		ref, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("%q round-trips to %q, encoding/json to %q", s, got, want)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("%q round-trips to %q", s, got)
		}
	})
}

func TestReassembler(t *testing.T) {
	var r reassembler
	if _, _, _, err := r.add([]byte{1}); err == nil {
		t.Fatal("attachment without a header accepted")
	}
	p, err := decodePacket([]byte(`52-["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), 10)
	if err != nil {
		t.Fatal(err)
	}
	r.start(p)
	if !r.pending() {
		t.Fatal("not pending")
	}
	buf := []byte{7, 7}
	if _, _, done, err := r.add(buf); done || err != nil {
		t.Fatal("done after one of two")
	}
	buf[0] = 0 // attachments are copied: the transport reuses its buffer
	got, atts, done, err := r.add([]byte{8})
	if !done || err != nil || !reflect.DeepEqual(atts, [][]byte{{7, 7}, {8}}) || got.atts != 2 {
		t.Fatalf("got %+v %v %v %v", got, atts, done, err)
	}
	m, err := newMessage(got.data, atts)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := m.Binary(2); !ok || !bytes.Equal(b, []byte{8}) {
		t.Fatalf("Binary(2) = %v %v", b, ok)
	}
	if r.pending() {
		t.Fatal("still pending")
	}
}

func TestPlaceholderIndex(t *testing.T) {
	for _, c := range []struct {
		raw string
		n   int
		ok  bool
	}{
		{`{"_placeholder":true,"num":0}`, 0, true},
		{`{"num":3,"_placeholder":true}`, 3, true},
		{`{"_placeholder":true,"num":2.0}`, 2, true},
		{`{"_placeholder":true,"num":1.5}`, 0, false},
		{`{"_placeholder":true,"num":-1}`, 0, false},
		{`{"_placeholder":true,"num":"0"}`, 0, false},
		{`{"_placeholder":false,"num":0}`, 0, false},
		{`{"_placeholder":true}`, 0, false},
		{`"x"`, 0, false},
	} {
		n, ok := placeholderNum([]byte(c.raw))
		if n != c.n || ok != c.ok {
			t.Errorf("%s: %d %v, want %d %v", c.raw, n, ok, c.n, c.ok)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	in := []byte(`2/chat,["message",{"room":"r1","text":"hello world","n":` + strconv.Itoa(12345) + `}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		p, err := decodePacket(in, 10)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := splitArray(p.data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	args := []any{"r1", "hello world", 12345}
	var body, out []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		body, _, err = appendArgs(body[:0], true, "message", args)
		if err != nil {
			b.Fatal(err)
		}
		p := packet{typ: pEvent, nsp: "/chat", id: noID, data: body}
		out = appendPacket(out[:0], &p)
	}
	b.SetBytes(int64(len(out)))
}
