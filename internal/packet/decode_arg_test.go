package packet

import (
	"bytes"
	"testing"
)

func TestDecodeArg(t *testing.T) {
	atts := [][]byte{{1, 2}, {3}}
	var b []byte
	if err := DecodeArg([]byte(`{"_placeholder":true,"num":1}`), atts, &b); err != nil || !bytes.Equal(b, []byte{3}) {
		t.Fatalf("*[]byte: %v %v", b, err)
	}
	var st struct {
		X []byte `json:"x"`
		N int    `json:"n"`
	}
	if err := DecodeArg([]byte(`{"x":{"_placeholder":true,"num":0},"n":7}`), atts, &st); err != nil || !bytes.Equal(st.X, []byte{1, 2}) || st.N != 7 {
		t.Fatalf("struct: %+v %v", st, err)
	}
	var v any
	if err := DecodeArg([]byte(`[{"_placeholder":true,"num":0}]`), atts, &v); err != nil {
		t.Fatal(err)
	}
	if arr, ok := v.([]any); !ok || !bytes.Equal(arr[0].([]byte), []byte{1, 2}) {
		t.Fatalf("*any: %#v", v)
	}
	var s string
	if err := DecodeArg([]byte(`"hi"`), nil, &s); err != nil || s != "hi" {
		t.Fatalf("plain: %q %v", s, err)
	}
	if _, ok := BinaryArg([]byte(`{"_placeholder":true,"num":5}`), atts); ok {
		t.Fatal("out-of-range placeholder resolved")
	}
}

func TestEventName(t *testing.T) {
	tests := []struct {
		name, raw, want string
		wantErr         bool
	}{
		{name: "plain", raw: `"chat"`, want: "chat"},
		{name: "escaped", raw: `"a\"b\u00e9"`, want: "a\"bé"},
		{name: "number", raw: `12`, want: "12"},
		{name: "object", raw: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EventName([]byte(tt.raw))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("EventName(%s) = %q, %v", tt.raw, got, err)
			}
		})
	}
}
