package msgpack

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestWriters(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{name: "array 15", got: AppendArrayHeader(nil, 15), want: mustHex("9f")},
		{name: "array 16", got: AppendArrayHeader(nil, 16), want: mustHex("dc 00 10")},
		{name: "array 65536", got: AppendArrayHeader(nil, 65536), want: mustHex("dd 00 01 00 00")},
		{name: "map 0", got: AppendMapHeader(nil, 0), want: mustHex("80")},
		{name: "map 65535", got: AppendMapHeader(nil, 65535), want: mustHex("de ff ff")},
		{name: "map max", got: AppendMapHeader(nil, math.MaxUint32), want: mustHex("df ff ff ff ff")},
		{name: "string empty", got: AppendString(nil, ""), want: mustHex("a0")},
		{name: "string 32", got: AppendString(nil, strings.Repeat("x", 32))[:2], want: mustHex("d9 20")},
		{name: "string 256", got: AppendStringBytes(nil, bytes.Repeat([]byte("x"), 256))[:3], want: mustHex("da 01 00")},
		{name: "bin empty", got: AppendBin(nil, nil), want: mustHex("c4 00")},
		{name: "bin 256", got: AppendBin(nil, make([]byte, 256))[:3], want: mustHex("c5 01 00")},
		{name: "bin 65536", got: AppendBin(nil, make([]byte, 65536))[:5], want: mustHex("c6 00 01 00 00")},
		{name: "int -1", got: AppendInt(nil, -1), want: mustHex("ff")},
		{name: "int 0", got: AppendInt(nil, 0), want: mustHex("00")},
		{name: "int -128", got: AppendInt(nil, -128), want: mustHex("d0 80")},
		{name: "int -32768", got: AppendInt(nil, -32768), want: mustHex("d1 80 00")},
		{name: "int min", got: AppendInt(nil, math.MinInt64), want: mustHex("d3 80 00 00 00 00 00 00 00")},
		{name: "int 200 is uint8", got: AppendInt(nil, 200), want: mustHex("cc c8")},
		{name: "uint max", got: AppendUint(nil, math.MaxUint64), want: mustHex("cf ff ff ff ff ff ff ff ff")},
		{name: "float integral stays float", got: AppendFloat(nil, 1), want: mustHex("cb 3f f0 00 00 00 00 00 00")},
		{name: "number integral", got: AppendNumber(nil, 2000), want: mustHex("cd 07 d0")},
		{name: "number -0", got: AppendNumber(nil, math.Copysign(0, -1)), want: mustHex("00")},
		{name: "number -2^63", got: AppendNumber(nil, -1<<63), want: mustHex("d3 80 00 00 00 00 00 00 00")},
		{name: "number 2^64", got: AppendNumber(nil, 1<<64), want: mustHex("cb 43 f0 00 00 00 00 00 00")},
		{name: "number NaN", got: AppendNumber(nil, math.NaN())[:1], want: mustHex("cb")},
		{name: "number -Inf", got: AppendNumber(nil, math.Inf(-1)), want: mustHex("cb ff f0 00 00 00 00 00 00")},
		{name: "bool", got: AppendBool(AppendBool(nil, true), false), want: mustHex("c3 c2")},
		{name: "nil", got: AppendNil([]byte{1}), want: mustHex("01 c0")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Equal(tc.got, tc.want) {
				t.Errorf("got % x, want % x", tc.got, tc.want)
			}
		})
	}
}

// TestWritersRead: what the writers write, the Reader reads back.
func TestWritersRead(t *testing.T) {
	ints := []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	var b []byte
	for _, i := range ints {
		b = AppendInt(b, i)
	}
	r := NewReader(b)
	for _, want := range ints {
		got, err := r.ReadInt()
		if err != nil || got != want {
			t.Fatalf("ReadInt = %d, %v; want %d", got, err, want)
		}
	}
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("s", n)
		r := NewReader(AppendString(nil, s))
		if got, err := r.ReadString(); err != nil || got != s || r.Len() != 0 {
			t.Fatalf("string of %d: %v", n, err)
		}
		r = NewReader(AppendBin(nil, []byte(s)))
		if got, err := r.ReadBytes(); err != nil || string(got) != s || r.Len() != 0 {
			t.Fatalf("bin of %d: %v", n, err)
		}
	}
}
