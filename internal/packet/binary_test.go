package packet

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestIsPlaceholder(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		num  int
		ok   bool
	}{
		{name: "canonical", raw: `{"_placeholder":true,"num":0}`, num: 0, ok: true},
		{name: "key order", raw: `{"num":3,"_placeholder":true}`, num: 3, ok: true},
		{name: "whitespace", raw: " { \"_placeholder\" : true ,\n\"num\" : 12 } ", num: 12, ok: true},
		{name: "escaped keys", raw: `{"\u005fplaceholder":true,"n\u0075m":1}`, num: 1, ok: true},
		{name: "extra member", raw: `{"_placeholder":true,"num":2,"x":[1]}`, num: 2, ok: true},
		{name: "integral float", raw: `{"_placeholder":true,"num":1.0}`, num: 1, ok: true},
		{name: "exponent", raw: `{"_placeholder":true,"num":2e0}`, num: 2, ok: true},
		{name: "negative zero", raw: `{"_placeholder":true,"num":-0}`, num: 0, ok: true},
		{name: "duplicate last wins true", raw: `{"_placeholder":false,"_placeholder":true,"num":0}`, num: 0, ok: true},
		{name: "duplicate last wins false", raw: `{"_placeholder":true,"_placeholder":false,"num":0}`, ok: false},
		{name: "duplicate num last wins", raw: `{"_placeholder":true,"num":"x","num":4}`, num: 4, ok: true},
		{name: "placeholder false", raw: `{"_placeholder":false,"num":0}`, ok: false},
		{name: "placeholder string true", raw: `{"_placeholder":"true","num":0}`, ok: false},
		{name: "placeholder 1", raw: `{"_placeholder":1,"num":0}`, ok: false},
		{name: "missing num", raw: `{"_placeholder":true}`, ok: false},
		{name: "num string", raw: `{"_placeholder":true,"num":"0"}`, ok: false},
		{name: "num splice", raw: `{"_placeholder":true,"num":"splice"}`, ok: false},
		{name: "num proto", raw: `{"_placeholder":true,"num":"__proto__"}`, ok: false},
		{name: "num fraction", raw: `{"_placeholder":true,"num":0.5}`, ok: false},
		{name: "num negative", raw: `{"_placeholder":true,"num":-1}`, ok: false},
		{name: "num huge", raw: `{"_placeholder":true,"num":1e300}`, ok: false},
		{name: "num overflow", raw: `{"_placeholder":true,"num":1e999}`, ok: false},
		{name: "num null", raw: `{"_placeholder":true,"num":null}`, ok: false},
		{name: "num object", raw: `{"_placeholder":true,"num":{}}`, ok: false},
		{name: "nested only", raw: `{"x":{"_placeholder":true,"num":0}}`, ok: false},
		{name: "array", raw: `[{"_placeholder":true,"num":0}]`, ok: false},
		{name: "invalid json", raw: `{"_placeholder":true,"num":0`, ok: false},
		{name: "trailing", raw: `{"_placeholder":true,"num":0} 1`, ok: false},
		{name: "empty", raw: ``, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			num, ok := IsPlaceholder([]byte(tc.raw))
			if ok != tc.ok || (ok && num != tc.num) {
				t.Fatalf("IsPlaceholder(%s) = %d, %v; want %d, %v", tc.raw, num, ok, tc.num, tc.ok)
			}
		})
	}
}

