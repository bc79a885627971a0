package packet

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAppendArgs(t *testing.T) {
	type point struct {
		X    int    `json:"x"`
		Blob []byte `json:"blob"`
	}
	tests := []struct {
		name  string
		event string
		args  []any
		want  string
		atts  [][]byte
	}{
		{name: "event only", event: "ping", want: `["ping"]`},
		{name: "ack empty", want: `[]`},
		{name: "scalars", event: "message", args: []any{1, "2", map[string]any{"3": []any{true}}},
			want: `["message",1,"2",{"3":[true]}]`},
		{name: "ack scalars", args: []any{1, "2", map[string]any{"3": []any{false}}}, want: `[1,"2",{"3":[false]}]`},
		{name: "html not escaped", event: "<b>", args: []any{"a&b<c>", map[string]any{"<k>": "&"}}, want: `["<b>","a&b<c>",{"<k>":"&"}]`},
		{name: "nil and raw", args: []any{nil, json.RawMessage(`{"a" : 1}`), json.RawMessage(nil)}, want: `[null,{"a" : 1},null]`},
		{name: "integers", args: []any{int8(-8), int16(16), int32(-32), int64(1 << 53), uint(1), uint8(8), uint16(16), uint32(32), uint64(math.MaxUint64)},
			want: `[-8,16,-32,9007199254740992,1,8,16,32,18446744073709551615]`},
		{name: "floats", args: []any{1.5, 1e21, 1e-7, float32(0.1), 0.0, -2.0}, want: `[1.5,1e+21,1e-7,0.1,0,-2]`},
		{name: "struct field binary", args: []any{point{X: 1, Blob: []byte{1, 2}}}, want: `[{"x":1,"blob":{"_placeholder":true,"num":0}}]`, atts: [][]byte{{1, 2}}},
		{name: "time via json", args: []any{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, want: `["2024-01-02T03:04:05Z"]`},
		{name: "top-level binary", event: "bin", args: []any{[]byte{1, 2, 3}, "s", []byte{4}},
			want: `["bin",{"_placeholder":true,"num":0},"s",{"_placeholder":true,"num":1}]`, atts: [][]byte{{1, 2, 3}, {4}}},
		{name: "nested binary depth first", event: "bin-back", args: []any{
			[]byte{1},
			map[string]any{"z": []byte{3}, "a": []any{[]byte{2}, "q"}},
			[][]byte{{4}, {5}},
			map[string][]byte{"b": {7}, "a": {6}},
		},
			want: `["bin-back",{"_placeholder":true,"num":0},{"a":[{"_placeholder":true,"num":1},"q"],"z":{"_placeholder":true,"num":2}},` +
				`[{"_placeholder":true,"num":3},{"_placeholder":true,"num":4}],{"a":{"_placeholder":true,"num":5},"b":{"_placeholder":true,"num":6}}]`,
			atts: [][]byte{{1}, {2}, {3}, {4}, {5}, {6}, {7}}},
		{name: "empty and nil binary", args: []any{[]byte{}, []byte(nil)},
			want: `[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, atts: [][]byte{{}, nil}},
		{name: "nil containers", args: []any{[]any(nil), map[string]any(nil), [][]byte(nil), map[string][]byte(nil)}, want: `[null,null,null,null]`},
		{name: "map keys escaped", args: []any{map[string]any{"a\"b": 1, "\n": 2}}, want: `[{"\n":2,"a\"b":1}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, atts, err := AppendArgs([]byte("42"), tc.event, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != "42"+tc.want {
				t.Fatalf("AppendArgs = %s, want 42%s", out, tc.want)
			}
			if len(atts) != len(tc.atts) {
				t.Fatalf("attachments = %v, want %v", atts, tc.atts)
			}
			for i := range atts {
				if !bytes.Equal(atts[i], tc.atts[i]) {
					t.Fatalf("attachment %d = %v, want %v", i, atts[i], tc.atts[i])
				}
			}
			if !json.Valid(out[2:]) {
				t.Fatalf("output is not valid JSON: %s", out)
			}
			if err := ValidatePlaceholders(out[2:], len(atts)); err != nil {
				t.Fatalf("placeholders: %v", err)
			}
		})
	}
}

func TestAppendArgsAliasesAttachments(t *testing.T) {
	bin := []byte{1, 2}
	_, atts, err := AppendArgs(nil, "x", []any{bin})
	if err != nil {
		t.Fatal(err)
	}
	if &atts[0][0] != &bin[0] {
		t.Fatal("attachment was copied, documented as aliased")
	}
}

func TestAppendArgsErrors(t *testing.T) {
	cyc := []any{nil}
	cyc[0] = cyc
	cycMap := map[string]any{}
	cycMap["self"] = cycMap
	tests := []struct {
		name string
		args []any
	}{
		{name: "NaN", args: []any{math.NaN()}},
		{name: "Inf", args: []any{math.Inf(1)}},
		{name: "float32 Inf", args: []any{float32(math.Inf(-1))}},
		{name: "channel", args: []any{make(chan int)}},
		{name: "nested func", args: []any{map[string]any{"f": func() {}}}},
		{name: "cyclic slice", args: []any{cyc}},
		{name: "cyclic map", args: []any{cycMap}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, atts, err := AppendArgs([]byte("pre"), "x", tc.args)
			if err == nil {
				t.Fatalf("AppendArgs succeeded: %s", out)
			}
			if string(out) != "pre" || atts != nil {
				t.Fatalf("on error got out=%q atts=%v, want dst unextended", out, atts)
			}
		})
	}
}

// TestAppendArgsMatchesEncodingJSON: without binary, the output is exactly
// what encoding/json (HTML escaping off) produces for the same array.
func TestAppendArgsMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	many := map[string]any{}
	for i := 0; i < 40; i++ {
		many[randString(r)+strconv.Itoa(i)] = i
	}
	for i := 0; i < 2000; i++ {
		args := []any{randValue(r, 0)}
		if i == 0 {
			args = []any{many} // more keys than appendMap's stack buffer
		}
		got, atts, err := AppendArgs(nil, "", args)
		if err != nil {
			t.Fatal(err)
		}
		if len(atts) != 0 {
			t.Fatal("unexpected attachments")
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(args); err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(buf.String(), "\n"); string(got) != want {
			t.Fatalf("AppendArgs = %s\nencoding/json = %s", got, want)
		}
	}
}

func randValue(r *rand.Rand, depth int) any {
	n := r.IntN(10)
	if depth > 3 {
		n = r.IntN(6)
	}
	switch n {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.IntN(0x7ff))<<52) // finite
	case 3:
		return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(60)-30)))
	case 4:
		return r.Int64() >> r.IntN(64)
	case 5:
		return randString(r)
	case 6, 7:
		s := make([]any, r.IntN(4))
		for i := range s {
			s[i] = randValue(r, depth+1)
		}
		return s
	default:
		m := map[string]any{}
		for i := r.IntN(4); i > 0; i-- {
			m[randString(r)] = randValue(r, depth+1)
		}
		return m
	}
}

