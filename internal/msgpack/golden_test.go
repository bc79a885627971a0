package msgpack

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The golden vectors in testdata were produced by Node.js 20 with
// notepack.io 3.0.1 and @msgpack/msgpack 3.1.3 (npm, in a scratch directory
// outside the repository; only the vectors are kept):
//
//   - notepack_encode.json: JSON texts (hand-picked, then random ones from a
//     seeded generator: escapes, surrogate pairs, number edge cases,
//     duplicate and array-index keys, placeholders), each with the number of
//     attachments it may use (a prefix of "atts") and
//     notepack.encode(reconstruct(JSON.parse(json), atts)) in hex, where
//     reconstruct is socket.io-parser's reconstructPacket with an integral
//     num; "error" is set where JSON.parse or reconstruct threw. Texts with
//     lone surrogates or integers outside [-2^63, 2^64) were left out: there
//     the package knowingly differs (see AppendJSON).
//   - notepack_decode.json: msgpack (notepack.encode and
//     @msgpack/msgpack.encode of the same values, Dates, float32, and
//     hand-made edge cases) with JSON.stringify(deconstruct(notepack.decode(b)))
//     and the attachments, deconstruct being socket.io-parser's
//     deconstructPacket. "lossy" marks values with integers beyond 2^53, which
//     this package writes as exact decimals; "msgpackjs" tells whether
//     @msgpack/msgpack decodes to the same JSON.
//   - js_numbers.txt: float64 bits in hex and String(x).
//   - js_dates.txt: a time value and JSON.stringify(new Date(t)).
//   - utf8_replace.json: byte strings with Buffer.toString("utf8") and
//     TextDecoder.decode as JSON.

type encodeVector struct {
	JSON    string  `json:"json"`
	Atts    int     `json:"atts"`
	Msgpack *string `json:"msgpack"`
	Error   *string `json:"error"`
}

type decodeVector struct {
	Msgpack   string   `json:"msgpack"`
	Src       string   `json:"src"`
	Lossy     bool     `json:"lossy"`
	JSON      string   `json:"json"`
	Atts      []string `json:"atts"`
	Error     *string  `json:"error"`
	MsgpackJS bool     `json:"msgpackjs"`
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goldenEncode(t testing.TB) ([][]byte, []encodeVector) {
	var f struct {
		Atts  []string       `json:"atts"`
		Cases []encodeVector `json:"cases"`
	}
	loadJSON(t, "notepack_encode.json", &f)
	atts := make([][]byte, len(f.Atts))
	for i, h := range f.Atts {
		atts[i] = unhex(t, h)
	}
	return atts, f.Cases
}

func TestGoldenAppendJSON(t *testing.T) {
	atts, cases := goldenEncode(t)
	for i, tc := range cases {
		got, err := AppendJSON(nil, []byte(tc.JSON), atts[:tc.Atts])
		if tc.Error != nil {
			if err == nil {
				t.Errorf("#%d %.80q: no error, JS threw %q", i, tc.JSON, *tc.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("#%d %.80q: %v", i, tc.JSON, err)
			continue
		}
		if want := *tc.Msgpack; hex.EncodeToString(got) != want {
			t.Errorf("#%d %.200q:\n got %.300x\nwant %.300s", i, tc.JSON, got, want)
		}
	}
}

func TestGoldenAppendToJSON(t *testing.T) {
	var cases []decodeVector
	loadJSON(t, "notepack_decode.json", &cases)
	for i, tc := range cases {
		in := unhex(t, tc.Msgpack)
		got, atts, rest, err := AppendToJSON(nil, in, nil)
		if tc.Error != nil {
			// JS threw. Trailing bytes are rest here, not an error. A
			// "TypedArray" error is deconstructPacket choking on an object
			// whose prototype notepack set to a Buffer ("__proto__" key),
			// a member this package drops.
			if err == nil && len(rest) == 0 && !strings.Contains(*tc.Error, "TypedArray") {
				t.Errorf("#%d %s %.80s: no error (%s), JS threw %q", i, tc.Src, tc.Msgpack, got, *tc.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("#%d %s %.80s: %v (want %.200s)", i, tc.Src, tc.Msgpack, err, tc.JSON)
			continue
		}
		if len(rest) != 0 {
			t.Errorf("#%d: %d bytes left", i, len(rest))
		}
		if string(got) != tc.JSON && !(tc.Lossy && sameJSNumbers(t, got, []byte(tc.JSON))) {
			t.Errorf("#%d %s %.200s:\n got %.300s\nwant %.300s", i, tc.Src, tc.Msgpack, got, tc.JSON)
		}
		if len(atts) != len(tc.Atts) {
			t.Errorf("#%d: %d attachments, want %d", i, len(atts), len(tc.Atts))
			continue
		}
		for j := range atts {
			if hex.EncodeToString(atts[j]) != tc.Atts[j] {
				t.Errorf("#%d: attachment %d = %x, want %s", i, j, atts[j], tc.Atts[j])
			}
		}
	}
}

// sameJSNumbers reports whether a and b are the same JSON once every number
// is read as a JS double.
func sameJSNumbers(t testing.TB, a, b []byte) bool {
	va, vb := jsValue(t, a), jsValue(t, b)
	return jsEqual(va, vb)
}

func jsValue(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return v
}

// jsEqual compares values decoded with UseNumber, numbers as doubles.
func jsEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, _ := strconv.ParseFloat(string(x), 64)
		fy, _ := strconv.ParseFloat(string(y), 64)
		return fx == fy
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsEqual(x[i], y[i]) {
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
			if !ok || !jsEqual(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestGoldenJSNumbers(t *testing.T) {
	f, err := os.Open("testdata/js_numbers.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		bits, want, _ := strings.Cut(sc.Text(), " ")
		u, err := strconv.ParseUint(bits, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		x := math.Float64frombits(u)
		if got := string(jsNumberString(nil, x)); got != want {
			t.Errorf("%s (%g): got %s, want %s", bits, x, got, want)
		}
		n++
	}
	if n < 1000 {
		t.Fatalf("only %d numbers", n)
	}
}

func TestGoldenJSDates(t *testing.T) {
	f, err := os.Open("testdata/js_dates.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ms, want, _ := strings.Cut(sc.Text(), " ")
		x, err := strconv.ParseFloat(ms, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendJSDate(nil, x)); got != want {
			t.Errorf("%s: got %s, want %s", ms, got, want)
		}
	}
}

func TestGoldenUTF8Replacement(t *testing.T) {
	var cases []struct {
		In   string `json:"in"`
		JSON string `json:"json"`
		TD   string `json:"td"`
	}
	loadJSON(t, "utf8_replace.json", &cases)
	for _, tc := range cases {
		if tc.TD != tc.JSON {
			t.Errorf("%s: Buffer.toString %s and TextDecoder %s differ", tc.In, tc.JSON, tc.TD)
		}
		mp := AppendStringBytes(nil, unhex(t, tc.In))
		got, _, _, err := AppendToJSON(nil, mp, nil)
		if err != nil || string(got) != tc.JSON {
			t.Errorf("%s: got %s, %v; want %s", tc.In, got, err, tc.JSON)
		}
	}
}
