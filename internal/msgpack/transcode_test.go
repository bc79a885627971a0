package msgpack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// mustHex decodes hex written with spaces between bytes for reading.
func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// msgpack builds test input from hex pieces and Go strings: a string
// starting with "=" is taken literally (without the '='), others are hex.
func msgpack(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		if lit, ok := strings.CutPrefix(p, "="); ok {
			b = append(b, lit...)
		} else {
			b = append(b, mustHex(p)...)
		}
	}
	return b
}

// Broadcasts captured from @socket.io/redis-adapter 8.3.0 nodes (socket.io
// 4.8.3, notepack.io 3).
var (
	captureRoom = msgpack("93 a6", "=OzpGEJ",
		"83 a4", "=type", "02 a4", "=data", "92 a4", "=news", "a8", "=to room1", "a3", "=nsp", "a1", "=/",
		"83 a5", "=rooms", "91 a5", "=room1", "a6", "=except", "90 a5", "=flags", "80")
	captureRoomJSON = `["OzpGEJ",{"type":2,"data":["news","to room1"],"nsp":"/"},{"rooms":["room1"],"except":[],"flags":{}}]`

	captureBinary = msgpack("93 a6", "=OzpGEJ",
		"83 a4", "=type", "02 a4", "=data", "93 a3", "=bin", "c4 03 01 02 03", "82 a1", "=n", "cb 3f f8 00 00 00 00 00 00 a1", "=t", "c3",
		"a3", "=nsp", "a1", "=/",
		"83 a5", "=rooms", "90 a6", "=except", "90 a5", "=flags", "82 a8", "=volatile", "c3 a8", "=compress", "c2")
	captureBinaryJSON = `["OzpGEJ",{"type":2,"data":["bin",{"_placeholder":true,"num":0},{"n":1.5,"t":true}],"nsp":"/"},{"rooms":[],"except":[],"flags":{"volatile":true,"compress":false}}]`

	captureAck = msgpack("85 a3", "=uid", "a6", "=OzpGEJ", "a9", "=requestId", "a6", "=e7lfpl", "a4", "=type", "07",
		"a6", "=packet", "83 a4", "=type", "02 a4", "=data", "92 a3", "=ask", "a2", "=q?", "a3", "=nsp", "a1", "=/",
		"a4", "=opts", "83 a5", "=rooms", "90 a6", "=except", "90 a5", "=flags", "81 a7", "=timeout", "cd 07 d0")
	captureAckJSON = `{"uid":"OzpGEJ","requestId":"e7lfpl","type":7,"packet":{"type":2,"data":["ask","q?"],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{"timeout":2000}}}`
)

func TestCaptureRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		mp   []byte
		json string
		atts [][]byte
	}{
		{name: "room broadcast", mp: captureRoom, json: captureRoomJSON},
		{name: "binary broadcast", mp: captureBinary, json: captureBinaryJSON, atts: [][]byte{{1, 2, 3}}},
		{name: "broadcast with ack", mp: captureAck, json: captureAckJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			js, atts, rest, err := AppendToJSON(nil, tc.mp, nil)
			if err != nil || len(rest) != 0 {
				t.Fatalf("AppendToJSON: %v, %d bytes left", err, len(rest))
			}
			if string(js) != tc.json {
				t.Errorf("AppendToJSON:\n got %s\nwant %s", js, tc.json)
			}
			if len(atts) != len(tc.atts) || (len(atts) > 0 && !bytes.Equal(atts[0], tc.atts[0])) {
				t.Errorf("attachments %x, want %x", atts, tc.atts)
			}
			mp, err := AppendJSON(nil, js, atts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mp, tc.mp) {
				t.Errorf("AppendJSON:\n got % x\nwant % x", mp, tc.mp)
			}
		})
	}
}

