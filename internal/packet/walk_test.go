package packet

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Types for the struct walk. Names start with wt (walk test).
type (
	wtBlob       []byte
	wtText       []byte // encoding.TextMarshaler: a string, not an attachment
	wtPtrMarshal []byte // json.Marshaler on the pointer only
	wtStamp      struct{ S int }
	wtKey        struct{ K string }
)

func (t wtText) MarshalText() ([]byte, error)        { return []byte("text:" + string(t)), nil }
func (p *wtPtrMarshal) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }
func (s wtStamp) MarshalJSON() ([]byte, error) {
	return []byte(`{"stamp" : ` + strconv.Itoa(s.S) + `}`), nil
}
func (k wtKey) MarshalText() ([]byte, error)         { return []byte("k-" + k.K), nil }
func (s wtStampHolder) MarshalJSON() ([]byte, error) { return []byte(`"holder"`), nil }
func (z wtZeroer) IsZero() bool                      { return z.Bin == nil || len(z.Bin) == 0 }
func (z *wtPtrZeroer) IsZero() bool                  { return len(z.Bin) < 2 }
func (c wtColor) MarshalText() (text []byte, _ error) {
	return []byte("color" + strconv.Itoa(int(c))), nil
}

type wtStampHolder struct{ Bin []byte } // a Marshaler: never looked into

type wtZeroer struct{ Bin []byte }
type wtPtrZeroer struct{ Bin []byte }
type wtColor int

type wtInner struct {
	Name string `json:"name"`
	Data []byte `json:"data,omitempty"`
	N    *int   `json:"n,omitempty"`
}

type WtEmbedded struct {
	E1   string
	Blob []byte `json:"eblob"`
	Dup  int    // hidden by wtOuter.Dup
}

type wtunexported struct {
	Promoted []byte
	private  []byte
}

type WtDeep struct{ Deep []byte }

// wtPtrEmbed embeds a pointer to an unexported struct: encoding/json
// promotes its exported fields, skipping them when the pointer is nil.
type wtPtrEmbed struct {
	*wtunexported
	X int
}

type WtMid struct {
	*WtDeep
	Mid []byte `json:"mid,omitempty"`
}

type wtOuter struct {
	WtEmbedded
	wtunexported
	WtMid
	Dup     string
	ID      int                `json:"id,string"`
	Skip    []byte             `json:"-"`
	Dash    []byte             `json:"-,"`
	hidden  []byte             //nolint:unused // skipped as encoding/json skips it
	Inner   wtInner            `json:"inner"`
	PInner  *wtInner           `json:"pinner"`
	List    []wtInner          `json:"list"`
	ByKey   map[string]wtInner `json:"by_key"`
	IntKey  map[int][]byte     `json:"int_key,omitempty"`
	TextKey map[wtKey][]byte   `json:"text_key,omitempty"`
	Arr     [2][]byte          `json:"arr"`
	Fixed   [3]byte            `json:"fixed"`
	Raw     json.RawMessage    `json:"raw"`
	Any     any                `json:"any"`
	When    time.Time          `json:"when"`
	Named   wtBlob             `json:"named"`
	Text    wtText             `json:"text"`
	PtrM    wtPtrMarshal       `json:"ptrm"`
	Stamp   wtStamp            `json:"stamp"`
	Holder  wtStampHolder      `json:"holder"`
	Zero    []byte             `json:",omitzero"`
	ZeroS   wtZeroer           `json:"zs,omitzero"`
	ZeroP   wtPtrZeroer        `json:"zp,omitzero"`
	Str     string             `json:"str,string"`
	PF      *float64           `json:"pf,string"`
	Num     json.Number        `json:"num,string"`
	Color   wtColor            `json:"color"`
	PBytes  *[]byte            `json:"pbytes"`
	Nested  [][]byte           `json:"nested"`
	Chan    chan int           `json:"-"`
}