func TestValidatePlaceholders(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		n    int
		want error
	}{
		{name: "none", raw: `["x",1]`, n: 1, want: nil},
		{name: "two in order", raw: `["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, n: 2, want: nil},
		{name: "nested", raw: `["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},"Q8Jq4Ln"]`, n: 2, want: nil},
		{name: "deep in arrays", raw: `[[[[{"a":[{"_placeholder":true,"num":0}]}]]]]`, n: 1, want: nil},
		{name: "reused num", raw: `[{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]`, n: 1, want: nil},
		{name: "unreferenced attachment", raw: `["x",{"_placeholder":true,"num":0}]`, n: 3, want: nil},
		{name: "out of range", raw: `["x",{"_placeholder":true,"num":1}]`, n: 1, want: ErrPlaceholder},
		{name: "nested out of range", raw: `["x",{"a":{"b":[{"_placeholder":true,"num":5}]}}]`, n: 2, want: ErrPlaceholder},
		{name: "splice", raw: `["x",{"_placeholder":true,"num":"splice"}]`, n: 1, want: ErrPlaceholder},
		{name: "proto", raw: `["x",{"_placeholder":true,"num":"__proto__"}]`, n: 1, want: ErrPlaceholder},
		{name: "float", raw: `["x",{"_placeholder":true,"num":0.5}]`, n: 1, want: ErrPlaceholder},
		{name: "negative", raw: `["x",{"_placeholder":true,"num":-1}]`, n: 1, want: ErrPlaceholder},
		{name: "missing num", raw: `["x",{"_placeholder":true}]`, n: 1, want: ErrPlaceholder},
		// The reference replaces a placeholder whole: what is inside it does
		// not matter, even a bad placeholder.
		{name: "bad inside good", raw: `["x",{"_placeholder":true,"num":0,"y":{"_placeholder":true,"num":9}}]`, n: 1, want: nil},
		{name: "good inside bad", raw: `["x",{"_placeholder":true,"num":9,"y":{"_placeholder":true,"num":0}}]`, n: 1, want: ErrPlaceholder},
		{name: "not a placeholder", raw: `["x",{"_placeholder":false,"num":9}]`, n: 1, want: nil},
		{name: "invalid json", raw: `["x",{"_placeholder":true,"num":0}`, n: 1, want: ErrJSON},
		{name: "too deep", raw: `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, n: 1, want: ErrDepth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePlaceholders([]byte(tc.raw), tc.n)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("ValidatePlaceholders(%s, %d) = %v, want %v", tc.raw, tc.n, err, tc.want)
			}
		})
	}
}

func b64(b []byte) string { return `"` + base64.StdEncoding.EncodeToString(b) + `"` }

func TestSubstituteBase64(t *testing.T) {
	atts := [][]byte{{1, 2, 3}, {4}, {}}
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{name: "none", raw: `["x",1]`, want: `["x",1]`},
		{name: "captured", raw: `["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},"Q8Jq4Ln"]`,
			want: `["bin-back",` + b64(atts[0]) + `,{"x":` + b64(atts[1]) + `},"Q8Jq4Ln"]`},
		{name: "empty attachment", raw: `[{"_placeholder":true,"num":2}]`, want: `[""]`},
		{name: "whitespace kept", raw: `[ 1 , { "_placeholder" : true , "num" : 1 } ]`, want: `[ 1 , ` + b64(atts[1]) + ` ]`},
		{name: "reused", raw: `[{"_placeholder":true,"num":1},{"_placeholder":true,"num":1}]`, want: `[` + b64(atts[1]) + `,` + b64(atts[1]) + `]`},
		{name: "nested inside placeholder ignored", raw: `[{"_placeholder":true,"num":0,"y":{"_placeholder":true,"num":1}}]`, want: `[` + b64(atts[0]) + `]`},
		{name: "out of range left", raw: `[{"_placeholder":true,"num":7},{"_placeholder":true,"num":0}]`, want: `[{"_placeholder":true,"num":7},` + b64(atts[0]) + `]`},
		{name: "invalid json unchanged", raw: `[{"_placeholder":true,"num":0}`, want: `[{"_placeholder":true,"num":0}`},
		{name: "top level", raw: `{"_placeholder":true,"num":0}`, want: b64(atts[0])},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SubstituteBase64([]byte(tc.raw), atts); string(got) != tc.want {
				t.Fatalf("SubstituteBase64(%s) = %s, want %s", tc.raw, got, tc.want)
			}
			if got := AppendSubstituteBase64([]byte("pre"), []byte(tc.raw), atts); string(got) != "pre"+tc.want {
				t.Fatalf("AppendSubstituteBase64(%s) = %s, want pre%s", tc.raw, got, tc.want)
			}
		})
	}
}

