package msgpack

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// TestReaderEnvelope takes the captured [uid, packet, opts] broadcast of
// the classic adapter apart as the adapter will.
func TestReaderEnvelope(t *testing.T) {
	r := NewReader(captureBinary)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := r.ReadArrayHeader()
	check(err)
	if n != 3 {
		t.Fatalf("array of %d", n)
	}
	uid, err := r.ReadString()
	check(err)
	if uid != "OzpGEJ" {
		t.Fatalf("uid %q", uid)
	}
	n, err = r.ReadMapHeader()
	check(err)
	var data []byte
	for range n {
		k, err := r.ReadStringBytes()
		check(err)
		switch string(k) {
		case "type":
			v, err := r.ReadInt()
			check(err)
			if v != 2 {
				t.Fatalf("type %d", v)
			}
		case "data":
			data, err = r.Raw()
			check(err)
		default:
			check(r.Skip())
		}
	}
	js, atts, rest, err := AppendToJSON(nil, data, nil)
	check(err)
	if string(js) != `["bin",{"_placeholder":true,"num":0},{"n":1.5,"t":true}]` || len(atts) != 1 || len(rest) != 0 {
		t.Fatalf("data %s %x %x", js, atts, rest)
	}
	n, err = r.ReadMapHeader()
	check(err)
	flags := map[string]bool{}
	for range n {
		k, err := r.ReadString()
		check(err)
		if k != "flags" {
			check(r.Skip())
			continue
		}
		m, err := r.ReadMapHeader()
		check(err)
		for range m {
			f, err := r.ReadString()
			check(err)
			flags[f], err = r.ReadBool()
			check(err)
		}
	}
	if !flags["volatile"] || flags["compress"] || len(flags) != 2 {
		t.Fatalf("flags %v", flags)
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes left", r.Len())
	}
	if _, err := r.Peek(); err != ErrShortBuffer {
		t.Fatalf("Peek at end: %v", err)
	}
}

func TestReaderTypes(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		typ  Type
	}{
		{name: "positive fixint", in: mustHex("05"), typ: Int},
		{name: "negative fixint", in: mustHex("ff"), typ: Int},
		{name: "uint64", in: mustHex("cf 00 00 00 00 00 00 00 01"), typ: Int},
		{name: "int8", in: mustHex("d0 80"), typ: Int},
		{name: "float32", in: mustHex("ca 3f c0 00 00"), typ: Float},
		{name: "float64", in: mustHex("cb 3f f8 00 00 00 00 00 00"), typ: Float},
		{name: "nil", in: mustHex("c0"), typ: Nil},
		{name: "false", in: mustHex("c2"), typ: Bool},
		{name: "fixstr", in: mustHex("a1 61"), typ: String},
		{name: "str8", in: mustHex("d9 01 61"), typ: String},
		{name: "bin8", in: mustHex("c4 01 00"), typ: Binary},
		{name: "fixarray", in: mustHex("91 c0"), typ: Array},
		{name: "array16", in: mustHex("dc 00 01 c0"), typ: Array},
		{name: "fixmap", in: mustHex("81 c0 c0"), typ: Map},
		{name: "map32", in: mustHex("df 00 00 00 01 c0 c0"), typ: Map},
		{name: "fixext1", in: mustHex("d4 05 00"), typ: Ext},
		{name: "ext8", in: mustHex("c7 01 05 00"), typ: Ext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.in)
			typ, err := r.Peek()
			if err != nil || typ != tc.typ {
				t.Fatalf("Peek = %v, %v; want %v", typ, err, tc.typ)
			}
			// Every reader of another family refuses, names both types
			// and does not move.
			readers := map[Type]func() error{
				Nil:    func() error { return r.ReadNil() },
				Bool:   func() error { _, err := r.ReadBool(); return err },
				Int:    func() error { _, err := r.ReadInt(); return err },
				String: func() error { _, err := r.ReadStringBytes(); return err },
				Binary: func() error { _, err := r.ReadBytes(); return err },
				Array:  func() error { _, err := r.ReadArrayHeader(); return err },
				Map:    func() error { _, err := r.ReadMapHeader(); return err },
			}
			for want, read := range readers {
				if want == tc.typ || (want == Int && tc.typ == Float) {
					continue
				}
				err := read()
				var te *TypeError
				if !errors.As(err, &te) || te.Want != want || te.Got != tc.typ || !errors.Is(err, ErrInvalid) {
					t.Errorf("reading %v: %v", want, err)
				}
				if r.Len() != len(tc.in) {
					t.Fatalf("reading %v moved the reader", want)
				}
			}
			raw, err := r.Raw()
			if err != nil || !bytes.Equal(raw, tc.in) || r.Len() != 0 {
				t.Fatalf("Raw = %x, %v", raw, err)
			}
		})
	}
}

