package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"testing"
	"unicode/utf8"
)

// fuzzAtts are the attachments the JSON fuzz targets may reference.
var fuzzAtts = [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{7}, 300)}

func addMsgpackSeeds(f *testing.F) {
	for _, s := range [][]byte{captureRoom, captureBinary, captureAck} {
		f.Add(s)
	}
	var cases []decodeVector
	loadJSON(f, "notepack_decode.json", &cases)
	for _, tc := range cases {
		f.Add(unhex(f, tc.Msgpack))
	}
	for _, tc := range []string{"c1", "91c1", "dbffffffff", "ddffffffff", "c70cff", "d5ff0000", "8190c0", "d40000", "81a95f5f70726f746f5f5fc401aa"} {
		f.Add(mustHex(tc))
	}
}

// FuzzAppendToJSON: never panics; errors wrap ErrInvalid and leave dst and
// atts as they were; an accepted value is valid JSON, consumes what Skip
// skips, and a cut of it is short input; msgpack -> JSON -> msgpack is
// stable after one round.
func FuzzAppendToJSON(f *testing.F) {
	addMsgpackSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		js, atts, rest, err := AppendToJSON([]byte("x"), in, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || string(js) != "x" || len(atts) != 0 || !bytes.Equal(rest, in) {
				t.Fatalf("error %v returned %q, %d attachments", err, js, len(atts))
			}
			return
		}
		js = js[1:]
		if !json.Valid(js) {
			t.Fatalf("invalid JSON %q", js)
		}
		used := len(in) - len(rest)
		if n, err := skip(in); err != nil || n != used {
			t.Fatalf("AppendToJSON used %d bytes, Skip %d, %v", used, n, err)
		}
		if used > 0 {
			if _, _, _, err := AppendToJSON(nil, in[:used/2], nil); err != ErrShortBuffer {
				t.Fatalf("cut at %d: %v", used/2, err)
			}
		}
		// Round trip. A msgpack map shaped like a placeholder turns into
		// one (or fails as one) once in JSON, as it would in socket.io;
		// an extension at the depth limit needs one level more.
		m1, err := AppendJSON(nil, js, atts)
		if errors.Is(err, ErrPlaceholder) || errors.Is(err, ErrDepth) {
			return
		}
		if err != nil {
			t.Fatalf("AppendJSON(%q): %v", js, err)
		}
		js2, atts2, rest2, err := AppendToJSON(nil, m1, nil)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("AppendToJSON(% x): %v, %d left", m1, err, len(rest2))
		}
		m2, err := AppendJSON(nil, js2, atts2)
		if err != nil || !bytes.Equal(m1, m2) {
			t.Fatalf("not stable: %q\n% x\n%q\n% x (%v)", js, m1, js2, m2, err)
		}
		js3, _, _, _ := AppendToJSON(nil, m2, nil)
		if !bytes.Equal(js2, js3) {
			t.Fatalf("JSON not stable: %q then %q", js2, js3)
		}
	})
}

// FuzzAppendJSON: never panics; errors wrap ErrInvalid and leave dst as it
// was; it accepts exactly what encoding/json accepts (up to MaxDepth and
// placeholder checks); the msgpack decodes; JSON -> msgpack -> JSON keeps
// the meaning (encoding/json with UseNumber on both sides, numbers as JS
// doubles, placeholders resolved, "__proto__" members dropped as the JS
// decoder drops them).
func FuzzAppendJSON(f *testing.F) {
	_, cases := goldenEncode(f)
	for _, tc := range cases {
		f.Add([]byte(tc.JSON), tc.Atts > 0)
	}
	for _, s := range []string{captureRoomJSON, captureBinaryJSON, captureAckJSON, `{"a":1,"a":2,"0":3}`, `"\ud800"`, "1e400", "-0", `{"_placeholder":true,"num":9}`} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, withAtts bool) {
		var atts [][]byte
		if withAtts {
			atts = fuzzAtts
		}
		mp, err := AppendJSON([]byte{0xee}, in, atts)
		valid := json.Valid(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || !bytes.Equal(mp, []byte{0xee}) {
				t.Fatalf("error %v returned % x", err, mp)
			}
			if valid && err != ErrDepth && err != ErrPlaceholder {
				t.Fatalf("refused valid JSON %q: %v", in, err)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		mp = mp[1:]
		js, atts2, rest, err := AppendToJSON(nil, mp, nil)
		if err != nil || len(rest) != 0 {
			t.Fatalf("AppendToJSON(% x): %v, %d left", mp, err, len(rest))
		}
		if n, err := skip(mp); err != nil || n != len(mp) {
			t.Fatalf("Skip: %d, %v", n, err)
		}
		if !utf8.Valid(in) {
			return // encoding/json replaces bytes one by one, WHATWG by maximal subparts
		}
		want := jsNormalize(jsValue(t, in), atts, !withAtts)
		got := jsNormalize(jsValue(t, js), atts2, false)
		if !deepEqualJS(want, got) {
			t.Fatalf("meaning changed:\n in %q\nout %q", in, js)
		}
	})
}