// jsonNoHTML is encoding/json with HTML escaping off, as AppendArgs uses it.
func jsonNoHTML(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// checkAgainstJSON encodes v as the only argument and checks that putting
// every attachment back as base64 gives encoding/json's output exactly. It
// returns the JSON and attachments.
func checkAgainstJSON(t testing.TB, v any) (string, [][]byte) {
	t.Helper()
	out, atts, err := AppendArgs(nil, "", []any{v})
	if err != nil {
		t.Fatalf("AppendArgs(%#v): %v", v, err)
	}
	if err := ValidatePlaceholders(out, len(atts)); err != nil {
		t.Fatalf("placeholders in %s: %v", out, err)
	}
	got := string(out)
	if len(atts) > 0 {
		got = string(SubstituteBase64(out, atts))
	}
	if want := jsonNoHTML(t, []any{v}); got != want {
		t.Fatalf("AppendArgs with base64 put back:\n%s\nencoding/json:\n%s", got, want)
	}
	return string(out), atts
}

func ph(n int) string { return `{"_placeholder":true,"num":` + strconv.Itoa(n) + `}` }

func fullOuter() wtOuter {
	one, f := 1, 2.5
	pb := []byte("pb")
	return wtOuter{
		WtEmbedded:   WtEmbedded{E1: "e", Blob: []byte("emb"), Dup: 9},
		wtunexported: wtunexported{Promoted: []byte("pro"), private: []byte("x")},
		WtMid:        WtMid{WtDeep: &WtDeep{Deep: []byte("deep")}},
		Dup:          "outer",
		ID:           42,
		Skip:         []byte("skip"),
		Dash:         []byte("dash"),
		hidden:       []byte("hidden"),
		Inner:        wtInner{Name: "in", Data: []byte{1, 2, 3}, N: &one},
		PInner:       &wtInner{Name: "p", Data: []byte{}},
		List:         []wtInner{{Name: "l0", Data: []byte{0}}, {Name: "l1"}},
		ByKey:        map[string]wtInner{"b": {Name: "b", Data: []byte("B")}, "a": {Name: "a", Data: []byte("A")}},
		IntKey:       map[int][]byte{10: []byte("ten"), 9: []byte("nine")},
		TextKey:      map[wtKey][]byte{{K: "z"}: []byte("z")},
		Arr:          [2][]byte{[]byte("a0"), nil},
		Fixed:        [3]byte{7, 8, 9},
		Raw:          json.RawMessage(`{"raw" : [1, 2]}`),
		Any:          []any{[]byte("any"), map[string]any{"k": []byte(nil)}, json.RawMessage(` 5 `)},
		When:         time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Named:        wtBlob("named"),
		Text:         wtText("t"),
		PtrM:         wtPtrMarshal("pm"),
		Stamp:        wtStamp{S: 3},
		Holder:       wtStampHolder{Bin: []byte("h")},
		Zero:         []byte{},
		ZeroS:        wtZeroer{Bin: []byte("zs")},
		ZeroP:        wtPtrZeroer{Bin: []byte("z")},
		Str:          `q"<`,
		PF:           &f,
		Num:          "12.5",
		Color:        4,
		PBytes:       &pb,
		Nested:       [][]byte{[]byte("n0"), nil, {}},
	}
}

// TestAppendArgsStructAttachments pins the placeholders a struct with []byte
// at every kind of place produces, in order.
func TestAppendArgsStructAttachments(t *testing.T) {
	v := fullOuter()
	out, atts := checkAgainstJSON(t, v)
	want := `[{"E1":"e","eblob":` + ph(0) + `,"Promoted":` + ph(1) + `,"Deep":` + ph(2) +
		`,"Dup":"outer","id":"42","-":` + ph(3) +
		`,"inner":{"name":"in","data":` + ph(4) + `,"n":1}` +
		`,"pinner":{"name":"p"}` + // empty []byte with omitempty is omitted
		`,"list":[{"name":"l0","data":` + ph(5) + `},{"name":"l1"}]` +
		`,"by_key":{"a":{"name":"a","data":` + ph(6) + `},"b":{"name":"b","data":` + ph(7) + `}}` +
		`,"int_key":{"10":` + ph(8) + `,"9":` + ph(9) + `}` +
		`,"text_key":{"k-z":` + ph(10) + `}` +
		`,"arr":[` + ph(11) + `,null],"fixed":[7,8,9],"raw":{"raw":[1,2]}` +
		`,"any":[` + ph(12) + `,{"k":null},5]` +
		`,"when":"2024-01-02T03:04:05Z","named":` + ph(13) + `,"text":"text:t","ptrm":` + ph(14) +
		`,"stamp":{"stamp":3},"holder":"holder","Zero":` + ph(15) + `,"zs":{"Bin":` + ph(16) + `}` +
		`,"str":"\"q\\\"<\"","pf":"2.5","num":"12.5","color":"color4","pbytes":` + ph(17) +
		`,"nested":[` + ph(18) + `,null,` + ph(19) + `]}]`
	if out != want {
		t.Fatalf("AppendArgs =\n%s\nwant\n%s", out, want)
	}
	wantAtts := []string{"emb", "pro", "deep", "dash", "\x01\x02\x03", "\x00", "A", "B", "ten", "nine", "z", "a0", "any", "named", "pm", "", "zs", "pb", "n0", ""}
	if len(atts) != len(wantAtts) {
		t.Fatalf("%d attachments, want %d", len(atts), len(wantAtts))
	}
	for i, a := range atts {
		if string(a) != wantAtts[i] {
			t.Errorf("attachment %d = %q, want %q", i, a, wantAtts[i])
		}
	}
	if &atts[0][0] != &v.Blob[0] {
		t.Error("attachment was copied, documented as aliased")
	}

	// Through a pointer the value is addressable: wtPtrMarshal's pointer
	// method is used, as encoding/json uses it.
	pout, patts := checkAgainstJSON(t, &v)
	if !strings.Contains(pout, `"ptrm":"ptr"`) || len(patts) != len(atts)-1 {
		t.Fatalf("through a pointer: %s (%d attachments)", pout, len(patts))
	}
}

func TestAppendArgsStructCases(t *testing.T) {
	type withRaw struct {
		Raw json.RawMessage `json:"raw"`
		B   []byte          `json:"b"`
	}
	type omit struct {
		A []byte `json:"a,omitempty"`
		B []byte `json:"b,omitempty"`
		C []byte `json:"c"`
		D []byte `json:"d"`
	}
	type named struct {
		B wtBlob
		P *wtBlob
	}
	blob := wtBlob{5}
	tests := []struct {
		name string
		args []any
		want string
		atts []string
	}{
		{name: "omitempty and nil", args: []any{omit{A: []byte{}, B: []byte{1}}},
			want: `[{"b":` + ph(0) + `,"c":null,"d":null}]`, atts: []string{"\x01"}},
		{name: "raw message stays raw", args: []any{withRaw{Raw: json.RawMessage(`[1,{"x":2}]`), B: []byte("b")}},
			want: `[{"raw":[1,{"x":2}],"b":` + ph(0) + `}]`, atts: []string{"b"}},
		{name: "raw message only", args: []any{withRaw{Raw: json.RawMessage(`"AQI="`)}},
			want: `[{"raw":"AQI=","b":null}]`},
		{name: "top-level named", args: []any{wtBlob("x"), &blob, named{B: wtBlob("y"), P: &blob}},
			want: `[` + ph(0) + `,` + ph(1) + `,{"B":` + ph(2) + `,"P":` + ph(3) + `}]`, atts: []string{"x", "\x05", "y", "\x05"}},
		{name: "nil pointers", args: []any{(*wtInner)(nil), (*[]byte)(nil), &wtOuter{}},
			want: ""},
		{name: "slice of structs in map", args: []any{map[string][]wtInner{"k": {{Data: []byte("d")}}}},
			want: `[{"k":[{"name":"","data":` + ph(0) + `}]}]`, atts: []string{"d"}},
		{name: "typed slice of byte slices", args: []any{[]wtBlob{nil, {}, {1}}},
			want: `[[null,` + ph(0) + `,` + ph(1) + `]]`, atts: []string{"", "\x01"}},
		{name: "text marshaler byte slice", args: []any{[]wtText{wtText("a")}}, want: `[["text:a"]]`},
		{name: "marshaler struct holding bytes", args: []any{wtStampHolder{Bin: []byte{1}}}, want: `["holder"]`},
		{name: "byte array", args: []any{[2]byte{1, 2}, struct{ A [2]byte }{}}, want: `[[1,2],{"A":[0,0]}]`},
		{name: "embedded pointer to unexported", args: []any{wtPtrEmbed{X: 1}, wtPtrEmbed{wtunexported: &wtunexported{Promoted: []byte("p")}}},
			want: `[{"X":1},{"Promoted":` + ph(0) + `,"X":0}]`, atts: []string{"p"}},
		{name: "any field", args: []any{struct{ A, B any }{A: []byte("a"), B: json.RawMessage(` [ 1 ] `)}},
			want: `[{"A":` + ph(0) + `,"B":[1]}]`, atts: []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, a := range tc.args {
				checkAgainstJSON(t, a)
			}
			out, atts, err := AppendArgs(nil, "", tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && string(out) != tc.want {
				t.Fatalf("AppendArgs = %s, want %s", out, tc.want)
			}
			if tc.want != "" && len(atts) != len(tc.atts) {
				t.Fatalf("attachments %q, want %q", atts, tc.atts)
			}
			for i := range tc.atts {
				if string(atts[i]) != tc.atts[i] {
					t.Fatalf("attachment %d = %q, want %q", i, atts[i], tc.atts[i])
				}
			}
		})
	}
}

// TestAppendArgsStructManyAttachments: DefaultMaxAttachments attachments in
// one struct decode; one more is refused by Decode, as for any packet.
func TestAppendArgsStructManyAttachments(t *testing.T) {
	type file struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	type upload struct {
		Files []file `json:"files"`
	}
	for _, n := range []int{DefaultMaxAttachments, DefaultMaxAttachments + 1} {
		u := upload{}
		for i := range n {
			u.Files = append(u.Files, file{Name: strconv.Itoa(i), Data: []byte{byte(i)}})
		}
		body, atts, err := AppendArgs(nil, "up", []any{u})
		if err != nil {
			t.Fatal(err)
		}
		if len(atts) != n {
			t.Fatalf("%d attachments, want %d", len(atts), n)
		}
		enc := AppendEncode(nil, &Packet{Type: BinaryEvent, Namespace: "/", ID: NoID, Attachments: len(atts), Data: body})
		p, err := Decode(enc, 0)
		if n > DefaultMaxAttachments {
			if err == nil {
				t.Fatalf("Decode accepted %d attachments", n)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		args, err := SplitArgs(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		var back upload
		if err := DecodeArg(args[1], atts, &back); err != nil {
			t.Fatal(err)
		}
		for i, f := range back.Files {
			if f.Name != strconv.Itoa(i) || !bytes.Equal(f.Data, []byte{byte(i)}) {
				t.Fatalf("file %d decoded as %+v", i, f)
			}
		}
	}
}

func TestAppendArgsStructErrors(t *testing.T) {
	type node struct {
		Next *node
		B    []byte
	}
	cyc := &node{B: []byte{1}}
	cyc.Next = cyc
	type bad struct {
		B []byte
		C chan int
	}
	type badFloat struct {
		B []byte
		F float64
	}
	type badRaw struct {
		B   []byte
		Raw json.RawMessage
	}
	for name, v := range map[string]any{
		"cycle":        cyc,
		"chan field":   bad{},
		"NaN field":    badFloat{F: 0 / func() float64 { return 0 }()},
		"invalid raw":  badRaw{Raw: json.RawMessage(`{`)},
		"any NaN":      struct{ A any }{A: []any{[]byte{}, float32(1) / float32(func() float32 { return 0 }())}},
		"bad map key":  map[[1]int][]byte{{1}: nil},
		"channel elem": []any{[]byte{}, struct{ A []any }{A: []any{make(chan int)}}},
	} {
		out, atts, err := AppendArgs([]byte("pre"), "x", []any{v})
		if err == nil {
			t.Errorf("%s: AppendArgs succeeded: %s", name, out)
			continue
		}
		if string(out) != "pre" || atts != nil {
			t.Errorf("%s: on error got out=%q atts=%v, want dst unextended", name, out, atts)
		}
		if name == "cycle" && !errors.Is(err, errEncodeDepth) {
			t.Errorf("cycle: error %v, want errEncodeDepth", err)
		}
	}
}

// TestAppendArgsPlainStructsMatchJSON: values without a non-nil []byte are
// written byte for byte as encoding/json writes them, whether they go to
// encoding/json whole or are walked because their type could hold bytes.
func TestAppendArgsPlainStructsMatchJSON(t *testing.T) {
	type plain struct {
		A string            `json:"a"`
		B int               `json:"b,omitempty"`
		C *float64          `json:"c"`
		D map[int]string    `json:"d"`
		E []plain           `json:"e"`
		F time.Time         `json:"f"`
		G json.RawMessage   `json:"g"`
		H [2]uint8          `json:"h"`
		I bool              `json:"i,string"`
		J map[wtKey]wtColor `json:"j"`
	}
	type withAny struct {
		plain
		Any  any            `json:"any"`
		M    map[string]any `json:"m"`
		L    []any          `json:"l"`
		Nil  []byte         `json:"nil"`
		PNil *[]byte        `json:"pnil"`
		S    fmtStringer    `json:"s"`
	}
	f := 1e-7
	p := plain{A: "<&>\u2028", C: &f, D: map[int]string{3: "c", -1: "m"}, E: []plain{{A: "x"}}, F: time.Unix(1, 0).UTC(),
		G: json.RawMessage(` { "g" : 1 } `), H: [2]uint8{1, 2}, I: true, J: map[wtKey]wtColor{{"b"}: 1, {"a"}: 2}}
	values := []any{
		p, &p, []plain{p, {}}, map[string]plain{"k": p},
		withAny{plain: p, Any: []any{json.RawMessage(" [1] "), map[string]any{"z": 1, "a": nil}}, M: map[string]any{"x": p}, L: []any{1.5, "s", nil}},
		&withAny{Any: &p, S: wtStamp{S: 1}},
		withAny{},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		values = append(values, withAny{Any: randValue(r, 0), M: map[string]any{"r": randValue(r, 0)}, L: []any{randValue(r, 0)}, plain: plain{A: randString(r), B: r.IntN(3)}})
	}
	for _, v := range values {
		out, atts, err := AppendArgs(nil, "", []any{v})
		if err != nil {
			t.Fatal(err)
		}
		if len(atts) != 0 {
			t.Fatalf("attachments for %#v", v)
		}
		if want := jsonNoHTML(t, []any{v}); string(out) != want {
			t.Fatalf("AppendArgs =\n%s\nencoding/json =\n%s", out, want)
		}
	}
}

type fmtStringer interface{ MarshalJSON() ([]byte, error) }

// TestAppendArgsRandomStructs: random values of struct types holding []byte
// in many places; with the attachments put back as base64 the output is
// encoding/json's.
func TestAppendArgsRandomStructs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	randBytes := func() []byte {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []byte{}
		}
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	randAny := func() any {
		if r.IntN(3) == 0 {
			return randBytes()
		}
		return []any{randValue(r, 2), randBytes(), map[string]any{randString(r): randBytes()}}
	}
	for range 1000 {
		v := wtOuter{Dup: randString(r), ID: r.IntN(100)}
		v.Blob, v.Promoted, v.Mid, v.Dash, v.Zero = randBytes(), randBytes(), randBytes(), randBytes(), randBytes()
		if r.IntN(2) == 0 {
			v.WtDeep = &WtDeep{Deep: randBytes()}
		}
		v.Inner = wtInner{Name: randString(r), Data: randBytes()}
		if r.IntN(2) == 0 {
			v.PInner = &wtInner{Data: randBytes()}
		}
		for i := r.IntN(3); i > 0; i-- {
			v.List = append(v.List, wtInner{Data: randBytes()})
		}
		if r.IntN(2) == 0 {
			v.ByKey = map[string]wtInner{}
			for i := r.IntN(4); i > 0; i-- {
				v.ByKey[randString(r)] = wtInner{Data: randBytes()}
			}
		}
		v.IntKey = map[int][]byte{r.IntN(20) - 10: randBytes(), r.IntN(20): randBytes()}
		v.Arr = [2][]byte{randBytes(), randBytes()}
		v.Any = randAny()
		v.Named, v.PtrM = randBytes(), randBytes()
		v.ZeroS.Bin, v.ZeroP.Bin = randBytes(), randBytes()
		v.Nested = [][]byte{randBytes(), randBytes()}
		v.Raw = json.RawMessage(`{ "r" : 1 }`)
		checkAgainstJSON(t, v)
		checkAgainstJSON(t, &v)
		checkAgainstJSON(t, []any{v, map[string]any{"v": &v}})
	}
}