func TestTypeErrorMessage(t *testing.T) {
	r := NewReader(mustHex("01"))
	_, err := r.ReadStringBytes()
	if err == nil || err.Error() != "msgpack: want string, found int" {
		t.Fatalf("%v", err)
	}
}

func TestReadInt(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want int64
		err  error
	}{
		{name: "fixint", in: mustHex("7f"), want: 127},
		{name: "negative fixint", in: mustHex("e0"), want: -32},
		{name: "uint8", in: mustHex("cc ff"), want: 255},
		{name: "uint16", in: mustHex("cd 07 d0"), want: 2000},
		{name: "uint32", in: mustHex("ce ff ff ff ff"), want: math.MaxUint32},
		{name: "uint64", in: mustHex("cf 7f ff ff ff ff ff ff ff"), want: math.MaxInt64},
		{name: "uint64 too big", in: mustHex("cf 80 00 00 00 00 00 00 00"), err: ErrRange},
		{name: "int8", in: mustHex("d0 80"), want: -128},
		{name: "int16", in: mustHex("d1 80 00"), want: -32768},
		{name: "int32", in: mustHex("d2 80 00 00 00"), want: math.MinInt32},
		{name: "int64", in: mustHex("d3 80 00 00 00 00 00 00 00"), want: math.MinInt64},
		{name: "float64 integral", in: AppendFloat(nil, 2000), want: 2000},
		{name: "float64 2^53+2", in: AppendFloat(nil, 1<<53+2), want: 1<<53 + 2},
		{name: "float64 -2^63", in: AppendFloat(nil, -1<<63), want: math.MinInt64},
		{name: "float64 2^63", in: AppendFloat(nil, 1<<63), err: ErrRange},
		{name: "float64 fraction", in: AppendFloat(nil, 1.5), err: ErrRange},
		{name: "float64 NaN", in: AppendFloat(nil, math.NaN()), err: ErrRange},
		{name: "float32 integral", in: mustHex("ca 41 20 00 00"), want: 10},
		{name: "short", in: mustHex("cd 07"), err: ErrShortBuffer},
		{name: "string", in: mustHex("a1 31"), err: &typeErrors[Int][String]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.in)
			got, err := r.ReadInt()
			if err != tc.err || (err == nil && got != tc.want) {
				t.Fatalf("ReadInt = %d, %v; want %d, %v", got, err, tc.want, tc.err)
			}
			if (err == nil) != (r.Len() == 0) {
				t.Fatalf("%d bytes left after %v", r.Len(), err)
			}
		})
	}
}