// TestSubstituteBase64Unmarshal checks the purpose: a struct with []byte
// fields receives the attachment bytes.
func TestSubstituteBase64Unmarshal(t *testing.T) {
	type file struct {
		Name string `json:"name"`
		Body []byte `json:"body"`
	}
	atts := [][]byte{[]byte("hello"), {0, 255}}
	raw := []byte(`[{"name":"a","body":{"_placeholder":true,"num":0}},{"num":1,"_placeholder":true}]`)
	var got struct {
		F file
		B []byte
	}
	args, err := SplitArgs(SubstituteBase64(raw, atts))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(args[0], &got.F); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(args[1], &got.B); err != nil {
		t.Fatal(err)
	}
	if got.F.Name != "a" || string(got.F.Body) != "hello" || !reflect.DeepEqual(got.B, []byte{0, 255}) {
		t.Fatalf("decoded %+v", got)
	}
}

func TestSubstituteBase64NoCopy(t *testing.T) {
	raw := []byte(`["x",{"a":1}]`)
	if got := SubstituteBase64(raw, [][]byte{{1}}); &got[0] != &raw[0] {
		t.Fatal("SubstituteBase64 copied input without placeholders")
	}
}

func TestResolve(t *testing.T) {
	atts := [][]byte{{1, 2, 3}, {4}}
	raw := `["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},` +
		`{"_placeholder":true,"num":5},{"_placeholder":false,"num":0},[{"_placeholder":true,"num":1.0}],"Q8Jq4Ln"]`
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	got := Resolve(v, atts)
	want := []any{
		"bin-back",
		[]byte{1, 2, 3},
		map[string]any{"x": []byte{4}},
		map[string]any{"_placeholder": true, "num": float64(5)},
		map[string]any{"_placeholder": false, "num": float64(0)},
		[]any{[]byte{4}},
		"Q8Jq4Ln",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Resolve = %#v\nwant %#v", got, want)
	}

	// json.Number and a top-level placeholder.
	top := map[string]any{"_placeholder": true, "num": json.Number("1")}
	if got := Resolve(top, atts); !reflect.DeepEqual(got, []byte{4}) {
		t.Fatalf("Resolve(top) = %#v", got)
	}
	// A cyclic value stops at the depth cap instead of overflowing the stack.
	cyc := []any{nil}
	cyc[0] = cyc
	Resolve(cyc, atts)
}

// resolvedAsBase64 replaces every []byte in v (from Resolve) by its base64
// string, which is what unmarshalling SubstituteBase64's output gives.
func resolvedAsBase64(v any) any {
	switch x := v.(type) {
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case map[string]any:
		for k, e := range x {
			x[k] = resolvedAsBase64(e)
		}
	case []any:
		for i, e := range x {
			x[i] = resolvedAsBase64(e)
		}
	}
	return v
}

// checkSubstituteResolveAgree is the differential property between the byte
// level and the value level placeholder logic.
func checkSubstituteResolveAgree(t testing.TB, raw []byte, atts [][]byte) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return
	}
	sub := SubstituteBase64(raw, atts)
	var fromSub any
	if err := json.Unmarshal(sub, &fromSub); err != nil {
		t.Fatalf("SubstituteBase64(%q) = %q: invalid JSON: %v", raw, sub, err)
	}
	fromResolve := resolvedAsBase64(Resolve(v, atts))
	if !reflect.DeepEqual(fromSub, fromResolve) {
		t.Fatalf("for %q:\nSubstituteBase64 gives %#v\nResolve gives %#v", raw, fromSub, fromResolve)
	}
}

func TestSubstituteResolveAgree(t *testing.T) {
	atts := [][]byte{{1}, {2, 2}}
	for _, raw := range []string{
		`["x",{"_placeholder":true,"num":0},{"a":[{"_placeholder":true,"num":1}]}]`,
		`[{"_placeholder":true,"num":1.0},{"_placeholder":true,"num":-0},{"_placeholder":true,"num":2}]`,
		`[{"_placeholder":true,"_placeholder":false,"num":0},{"\u005fplaceholder":true,"num":0}]`,
		`[{"_placeholder":true,"num":0,"k":{"_placeholder":true,"num":1}}]`,
		`[{"_placeholder":true,"num":"0"},{"_placeholder":true}]`,
	} {
		checkSubstituteResolveAgree(t, []byte(raw), atts)
	}
}
