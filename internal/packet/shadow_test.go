package packet

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Types for the shadow edge cases. Names start with sh.
type (
	shPtrText int // encoding.TextMarshaler on the pointer only: a number where not addressable
	shZero    struct {
		B []byte
	}
	shPtrZero struct {
		B []byte
	}
	shNeverZero struct{ B []byte }
	shZeroer    interface{ IsZero() bool }
	shInner     struct {
		Empty []byte    `json:"empty,omitempty"`
		K     shPtrText `json:"k"`
	}
	shPtrStruct struct{ B []byte } // json.Marshaler on the pointer only
	ShF         struct {
		X int
		Y []byte
	}
	ShE struct {
		ShF
		Bin []byte
	}
	ShA     struct{ ShE }
	ShB     struct{ ShE }
	shEmbed struct {
		ShB `json:"b"`
		ShA `json:"a\\b"` // not a usable name: promoted
	}
	shDiamond struct {
		ShA
		*ShB
	}
	ShM1  struct{ B []byte }
	ShM2  struct{ C []byte }
	shAmb struct {
		ShM1
		ShM2
	} // both MarshalJSON: neither promoted as a method
	shTime struct {
		time.Time
		B []byte
	}
	shList struct {
		Next *shList
		B    []byte `json:"b,omitempty"`
	}
	shTree struct {
		Kids []shTree          `json:"kids,omitempty"`
		ByN  map[string]shTree `json:"by,omitzero"`
		B    []byte
	}
	shSelf struct {
		*shSelf
		B []byte
	}
	shUnexpTagged struct {
		shunexp `json:"u"`
		X       []byte
	}
	shunexp struct {
		P []byte
		q []byte
	}
	ShBlob   []byte
	ShAny    any
	shNonStr struct {
		ShBlob
		ShAny
		wtBlob
		X int
	}
	shplain     struct{ X int }
	shplainPtr  struct{ Y *int }
	shplainM    struct{ Z int }
	shUnexpKeep struct {
		shplain     `json:"u"`
		*shplainPtr `json:"v,omitempty"`
		B           []byte
	}
	shUnexpMarshal struct {
		shplainM `json:"m"`
		B        []byte
	}
	shHidden struct {
		B []byte
		h int
	}
)

func (p *shPtrText) MarshalText() ([]byte, error)   { return []byte("t" + strconv.Itoa(int(*p))), nil }
func (z shZero) IsZero() bool                       { return len(z.B) == 0 }
func (z *shPtrZero) IsZero() bool                   { return len(z.B) < 2 }
func (*shplainM) MarshalText() ([]byte, error)      { return []byte("m"), nil }
func (shNeverZero) IsZero() bool                    { return false }
func (p *shPtrStruct) MarshalJSON() ([]byte, error) { return []byte(`"ptr-struct"`), nil }
func (ShM1) MarshalJSON() ([]byte, error)           { return []byte(`"m1"`), nil }
func (ShM2) MarshalJSON() ([]byte, error)           { return []byte(`"m2"`), nil }

type shOmit struct {
	E      []byte            `json:"e,omitempty"`
	Z      []byte            `json:"z,omitzero"`
	EZ     []byte            `json:"ez,omitempty,omitzero"`
	PE     *[]byte           `json:"pe,omitempty"`
	LE     []shInner         `json:"le,omitempty"`
	LZ     []shInner         `json:"lz,omitzero"`
	ME     map[string][]byte `json:"me,omitempty"`
	MZ     map[string][]byte `json:"mz,omitzero"`
	AE     any               `json:"ae,omitempty"`
	AZ     any               `json:"az,omitzero"`
	SE     shInner           `json:"se,omitempty"` // a struct is never empty
	SZ     shInner           `json:"sz,omitzero"`  // zero only when Empty is nil
	VZ     shZero            `json:"vz,omitzero"`
	PZ     shPtrZero         `json:"pz,omitzero"`
	NZ     shNeverZero       `json:"nz,omitzero"`
	IZ     shZeroer          `json:"iz,omitzero"`
	HZ     shHidden          `json:"hz,omitzero"` // an unexported field makes it non-zero
	Arr0   [0][]byte         `json:"arr0,omitempty"`
	ArrE   [1][]byte         `json:"arre,omitempty"`
	Str    any               `json:"str,string"`
	PtrStr *shInner          `json:"ptrstr,string,omitempty"`
}