func TestReadFloat(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want float64
	}{
		{in: mustHex("ca 3d cc cc cd"), want: float64(float32(0.1))},
		{in: AppendFloat(nil, 0.1), want: 0.1},
		{in: mustHex("cf ff ff ff ff ff ff ff ff"), want: 1 << 64},
		{in: mustHex("e0"), want: -32},
	} {
		r := NewReader(tc.in)
		if got, err := r.ReadFloat(); err != nil || got != tc.want {
			t.Errorf("% x: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	r := NewReader(mustHex("c0"))
	if _, err := r.ReadFloat(); err != &typeErrors[Float][Nil] {
		t.Errorf("nil: %v", err)
	}
}

func TestReaderZeroCopy(t *testing.T) {
	in := mustHex("93 a2 68 69 c4 01 07 c0")
	r := NewReader(in)
	if _, err := r.ReadArrayHeader(); err != nil {
		t.Fatal(err)
	}
	s, err := r.ReadStringBytes()
	if err != nil || string(s) != "hi" || &s[0] != &in[2] || cap(s) != 2 {
		t.Fatalf("ReadStringBytes = %q, %v (not a clipped view)", s, err)
	}
	b, err := r.ReadBytes()
	if err != nil || len(b) != 1 || &b[0] != &in[6] || cap(b) != 1 {
		t.Fatalf("ReadBytes = %x, %v", b, err)
	}
	if err := r.ReadNil(); err != nil || r.Len() != 0 {
		t.Fatalf("ReadNil: %v", err)
	}
	r.Reset(in[1:4])
	if s, err := r.ReadString(); err != nil || s != "hi" {
		t.Fatalf("after Reset: %q, %v", s, err)
	}
}

func TestReaderReserved(t *testing.T) {
	r := NewReader(mustHex("c1"))
	if typ, err := r.Peek(); typ != Invalid || err != ErrReserved {
		t.Fatalf("Peek = %v, %v", typ, err)
	}
	if err := r.Skip(); err != ErrReserved {
		t.Fatalf("Skip = %v", err)
	}
	r.Reset(mustHex("92 01 c1"))
	if err := r.Skip(); err != ErrReserved || r.Len() != 3 {
		t.Fatalf("Skip = %v, %d left", err, r.Len())
	}
}

// TestSkipDeep: Skip keeps a count, not a stack, so depth is no limit.
func TestSkipDeep(t *testing.T) {
	in := append(bytes.Repeat([]byte{0x91}, 100000), 0xc0, 0x01)
	r := NewReader(in)
	if err := r.Skip(); err != nil || r.Len() != 1 {
		t.Fatalf("Skip = %v, %d left", err, r.Len())
	}
	r.Reset(in[:100000])
	if err := r.Skip(); err != ErrShortBuffer {
		t.Fatalf("Skip of a prefix = %v", err)
	}
}

// splitSamples are valid single values: the captures, every golden decode
// vector, and the table inputs that decode.
func splitSamples(t testing.TB) [][]byte {
	samples := [][]byte{captureRoom, captureBinary, captureAck}
	var cases []decodeVector
	loadJSON(t, "notepack_decode.json", &cases)
	for _, tc := range cases {
		b := unhex(t, tc.Msgpack)
		if n, err := skip(b); err == nil && n == len(b) && len(b) < 5000 {
			samples = append(samples, b)
		}
	}
	return samples
}

// TestSplitInput: every proper prefix of a valid value is short input for
// AppendToJSON, Skip and Raw, never something else and never a value.
func TestSplitInput(t *testing.T) {
	samples := splitSamples(t)
	if len(samples) < 500 {
		t.Fatalf("only %d samples", len(samples))
	}
	for _, s := range samples {
		_, _, _, fullErr := AppendToJSON(nil, s, nil)
		for cut := 0; cut < len(s); cut++ {
			p := s[:cut:cut]
			if _, _, _, err := AppendToJSON(nil, p, nil); err != ErrShortBuffer && !(fullErr != nil && err == fullErr) {
				t.Fatalf("% x cut at %d: AppendToJSON %v", s, cut, err)
			}
			r := NewReader(p)
			if err := r.Skip(); err != ErrShortBuffer {
				t.Fatalf("% x cut at %d: Skip %v", s, cut, err)
			}
			if _, err := r.Raw(); err != ErrShortBuffer || r.Len() != cut {
				t.Fatalf("% x cut at %d: Raw %v", s, cut, err)
			}
		}
	}
}

// TestSplitScalars: the typed readers on every prefix of their values.
func TestSplitScalars(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(r *Reader) error
	}{
		{name: "ReadInt", in: mustHex("cf 00 00 01 a2 33 1a 96 d3"), read: func(r *Reader) error { _, err := r.ReadInt(); return err }},
		{name: "ReadFloat", in: mustHex("cb 3f f8 00 00 00 00 00 00"), read: func(r *Reader) error { _, err := r.ReadFloat(); return err }},
		{name: "ReadString", in: mustHex("da 00 03 61 62 63"), read: func(r *Reader) error { _, err := r.ReadString(); return err }},
		{name: "ReadBytes", in: mustHex("c6 00 00 00 02 01 02"), read: func(r *Reader) error { _, err := r.ReadBytes(); return err }},
		{name: "ReadArrayHeader", in: mustHex("dd 00 00 00 02 c0 c0"), read: func(r *Reader) error { _, err := r.ReadArrayHeader(); return err }},
		{name: "ReadMapHeader", in: mustHex("de 00 01 c0 c0"), read: func(r *Reader) error { _, err := r.ReadMapHeader(); return err }},
		{name: "ReadBool", in: mustHex("c3"), read: func(r *Reader) error { _, err := r.ReadBool(); return err }},
		{name: "ReadNil", in: mustHex("c0"), read: func(r *Reader) error { return r.ReadNil() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 0; cut < len(tc.in); cut++ {
				r := NewReader(tc.in[:cut:cut])
				if err := tc.read(&r); err != ErrShortBuffer || r.Len() != cut {
					t.Fatalf("cut at %d: %v, %d left", cut, err, r.Len())
				}
			}
			r := NewReader(tc.in)
			if err := tc.read(&r); err != nil {
				t.Fatal(err)
			}
		})
	}
}