func randString(r *rand.Rand) string {
	const alphabet = "a\"\\<>&\x00\n\x1f\xff\xe2\x80\xa8\xa9é/"
	b := make([]byte, r.IntN(8))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "example", in: `["chat",{"a":1},2]`, want: []string{`"chat"`, `{"a":1}`, `2`}},
		{name: "empty", in: `[]`, want: nil},
		{name: "empty spaced", in: " [ \n ] ", want: nil},
		{name: "whitespace", in: " [ \"a\" ,\t{ \"b\" : [ 1 , 2 ] } ,\r\n null ] ", want: []string{`"a"`, `{ "b" : [ 1 , 2 ] }`, `null`}},
		{name: "brackets in strings", in: `["a]","[b",",",{"k]":"}"},"\"],["]`, want: []string{`"a]"`, `"[b"`, `","`, `{"k]":"}"}`, `"\"],["`}},
		{name: "escapes", in: `["\\",  "\\\"", "\u005d"]`, want: []string{`"\\"`, `"\\\""`, `"\u005d"`}},
		{name: "nested arrays", in: `[[1,[2]],[]]`, want: []string{`[1,[2]]`, `[]`}},
		{name: "numbers", in: `[-1.5e+3,0,true,false]`, want: []string{`-1.5e+3`, `0`, `true`, `false`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitArgs([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("SplitArgs(%s) = %q, want %q", tc.in, got, tc.want)
			}
			for i := range got {
				if string(got[i]) != tc.want[i] {
					t.Fatalf("SplitArgs(%s)[%d] = %s, want %s", tc.in, i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestSplitArgsInvalid(t *testing.T) {
	for _, in := range []string{``, ` `, `{}`, `"x"`, `[`, `[1`, `[1,`, `[1,]`, `[,1]`, `[1 2]`, `[1]]`, `[1] x`, `["a]`, `[01]`,
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)} {
		prev := [][]byte{[]byte("keep")}
		got, err := AppendSplitArgs(prev, []byte(in))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("AppendSplitArgs(%q) error = %v, want invalid", in, err)
		}
		if len(got) != 1 {
			t.Errorf("AppendSplitArgs(%q) extended dst on error: %q", in, got)
		}
	}
}

// TestSplitArgsMatchesUnmarshal: the elements are exactly what
// json.Unmarshal into []json.RawMessage yields (modulo whitespace).
func TestSplitArgsMatchesUnmarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		arr, _, err := AppendArgs(nil, "", []any{randValue(r, 0), randValue(r, 0), randValue(r, 0)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := SplitArgs(arr)
		if err != nil {
			t.Fatalf("SplitArgs(%s): %v", arr, err)
		}
		var want []json.RawMessage
		if err := json.Unmarshal(arr, &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("SplitArgs(%s) = %d elements, want %d", arr, len(got), len(want))
		}
		for j := range got {
			if !bytes.Equal(got[j], want[j]) {
				t.Fatalf("element %d = %s, want %s", j, got[j], want[j])
			}
		}
	}
}

// TestAppendArgsPacket checks the packet written in place against the one
// AppendArgs and AppendEncode give in two steps, with and without
// attachments, after a prefix that must be kept.
func TestAppendArgsPacket(t *testing.T) {
	cases := []struct {
		p    Packet
		name string
		args []any
	}{
		{Packet{Type: Event, ID: NoID}, "chat", []any{"hi", 1}},
		{Packet{Type: Event, Namespace: "/admin", ID: 12}, "q", []any{map[string]any{"a": []byte{1}}}},
		{Packet{Type: Ack, Namespace: "/", ID: 7}, "", []any{[]byte{1, 2}, "x", []byte{3}}},
		{Packet{Type: Ack, ID: 0}, "", nil},
		{Packet{Type: Event, ID: NoID}, "many", func() []any {
			a := make([]any, 12)
			for i := range a {
				a[i] = []byte{byte(i)}
			}
			return a
		}()},
	}
	for _, c := range cases {
		body, wantAtts, err := AppendArgs(nil, c.name, c.args)
		if err != nil {
			t.Fatal(err)
		}
		want := c.p
		want.Data = body
		if len(wantAtts) > 0 {
			want.Type = map[Type]Type{Event: BinaryEvent, Ack: BinaryAck}[c.p.Type]
			want.Attachments = len(wantAtts)
		}
		got, atts, err := AppendArgsPacket([]byte("pre"), &c.p, c.name, c.args)
		if err != nil {
			t.Fatal(err)
		}
		if w := append([]byte("pre"), AppendEncode(nil, &want)...); !bytes.Equal(got, w) {
			t.Errorf("got %q, want %q", got, w)
		}
		if len(atts) != len(wantAtts) {
			t.Errorf("%d attachments, want %d", len(atts), len(wantAtts))
		}
	}
	if got, atts, err := AppendArgsPacket([]byte("pre"), &Packet{Type: Event}, "bad", []any{make(chan int)}); err == nil || string(got) != "pre" || atts != nil {
		t.Errorf("unencodable: %q, %v, %v", got, atts, err)
	}
}