// TestAppendArgsShadowEdges: values whose shadow must keep encoding/json's
// result (checked with the attachments put back as base64) in the cases
// the shadow type differs most from the original: omitempty and omitzero,
// embedding (tagged, diamond, through pointers, unexported), marshal
// methods with pointer receivers in addressable and other places,
// recursive types.
func TestAppendArgsShadowEdges(t *testing.T) {
	two := shPtrText(2)
	empty := []byte{}
	values := []any{
		shOmit{},
		shOmit{E: []byte{}, Z: []byte{}, EZ: []byte{}, PE: &empty, LE: []shInner{}, LZ: []shInner{}, ME: map[string][]byte{}, MZ: map[string][]byte{},
			AE: []byte{}, AZ: 0, SE: shInner{Empty: []byte{}}, SZ: shInner{Empty: []byte{}}, VZ: shZero{B: []byte{}}, PZ: shPtrZero{B: []byte{1}},
			NZ: shNeverZero{}, IZ: (*shPtrZero)(nil), HZ: shHidden{h: 1}, Str: []byte("s")},
		shOmit{E: []byte{1}, Z: []byte{2}, EZ: []byte{3}, LZ: []shInner{{K: 1}}, MZ: map[string][]byte{"a": nil}, AE: []any{[]byte{4}}, AZ: []byte(nil),
			SZ: shInner{K: 3}, VZ: shZero{B: []byte{5}}, PZ: shPtrZero{B: []byte{6, 7}}, IZ: shZero{}, HZ: shHidden{B: []byte{}},
			ArrE: [1][]byte{{8}}, PtrStr: &shInner{Empty: []byte{9}, K: 4}},
		shOmit{IZ: &shPtrZero{B: []byte{1, 2}}, AE: shInner{K: 5}, AZ: &shInner{K: 6}},
		shInner{Empty: []byte{1}, K: 7},
		[]shInner{{Empty: []byte{1}, K: 8}},
		map[string]shInner{"m": {Empty: []byte{1}, K: 9}},
		[2]shInner{{K: 1}, {Empty: []byte{2}}},
		struct{ P *shInner }{&shInner{Empty: []byte{1}, K: 10}},
		map[shPtrText][]byte{1: {1}, two: nil},
		shPtrStruct{B: []byte{1}},
		[]shPtrStruct{{B: []byte{1}}},
		map[string]shPtrStruct{"a": {B: []byte{1}}},
		struct{ A any }{A: shPtrStruct{B: []byte{1}}},
		struct{ A any }{A: &shPtrStruct{B: []byte{1}}},
		[]wtPtrMarshal{wtPtrMarshal("a")},
		map[string]wtPtrMarshal{"k": wtPtrMarshal("a")},
		struct{ W [1]wtPtrMarshal }{W: [1]wtPtrMarshal{wtPtrMarshal("a")}},
		shEmbed{ShB: ShB{ShE{ShF: ShF{X: 1, Y: []byte{1}}, Bin: []byte{2}}}, ShA: ShA{ShE{Bin: []byte{3}}}},
		shDiamond{ShA: ShA{ShE{ShF: ShF{X: 1, Y: []byte{1}}, Bin: []byte{2}}}},
		shDiamond{ShA: ShA{ShE{ShF: ShF{X: 1, Y: []byte{1}}}}, ShB: &ShB{ShE{ShF: ShF{X: 2, Y: []byte{3}}, Bin: []byte{4}}}},
		shAmb{ShM1{B: []byte{1}}, ShM2{C: []byte{2}}},
		shTime{Time: time.Unix(5, 0).UTC(), B: []byte{1}},
		&shList{B: []byte{1}, Next: &shList{Next: &shList{B: []byte{3}}}},
		shTree{B: []byte{1}, Kids: []shTree{{B: []byte{2}, ByN: map[string]shTree{"x": {B: []byte{3}}}}, {ByN: map[string]shTree{}}}},
		shSelf{shSelf: &shSelf{B: []byte{1}}, B: []byte{2}},
		shUnexpTagged{shunexp: shunexp{P: []byte{1}, q: []byte{2}}, X: []byte{3}},
		wtPtrEmbed{wtunexported: &wtunexported{Promoted: []byte{1}, private: []byte{2}}, X: 3},
		shNonStr{ShBlob: ShBlob{1}, wtBlob: wtBlob{2}, X: 3},
		shNonStr{ShAny: []byte{4}},
		shUnexpKeep{shplain: shplain{X: 1}, B: []byte{1}},
		shUnexpKeep{shplainPtr: &shplainPtr{Y: new(int)}, B: []byte{1}},
		shUnexpMarshal{shplainM: shplainM{Z: 1}, B: []byte{1}},
	}
	for _, v := range values {
		checkAgainstJSON(t, v)
		checkAgainstJSON(t, []any{v})
		checkAgainstJSON(t, &v)
		checkAgainstJSON(t, struct{ V any }{v})
	}
}