// jsNormalize turns a value decoded with UseNumber into what JS ends up
// with: numbers as float64 (±Inf as nil, as JSON.stringify writes them),
// placeholders as their attachment ([]byte), "__proto__" members gone.
func jsNormalize(v any, atts [][]byte, plain bool) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		if math.IsInf(f, 0) {
			return nil
		}
		return f
	case []any:
		for i := range x {
			x[i] = jsNormalize(x[i], atts, plain)
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph && !plain && len(atts) > 0 {
			if n, ok := x["num"].(json.Number); ok {
				if f, err := strconv.ParseFloat(string(n), 64); err == nil && f == math.Trunc(f) && f >= 0 && f < float64(len(atts)) {
					return atts[int(f)]
				}
			}
		}
		delete(x, "__proto__")
		for k := range x {
			x[k] = jsNormalize(x[k], atts, plain)
		}
	}
	return v
}

func deepEqualJS(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqualJS(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !deepEqualJS(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

// FuzzReader drives a Reader with operations chosen by the first input
// byte over the rest: no panics; a failed read does not move the Reader; a
// successful one moves it by exactly the value's size (a header's for
// arrays and maps); Raw returns those bytes; a cut value is short input.
func FuzzReader(f *testing.F) {
	addMsgpackSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		ops, in := in[0], in[1:]
		r := NewReader(in)
		for step := 0; step < 64 && r.Len() > 0; step++ {
			before := r.Rest()
			size, sizeErr := skip(before)
			h, headErr := readHead(before)
			op := (int(ops) + step*7) % 12
			var err error
			header := false
			switch op {
			case 0:
				_, err = r.Peek()
				if r.Len() != len(before) {
					t.Fatal("Peek moved")
				}
				continue
			case 1:
				_, err = r.ReadInt()
			case 2:
				_, err = r.ReadFloat()
			case 3:
				_, err = r.ReadStringBytes()
			case 4:
				_, err = r.ReadString()
			case 5:
				_, err = r.ReadBytes()
			case 6:
				_, err = r.ReadBool()
			case 7:
				err = r.ReadNil()
			case 8:
				_, err = r.ReadArrayHeader()
				header = true
			case 9:
				_, err = r.ReadMapHeader()
				header = true
			case 10:
				err = r.Skip()
			case 11:
				var raw []byte
				raw, err = r.Raw()
				if err == nil && !bytes.Equal(raw, before[:size]) {
					t.Fatalf("Raw = % x, Skip size %d", raw, size)
				}
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("op %d: error %v does not wrap ErrInvalid", op, err)
				}
				if r.Len() != len(before) {
					t.Fatalf("op %d failed (%v) and moved", op, err)
				}
				if err2 := r.Skip(); err2 != nil {
					return
				}
				continue
			}
			moved := len(before) - r.Len()
			switch {
			case header:
				if headErr != nil || moved != int(h.hdr) {
					t.Fatalf("op %d moved %d, header %d", op, moved, h.hdr)
				}
			case sizeErr != nil || moved != size:
				t.Fatalf("op %d moved %d, Skip says %d (%v)", op, moved, size, sizeErr)
			}
			if !header && size > 0 {
				if _, err := skip(before[: size-1 : size-1]); err != ErrShortBuffer {
					t.Fatalf("cut value: %v", err)
				}
			}
		}
		// AppendToJSON agrees with Skip on where the value ends.
		if _, _, rest, err := AppendToJSON(nil, in, nil); err == nil {
			if n, err := skip(in); err != nil || n != len(in)-len(rest) {
				t.Fatalf("AppendToJSON rest %d, Skip %d, %v", len(rest), n, err)
			}
		}
	})
}
