package packet

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonSamples mixes valid and invalid JSON; the scanner must agree with
// encoding/json on each (all are shallower than MaxDepth).
var jsonSamples = []string{
	`0`, `-0`, `1`, `-1`, `12.5`, `1e5`, `1E+5`, `1e-5`, `-0.0e0`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x1`, `Infinity`, `NaN`,
	`true`, `false`, `null`, `tru`, `nul`, `True`, `truee`,
	`""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u00e9"`, `"\uD83D\uDE00"`, `"\uZZZZ"`, `"\u12"`, `"\a"`, `"a`, "\"\x1f\"", "\"\x7f\"", "\"\xff\"",
	`[]`, `[ ]`, `[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, `[[[]]]`, `[[]`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":{"b":[1,{"c":null}]}}`, `{1:2}`,
	` [1] `, "\t\n\r[1]\n", `[1] x`, `[1][2]`, ``, ` `, `"\u0000"`, "[\"a\x00\"]",
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSamples {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", s, got, want)
		}
	}
}

func TestValidDepth(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		ok    bool
	}{
		{name: "depth 1", depth: 1, ok: true},
		{name: "depth MaxDepth", depth: MaxDepth, ok: true},
		{name: "depth MaxDepth+1", depth: MaxDepth + 1, ok: false},
		{name: "depth 5000", depth: 5000, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arr := strings.Repeat("[", tc.depth) + strings.Repeat("]", tc.depth)
			obj := strings.Repeat(`{"k":`, tc.depth-1) + `{}` + strings.Repeat("}", tc.depth-1)
			for _, s := range []string{arr, obj} {
				if got := Valid([]byte(s)); got != tc.ok {
					t.Fatalf("Valid(depth %d) = %v, want %v", tc.depth, got, tc.ok)
				}
			}
		})
	}
}

var stringSamples = []string{
	"", "plain", `quo"te`, `back\slash`, "ctl\x00\x01\x1f\x7f", "\b\f\n\r\t", "<html>&amp;", "é", "日本語", "😀",
	"\u2028\u2029", "bad\xffutf8", "\xed\xa0\x80", "trunc\xe6\x97", "/slash", "\ufffd",
}

// encodingJSONString is encoding/json's encoding of s with HTML escaping off.
func encodingJSONString(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestAppendQuoteMatchesEncodingJSON(t *testing.T) {
	for _, s := range stringSamples {
		if got, want := string(AppendQuote(nil, s)), encodingJSONString(t, s); got != want {
			t.Errorf("AppendQuote(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendUnquote(t *testing.T) {
	raws := []string{
		`""`, `"abc"`, `"a\"b"`, `"\\\/\b\f\n\r\t"`, `"\u00e9\u65e5"`, `"\uD83D\uDE00"`, `"\uD83D"`, `"\uD83Dx"`,
		`"\uDE00\uD83D"`, `"\uD83D\u0041"`, `"\uD83D\uD83D\uDE00"`, "\"bad\xff\"", "\"\xed\xa0\x80\"", ` "spaced" `,
	}
	for _, r := range raws {
		var want string
		if err := json.Unmarshal([]byte(r), &want); err != nil {
			t.Fatalf("json.Unmarshal(%q): %v", r, err)
		}
		got, err := AppendUnquote([]byte("pre"), []byte(r))
		if err != nil {
			t.Fatalf("AppendUnquote(%q): %v", r, err)
		}
		if string(got) != "pre"+want {
			t.Errorf("AppendUnquote(%q) = %q, want %q", r, got, "pre"+want)
		}
	}
	for _, bad := range []string{``, `abc`, `"abc`, `"a" "b"`, `1`, `"\x"`, `["a"]`} {
		if got, err := AppendUnquote([]byte("pre"), []byte(bad)); err == nil || string(got) != "pre" {
			t.Errorf("AppendUnquote(%q) = %q, %v; want error and dst unchanged", bad, got, err)
		}
	}
}

func TestQuoteUnquoteRoundTrip(t *testing.T) {
	for _, s := range stringSamples {
		q := AppendQuote(nil, s)
		got, err := AppendUnquote(nil, q)
		if err != nil {
			t.Fatalf("AppendUnquote(AppendQuote(%q)): %v", s, err)
		}
		// Each invalid byte becomes one U+FFFD, as with encoding/json.
		var want string
		if err := json.Unmarshal(q, &want); err != nil {
			t.Fatal(err)
		}
		if string(got) != want || !utf8.ValidString(want) {
			t.Errorf("round trip of %q = %q, want %q", s, got, want)
		}
	}
}

func TestJSONStringIs(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		s    string
		want bool
	}{
		{name: "plain equal", raw: `"num"`, s: "num", want: true},
		{name: "plain different", raw: `"nums"`, s: "num", want: false},
		{name: "escaped equal", raw: `"n\u0075m"`, s: "num", want: true},
		{name: "escaped upper hex", raw: `"\u005Fplaceholder"`, s: "_placeholder", want: true},
		{name: "escaped different", raw: `"n\u0076m"`, s: "num", want: false},
		{name: "escaped too long", raw: `"num\n"`, s: "num", want: false},
		{name: "non-ascii", raw: `"\u00e9"`, s: "é", want: true},
		{name: "empty", raw: `""`, s: "", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsonStringIs([]byte(tc.raw), tc.s); got != tc.want {
				t.Fatalf("jsonStringIs(%s, %q) = %v, want %v", tc.raw, tc.s, got, tc.want)
			}
		})
	}
}