// TestAppendArgsShadowOmit pins omitempty and omitzero with byte slices.
func TestAppendArgsShadowOmit(t *testing.T) {
	out, atts := checkAgainstJSON(t, shOmit{E: []byte{}, Z: []byte{}, EZ: []byte{}, SZ: shInner{Empty: []byte{}}, VZ: shZero{B: []byte{}}, NZ: shNeverZero{}})
	want := `[{"z":` + ph(0) + `,"se":{"k":0},"sz":{"k":0},"nz":{"B":null},"arre":[null],"str":null}]`
	if out != want || len(atts) != 1 || len(atts[0]) != 0 {
		t.Fatalf("AppendArgs = %s (%d attachments), want %s", out, len(atts), want)
	}
}

// TestAppendArgsShadowAddressable: a type whose pointer has a marshal
// method is written by it where encoding/json would see it addressable
// (through a pointer, in a slice) and walked elsewhere.
func TestAppendArgsShadowAddressable(t *testing.T) {
	v := struct {
		S  shPtrStruct
		L  []shPtrStruct
		M  map[string]shPtrStruct
		K  shPtrText
		PK *shPtrText
	}{S: shPtrStruct{B: []byte{1}}, L: []shPtrStruct{{B: []byte{2}}}, M: map[string]shPtrStruct{"m": {B: []byte{3}}}, K: 4}
	v.PK = &v.K
	out, atts := checkAgainstJSON(t, v)
	want := `[{"S":{"B":` + ph(0) + `},"L":["ptr-struct"],"M":{"m":{"B":` + ph(1) + `}},"K":4,"PK":"t4"}]`
	if out != want || len(atts) != 2 {
		t.Fatalf("AppendArgs = %s, want %s", out, want)
	}
	out, _ = checkAgainstJSON(t, &v)
	want = `[{"S":"ptr-struct","L":["ptr-struct"],"M":{"m":{"B":` + ph(0) + `}},"K":"t4","PK":"t4"}]`
	if out != want {
		t.Fatalf("through a pointer: AppendArgs = %s, want %s", out, want)
	}
}

// TestAppendArgsShadowFallback: a struct that embeds itself (through a
// pointer) has no shadow; encoding/json writes it whole, base64 included.
func TestAppendArgsShadowFallback(t *testing.T) {
	out, atts := checkAgainstJSON(t, shSelf{shSelf: &shSelf{B: []byte{1}}, B: []byte{2}})
	if len(atts) != 0 || !strings.Contains(out, `"B":"Ag=="`) {
		t.Fatalf("AppendArgs = %s with %d attachments, want encoding/json's", out, len(atts))
	}
}

// TestAppendArgsShadowEncodingJSONStillChecks: what encoding/json refuses
// in a shadow is refused.
func TestAppendArgsShadowErrors(t *testing.T) {
	type withChan struct {
		B []byte
		C chan int
	}
	if _, _, err := AppendArgs(nil, "e", []any{withChan{}}); err == nil {
		t.Fatal("chan field accepted")
	}
	var bad json.RawMessage = []byte("{")
	if _, _, err := AppendArgs(nil, "e", []any{struct {
		B []byte
		R *json.RawMessage
	}{R: &bad}}); err == nil {
		t.Fatal("invalid raw message accepted")
	}
}

// Embedded structs that lead back to their embedder through a field: the
// field is given a dynamic shadow, whichever type is encoded first.
type (
	ShLoopE1 struct {
		Sub *shLoopT1
		B   []byte
	}
	shLoopT1 struct {
		ShLoopE1
		C []byte
	}
	ShLoopE2 struct {
		Sub []shLoopT2
		B   []byte
	}
	shLoopT2 struct {
		ShLoopE2
		C []byte
	}
)

func TestAppendArgsShadowEmbedLoop(t *testing.T) {
	e1 := ShLoopE1{Sub: &shLoopT1{ShLoopE1: ShLoopE1{B: []byte{1}}, C: []byte{2}}, B: []byte{3}}
	t2 := shLoopT2{ShLoopE2: ShLoopE2{Sub: []shLoopT2{{C: []byte{1}}}, B: []byte{2}}, C: []byte{3}}
	for _, v := range []any{e1, *e1.Sub, t2, t2.ShLoopE2} { // E1 first, T2 first
		if _, atts := checkAgainstJSON(t, v); len(atts) == 0 {
			t.Errorf("%T: no attachments", v)
		}
	}
}