// TestCaptureByHand builds the classic adapter's [uid, packet, opts]
// envelope the way the adapter will: the writers for the envelope,
// AppendJSON for the event data.
func TestCaptureByHand(t *testing.T) {
	b := AppendArrayHeader(nil, 3)
	b = AppendString(b, "OzpGEJ")
	b = AppendMapHeader(b, 3)
	b = AppendString(b, "type")
	b = AppendInt(b, 2)
	b = AppendString(b, "data")
	b, err := AppendJSON(b, []byte(`["bin",{"_placeholder":true,"num":0},{"n":1.5,"t":true}]`), [][]byte{{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	b = AppendString(b, "nsp")
	b = AppendString(b, "/")
	b = AppendMapHeader(b, 3)
	b = AppendString(b, "rooms")
	b = AppendArrayHeader(b, 0)
	b = AppendString(b, "except")
	b = AppendArrayHeader(b, 0)
	b = AppendString(b, "flags")
	b = AppendMapHeader(b, 2)
	b = AppendString(b, "volatile")
	b = AppendBool(b, true)
	b = AppendString(b, "compress")
	b = AppendBool(b, false)
	if !bytes.Equal(b, captureBinary) {
		t.Errorf("got  % x\nwant % x", b, captureBinary)
	}
}

func TestAppendJSON(t *testing.T) {
	att := [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{7}, 300), bytes.Repeat([]byte{9}, 70000)}
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObj := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	tests := []struct {
		name string
		json string
		atts [][]byte
		want []byte // nil: error expected
		err  error
	}{
		// Numbers, by notepack.io's ranges.
		{name: "fixint max", json: "127", want: mustHex("7f")},
		{name: "uint8", json: "128", want: mustHex("cc 80")},
		{name: "uint16", json: "65535", want: mustHex("cd ff ff")},
		{name: "uint32", json: "4294967295", want: mustHex("ce ff ff ff ff")},
		{name: "uint64", json: "4294967296", want: mustHex("cf 00 00 00 01 00 00 00 00")},
		{name: "ms timestamp", json: "1796153710291", want: mustHex("cf 00 00 01 a2 33 1a 96 d3")},
		{name: "2^53+1 rounds to 2^53", json: "9007199254740993", want: mustHex("cf 00 20 00 00 00 00 00 00")},
		{name: "largest double below 2^64", json: "18446744073709549568", want: mustHex("cf ff ff ff ff ff ff f8 00")},
		{name: "negative fixint", json: "-32", want: mustHex("e0")},
		{name: "int8", json: "-33", want: mustHex("d0 df")},
		{name: "int16", json: "-129", want: mustHex("d1 ff 7f")},
		{name: "int32", json: "-32769", want: mustHex("d2 ff ff 7f ff")},
		{name: "int64", json: "-2147483649", want: mustHex("d3 ff ff ff ff 7f ff ff ff")},
		{name: "-2^63", json: "-9223372036854775808", want: mustHex("d3 80 00 00 00 00 00 00 00")},
		{name: "minus zero is 0", json: "-0", want: mustHex("00")},
		{name: "minus zero float is 0", json: "-0.0e5", want: mustHex("00")},
		{name: "underflow to -0", json: "-1e-400", want: mustHex("00")},
		{name: "integral with exponent", json: "1.5e1", want: mustHex("0f")},
		{name: "fraction", json: "1.5", want: mustHex("cb 3f f8 00 00 00 00 00 00")},
		{name: "overflow is Infinity", json: "1e400", want: mustHex("cb 7f f0 00 00 00 00 00 00")},
		// notepack.io writes cf 00 00 00 00 00 00 00 00 (0) for these.
		{name: "2^64 is float64 (deviation)", json: "18446744073709551616", want: mustHex("cb 43 f0 00 00 00 00 00 00")},
		{name: "1e300 is float64 (deviation)", json: "1e300", want: mustHex("cb 7e 37 e4 3c 88 00 75 9c")},
		{name: "-1e300 is float64 (deviation)", json: "-1e300", want: mustHex("cb fe 37 e4 3c 88 00 75 9c")},
		// Strings.
		{name: "fixstr 31", json: `"` + strings.Repeat("x", 31) + `"`, want: append(mustHex("bf"), strings.Repeat("x", 31)...)},
		{name: "str8 32", json: `"` + strings.Repeat("x", 32) + `"`, want: append(mustHex("d9 20"), strings.Repeat("x", 32)...)},
		{name: "str16", json: `"` + strings.Repeat("x", 65535) + `"`, want: append(mustHex("da ff ff"), strings.Repeat("x", 65535)...)},
		{name: "str32", json: `"` + strings.Repeat("x", 65536) + `"`, want: append(mustHex("db 00 01 00 00"), strings.Repeat("x", 65536)...)},
		{name: "escapes shrink str8 to fixstr", json: `"` + strings.Repeat(`\n`, 20) + `"`, want: append(mustHex("b4"), strings.Repeat("\n", 20)...)},
		{name: "escapes shrink str16 to str8", json: `"` + strings.Repeat(`\u00e9`, 50) + `"`, want: append(mustHex("d9 64"), strings.Repeat("é", 50)...)},
		{name: "replacement grows fixstr to str8", json: "\"" + strings.Repeat("\xff", 30) + `\n"`, want: append(append(mustHex("d9 5b"), strings.Repeat("\uFFFD", 30)...), '\n')},
		{name: "surrogate pair", json: `"\ud83d\ude00"`, want: mustHex("a4 f0 9f 98 80")},
		{name: "lone high surrogate", json: `"\ud800a"`, want: mustHex("a4 ef bf bd 61")},
		{name: "lone low surrogate", json: `"\udc00"`, want: mustHex("a3 ef bf bd")},
		{name: "high then high+low", json: `"\ud800\ud83d\ude00"`, want: mustHex("a7 ef bf bd f0 9f 98 80")},
		{name: "high then escape", json: `"\ud800\n"`, want: mustHex("a4 ef bf bd 0a")},
		{name: "invalid UTF-8, maximal subpart", json: "\"\xe2\x82A\"", want: mustHex("a4 ef bf bd 41")},
		{name: "raw U+2028", json: "\"\u2028\"", want: mustHex("a3 e2 80 a8")},
		{name: "NUL escape", json: `"\u0000"`, want: mustHex("a1 00")},
		{name: "solidus escape", json: `"\/"`, want: mustHex("a1 2f")},
		// Containers.
		{name: "array16", json: "[" + strings.Repeat("1,", 15) + "1]", want: append(mustHex("dc 00 10"), bytes.Repeat([]byte{1}, 16)...)},
		{name: "array32", json: "[" + strings.Repeat("0,", 65535) + "0]", want: append(mustHex("dd 00 01 00 00"), make([]byte, 65536)...)},
		{name: "map16", json: `{"a":0,"b":1,"c":2,"d":3,"e":4,"f":5,"g":6,"h":7,"i":8,"j":9,"k":10,"l":11,"m":12,"n":13,"o":14,"p":15}`,
			want: mustHex("de 00 10 a1 61 00 a1 62 01 a1 63 02 a1 64 03 a1 65 04 a1 66 05 a1 67 06 a1 68 07 a1 69 08 a1 6a 09 a1 6b 0a a1 6c 0b a1 6d 0c a1 6e 0d a1 6f 0e a1 70 0f")},
		{name: "whitespace", json: " \t\r\n[ 1 ,\n2 ] \n", want: mustHex("92 01 02")},
		{name: "JS key order", json: `{"b":1,"10":2,"a":3,"2":4,"4294967295":5,"4294967294":6,"01":7}`,
			want: msgpack("87 a1", "=2", "04 a2", "=10", "02 aa", "=4294967294", "06 a1", "=b", "01 a1", "=a", "03 aa", "=4294967295", "05 a2", "=01", "07")},
		{name: "duplicate keys: first place, last value", json: `{"a":1,"b":2,"\u0061":3}`, want: msgpack("82 a1", "=a", "03 a1", "=b", "02")},
		{name: "many keys, one duplicate", json: manyKeys + `,"k0":17}`, want: manyKeysWant},
		{name: "__proto__ is a key", json: `{"__proto__":1}`, want: msgpack("81 a9", "=__proto__", "01")},
		{name: "depth 1000", json: deep(1000), want: append(bytes.Repeat([]byte{0x91}, 999), 0x90)},
		{name: "depth 1001", json: deep(1001), err: ErrDepth},
		{name: "object depth 1001", json: deepObj(1001), err: ErrDepth},
		// Placeholders.
		{name: "placeholder", json: `[{"_placeholder":true,"num":0}]`, atts: att, want: mustHex("91 c4 03 01 02 03")},
		{name: "placeholder keys reversed, extra member", json: `{"num":1,"x":[1],"_placeholder":true}`, atts: att, want: mustHex("c4 00")},
		{name: "placeholder escaped key", json: `{"\u005fplaceholder":true,"num":0}`, atts: att, want: mustHex("c4 03 01 02 03")},
		{name: "placeholder num 2.0e0", json: `{"_placeholder":true,"num":2.0e0}`, atts: att, want: append(mustHex("c5 01 2c"), att[2]...)},
		{name: "placeholder num -0", json: `{"_placeholder":true,"num":-0}`, atts: att, want: mustHex("c4 03 01 02 03")},
		{name: "bin32", json: `{"_placeholder":true,"num":3}`, atts: att, want: append(mustHex("c6 00 01 11 70"), att[3]...)},
		{name: "last _placeholder wins", json: `{"_placeholder":true,"num":0,"_placeholder":false}`, atts: att,
			want: msgpack("82 ac", "=_placeholder", "c2 a3", "=num", "00")},
		{name: "_placeholder not literal true", json: `{"_placeholder":1,"num":0}`, atts: att, want: msgpack("82 ac", "=_placeholder", "01 a3", "=num", "00")},
		{name: "no attachments: ordinary object", json: `{"_placeholder":true,"num":0}`, want: msgpack("82 ac", "=_placeholder", "c3 a3", "=num", "00")},
		{name: "invalid placeholder inside a placeholder", json: `{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":99}}`, atts: att, want: mustHex("c4 03 01 02 03")},
		{name: "invalid placeholder in a dropped duplicate", json: `{"a":{"_placeholder":true,"num":99},"a":1}`, atts: att, want: msgpack("81 a1", "=a", "01")},
		{name: "num out of range", json: `{"_placeholder":true,"num":4}`, atts: att, err: ErrPlaceholder},
		{name: "num fraction", json: `{"_placeholder":true,"num":0.5}`, atts: att, err: ErrPlaceholder},
		{name: "num negative", json: `{"_placeholder":true,"num":-1}`, atts: att, err: ErrPlaceholder},
		{name: "num string", json: `{"_placeholder":true,"num":"0"}`, atts: att, err: ErrPlaceholder},
		{name: "num missing", json: `{"_placeholder":true}`, atts: att, err: ErrPlaceholder},
		{name: "num duplicate, last invalid", json: `{"_placeholder":true,"num":0,"num":9}`, atts: att, err: ErrPlaceholder},
		{name: "invalid placeholder kept by a duplicate", json: `{"a":1,"a":{"_placeholder":true,"num":99}}`, atts: att, err: ErrPlaceholder},
		// Invalid JSON.
		{name: "empty", json: "", err: ErrJSON},
		{name: "trailing data", json: "1 2", err: ErrJSON},
		{name: "leading zero", json: "01", err: ErrJSON},
		{name: "trailing comma", json: "[1,]", err: ErrJSON},
		{name: "raw control character", json: "\"\x01\"", err: ErrJSON},
		{name: "bad escape", json: `"\x"`, err: ErrJSON},
		{name: "short \\u", json: `"\u12"`, err: ErrJSON},
		{name: "unterminated string", json: `"abc`, err: ErrJSON},
		{name: "escaped quote at end", json: `"\"`, err: ErrJSON},
		{name: "NaN", json: "NaN", err: ErrJSON},
		{name: "single quotes", json: "'a'", err: ErrJSON},
		{name: "unquoted key", json: "{a:1}", err: ErrJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte{0xee}
			got, err := AppendJSON(prefix, []byte(tc.json), tc.atts)
			if tc.want == nil {
				if !errors.Is(err, tc.err) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if !bytes.Equal(got, prefix) {
					t.Fatalf("dst extended on error: % x", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[1:], tc.want) || got[0] != 0xee {
				t.Errorf("got  % .80x\nwant % .80x", got[1:], tc.want)
			}
		})
	}
}

// manyKeys is an object of 17 members k0..k16 without its closing brace,
// and manyKeysWant the map it becomes when k0 appears again with 17.
var manyKeys, manyKeysWant = func() (string, []byte) {
	var js strings.Builder
	w := msgpack("de 00 11 a2", "=k0", "11")
	js.WriteString(`{"k0":0`)
	for k := 1; k <= 16; k++ {
		js.WriteString(`,"k` + strconv.Itoa(k) + `":` + strconv.Itoa(k))
		w = AppendString(w, "k"+strconv.Itoa(k))
		w = AppendInt(w, int64(k))
	}
	return js.String(), w
}()

func TestAppendToJSON(t *testing.T) {
	bin70k := bytes.Repeat([]byte{9}, 70000)
	deep := func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n-1), 0x90) }
	tests := []struct {
		name     string
		mp       []byte
		want     string
		wantAtts [][]byte
		rest     int
		err      error
	}{
		{name: "nil", mp: mustHex("c0"), want: "null"},
		{name: "bools", mp: mustHex("92 c3 c2"), want: "[true,false]"},
		{name: "ints", mp: mustHex("97 7f e0 cc ff cd ff ff d0 80 d1 80 00 d2 80 00 00 00"), want: "[127,-32,255,65535,-128,-32768,-2147483648]"},
		{name: "uint64 exact", mp: mustHex("cf ff ff ff ff ff ff ff ff"), want: "18446744073709551615"},
		{name: "int64 exact", mp: mustHex("d3 80 00 00 00 00 00 00 01"), want: "-9223372036854775807"},
		{name: "float64 integral", mp: mustHex("cb 3f f0 00 00 00 00 00 00"), want: "1"},
		{name: "float64 -0", mp: mustHex("cb 80 00 00 00 00 00 00 00"), want: "0"},
		{name: "float64 1e21", mp: mustHex("cb 44 4b 1a e4 d6 e2 ef 50"), want: "1e+21"},
		{name: "float64 NaN", mp: mustHex("cb 7f f8 00 00 00 00 00 00"), want: "null"},
		{name: "float64 -Inf", mp: mustHex("cb ff f0 00 00 00 00 00 00"), want: "null"},
		{name: "float32 0.1", mp: mustHex("ca 3d cc cc cd"), want: "0.10000000149011612"},
		{name: "str escapes", mp: msgpack("a9", "=\"\\\b\f\n\r\t\x01\x7f"), want: `"\"\\\b\f\n\r\t\u0001` + "\x7f\""},
		{name: "str U+2028 raw", mp: mustHex("a3 e2 80 a8"), want: "\"\u2028\""},
		{name: "str invalid UTF-8", mp: mustHex("a5 e2 82 41 ed a0"), want: "\"\uFFFDA\uFFFD\uFFFD\""},
		{name: "str8/16/32", mp: mustHex("93 d9 01 61 da 00 01 62 db 00 00 00 01 63"), want: `["a","b","c"]`},
		{name: "bin", mp: mustHex("92 c4 02 01 02 c6 00 00 00 00"), want: `[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, wantAtts: [][]byte{{1, 2}, {}}},
		{name: "bin32", mp: append(mustHex("c6 00 01 11 70"), bin70k...), want: `{"_placeholder":true,"num":0}`, wantAtts: [][]byte{bin70k}},
		{name: "map keys", mp: mustHex("86 01 c0 ff c0 cb 3f f8 00 00 00 00 00 00 c0 c0 c0 c3 c0 cf ff ff ff ff ff ff ff ff c0"),
			want: `{"1":null,"-1":null,"1.5":null,"null":null,"true":null,"18446744073709552000":null}`},
		{name: "map key float NaN", mp: mustHex("81 cb 7f f8 00 00 00 00 00 00 c0"), want: `{"NaN":null}`},
		{name: "map key array", mp: mustHex("81 90 c0"), err: ErrMapKey},
		{name: "map key bin", mp: mustHex("81 c4 00 c0"), err: ErrMapKey},
		{name: "duplicate keys kept", mp: mustHex("82 a1 61 01 a1 61 02"), want: `{"a":1,"a":2}`},
		{name: "__proto__ dropped with its binaries", mp: msgpack("83 a1", "=a", "c4 01 01 a9", "=__proto__", "91 c4 01 02 a1", "=b", "c4 01 03"),
			want: `{"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}}`, wantAtts: [][]byte{{1}, {3}}},
		{name: "only __proto__", mp: msgpack("81 a9", "=__proto__", "01"), want: `{}`},
		{name: "timestamp32", mp: mustHex("d6 ff 6b 0f 21 6e"), want: `"2026-12-01T19:35:10.000Z"`},
		{name: "timestamp64", mp: mustHex("d7 ff 45 61 3b 00 6b 0f 21 6e"), want: `"2026-12-01T19:35:10.291Z"`},
		{name: "timestamp96 negative", mp: mustHex("c7 0c ff 00 00 00 00 ff ff ff ff ff ff ff ff"), want: `"1969-12-31T23:59:59.000Z"`},
		{name: "timestamp96 year -1", mp: mustHex("c7 0c ff 00 00 00 00 ff ff ff f1 86 8a 32 80"), want: `"-000001-12-31T00:00:00.000Z"`},
		{name: "timestamp96 out of Date range", mp: mustHex("c7 0c ff 00 00 00 00 7f ff ff ff ff ff ff ff"), want: `null`},
		{name: "timestamp in ext8 of 8", mp: mustHex("c7 08 ff 00 00 00 00 00 00 00 01"), want: `"1970-01-01T00:00:01.000Z"`},
		{name: "timestamp bad length", mp: mustHex("d5 ff 00 00"), err: ErrTimestamp},
		{name: "notepack undefined in array", mp: mustHex("92 d4 00 00 01"), want: "[null,1]"},
		{name: "notepack undefined in map", mp: mustHex("82 a1 61 d4 00 00 a1 62 01"), want: `{"b":1}`},
		{name: "notepack undefined at top", mp: mustHex("d4 00 00"), want: "null"},
		{name: "notepack 2 Date", mp: mustHex("d7 00 00 00 01 a2 33 1a 96 d3"), want: `"2026-12-01T19:35:10.291Z"`},
		{name: "notepack ArrayBuffer", mp: mustHex("c7 02 00 05 06"), want: `{"_placeholder":true,"num":0}`, wantAtts: [][]byte{{5, 6}}},
		{name: "other ext", mp: mustHex("d5 05 01 02"), want: `[5,{"_placeholder":true,"num":0}]`, wantAtts: [][]byte{{1, 2}}},
		{name: "negative ext", mp: mustHex("c7 00 80"), want: `[-128,{"_placeholder":true,"num":0}]`, wantAtts: [][]byte{{}}},
		{name: "rest", mp: mustHex("01 02 03"), want: "1", rest: 2},
		{name: "depth 1000", mp: deep(1000), want: strings.Repeat("[", 1000) + strings.Repeat("]", 1000)},
		{name: "depth 1001", mp: deep(1001), err: ErrDepth},
		{name: "reserved c1", mp: mustHex("91 c1"), err: ErrReserved},
		{name: "empty", mp: nil, err: ErrShortBuffer},
		{name: "huge str length", mp: mustHex("db ff ff ff ff 61"), err: ErrShortBuffer},
		{name: "huge array count", mp: mustHex("dd ff ff ff ff c0 c0"), err: ErrShortBuffer},
		{name: "huge map count", mp: mustHex("df 00 00 00 02 c0 c0 c0"), err: ErrShortBuffer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("[")
			pre := [][]byte{{0xaa}}
			got, atts, rest, err := AppendToJSON(prefix, tc.mp, pre)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if string(got) != "[" || len(atts) != 1 || !bytes.Equal(rest, tc.mp) {
					t.Fatalf("on error: %q, %d attachments, rest %x", got, len(atts), rest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Placeholders count from the attachments passed in.
			want := strings.ReplaceAll(tc.want, `"num":1}`, `"num":2}`)
			want = strings.ReplaceAll(want, `"num":0}`, `"num":1}`)
			if string(got[1:]) != want {
				t.Errorf("got  %.200s\nwant %.200s", got[1:], want)
			}
			if len(rest) != tc.rest {
				t.Errorf("rest %d bytes, want %d", len(rest), tc.rest)
			}
			if len(atts) != 1+len(tc.wantAtts) {
				t.Fatalf("%d attachments, want %d", len(atts)-1, len(tc.wantAtts))
			}
			for i, a := range tc.wantAtts {
				if !bytes.Equal(atts[i+1], a) {
					t.Errorf("attachment %d = %x, want %x", i, atts[i+1], a)
				}
				if cap(atts[i+1]) != len(atts[i+1]) {
					t.Errorf("attachment %d capacity not clipped", i)
				}
			}
		})
	}
}

// TestAttachmentsAlias pins the documented ownership: attachments are views
// of the input.
func TestAttachmentsAlias(t *testing.T) {
	mp := mustHex("c4 02 01 02")
	_, atts, _, err := AppendToJSON(nil, mp, nil)
	if err != nil {
		t.Fatal(err)
	}
	mp[2] = 9
	if atts[0][0] != 9 {
		t.Fatal("attachment does not alias the input")
	}
}
