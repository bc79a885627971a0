package wsframe

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// decodeCase is one Autobahn TestSuite case (or a bad-frame case labelled
// D, with the close code ws answers) reduced to what the decoder decides:
// the client's bytes in, the messages and the close code out.
type decodeCase struct {
	name     string
	in       []byte
	chop     int // also feed the input in pieces of this size, as Autobahn's "chopped" cases do
	max      int64
	maxFrags int
	want     []event
	wantErr  ws.StatusCode
}

func (c decodeCase) decoder() *Decoder {
	return &Decoder{MaxMessageSize: c.max, MaxFragments: c.maxFrags}
}

func (c decodeCase) wantOutcome() outcome {
	return outcome{events: c.want, errCode: c.wantErr}
}

const (
	protocolErr = ws.StatusProtocolError
	utf8Err     = ws.StatusInvalidFramePayloadData
	tooBig      = ws.StatusMessageTooBig
	policy      = ws.StatusPolicyViolation
)

func repeat(s string, n int) string { return strings.Repeat(s, n) }

// autobahnCases lists groups 1-7 and 10, and the small cases of group 9.
// The 9.x cases of several megabytes are in TestAutobahnLimits.
func autobahnCases() []decodeCase {
	var cs []decodeCase
	add := func(c decodeCase) { cs = append(cs, c) }

	// 1.x Framing: text and binary payloads around the 7/16/64-bit length
	// boundaries.
	for i, n := range []int{0, 125, 126, 127, 128, 65535, 65536} {
		t := repeat("*", n)
		b := repeat("\xfe", n)
		add(decodeCase{name: fmt.Sprintf("1.1.%d text %d", i+1, n), in: textF(t).bytes(), want: []event{textE(t)}})
		add(decodeCase{name: fmt.Sprintf("1.2.%d binary %d", i+1, n), in: binF([]byte(b)).bytes(), want: []event{binE(b)}})
	}
	t64k := repeat("*", 65536)
	add(decodeCase{name: "1.1.8 text 65536 chopped 997", in: textF(t64k).bytes(), chop: 997, want: []event{textE(t64k)}})
	add(decodeCase{name: "1.2.8 binary 65536 chopped 997", in: binF([]byte(repeat("\xfe", 65536))).bytes(), chop: 997,
		want: []event{binE(repeat("\xfe", 65536))}})

	// 2.x Pings and pongs.
	add(decodeCase{name: "2.1 ping empty", in: pingF("").bytes(), want: []event{pingE("")}})
	add(decodeCase{name: "2.2 ping text", in: pingF("Hello, world!").bytes(), want: []event{pingE("Hello, world!")}})
	bp := "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
	add(decodeCase{name: "2.3 ping binary", in: pingF(bp).bytes(), want: []event{pingE(bp)}})
	p125 := repeat("\xfe", 125)
	add(decodeCase{name: "2.4 ping 125", in: pingF(p125).bytes(), want: []event{pingE(p125)}})
	add(decodeCase{name: "2.5 ping 126", in: pingF(repeat("\xfe", 126)).bytes(), wantErr: protocolErr})
	add(decodeCase{name: "2.6 ping 125 chopped 1", in: pingF(p125).bytes(), chop: 1, want: []event{pingE(p125)}})
	add(decodeCase{name: "2.7 unsolicited pong", in: pongF("").bytes(), want: []event{pongE("")}})
	add(decodeCase{name: "2.8 unsolicited pong payload", in: pongF("unsolicited pong payload").bytes(),
		want: []event{pongE("unsolicited pong payload")}})
	add(decodeCase{name: "2.9 pong then ping", in: streamOf(pongF("unsolicited pong payload"), pingF("ping payload")),
		want: []event{pongE("unsolicited pong payload"), pingE("ping payload")}})
	var tenPings []frameSpec
	var tenPingEvents []event
	for i := range 10 {
		s := fmt.Sprintf("payload-%d", i)
		tenPings = append(tenPings, pingF(s))
		tenPingEvents = append(tenPingEvents, pingE(s))
	}
	add(decodeCase{name: "2.10 ten pings", in: streamOf(tenPings...), want: tenPingEvents})
	add(decodeCase{name: "2.11 ten pings chopped", in: streamOf(tenPings...), chop: 1, want: tenPingEvents})

	// 3.x Reserved bits: without a negotiated extension any RSV bit is
	// 1002, after the frames before it are delivered.
	hello := "Hello, world!"
	add(decodeCase{name: "3.1 text RSV1", in: frameSpec{op: ws.OpText, data: []byte(hello), rsv: ws.Rsv(true, false, false)}.bytes(),
		wantErr: protocolErr})
	add(decodeCase{name: "3.2 text, text RSV2, ping", in: streamOf(textF(hello),
		frameSpec{op: ws.OpText, data: []byte(hello), rsv: ws.Rsv(false, true, false)}, pingF("")),
		want: []event{textE(hello)}, wantErr: protocolErr})
	add(decodeCase{name: "3.3 text, text RSV1|RSV2, ping", in: streamOf(textF(hello),
		frameSpec{op: ws.OpText, data: []byte(hello), rsv: ws.Rsv(true, true, false)}, pingF("")),
		want: []event{textE(hello)}, wantErr: protocolErr})
	add(decodeCase{name: "3.4 text, text RSV3, ping, octet-wise", chop: 1, in: streamOf(textF(hello),
		frameSpec{op: ws.OpText, data: []byte(hello), rsv: ws.Rsv(false, false, true)}, pingF("")),
		want: []event{textE(hello)}, wantErr: protocolErr})
	add(decodeCase{name: "3.5 binary RSV1|RSV3", in: frameSpec{op: ws.OpBinary, data: []byte("\x00\xff\xfe\xfd"), rsv: ws.Rsv(true, false, true)}.bytes(),
		wantErr: protocolErr})
	add(decodeCase{name: "3.6 ping RSV2|RSV3", in: frameSpec{op: ws.OpPing, data: []byte(hello), rsv: ws.Rsv(false, true, true)}.bytes(),
		wantErr: protocolErr})
	add(decodeCase{name: "3.7 close RSV1|RSV2|RSV3", in: frameSpec{op: ws.OpClose, rsv: ws.Rsv(true, true, true)}.bytes(),
		wantErr: protocolErr})

	// 4.x Opcodes: reserved non-control (3-7) and control (11-15) opcodes.
	for i, op := range []ws.OpCode{3, 4, 5, 6, 7} {
		add(decodeCase{name: fmt.Sprintf("4.1.%d reserved opcode %d", i+1, op),
			in:   streamOf(textF(hello), frameSpec{op: op, data: []byte("reserved " + fmt.Sprint(i))}, pingF("")),
			want: []event{textE(hello)}, wantErr: protocolErr})
	}
	for i, op := range []ws.OpCode{11, 12, 13, 14, 15} {
		add(decodeCase{name: fmt.Sprintf("4.2.%d reserved control opcode %d", i+1, op),
			in:   streamOf(textF(hello), frameSpec{op: op}, pingF("")),
			want: []event{textE(hello)}, wantErr: protocolErr})
	}
	add(decodeCase{name: "4.1.1 reserved opcode 3 alone", in: frameSpec{op: 3}.bytes(), wantErr: protocolErr})

	// 5.x Fragmentation.
	add(decodeCase{name: "5.1 ping fragmented", in: streamOf(frameSpec{op: ws.OpPing, data: []byte("fragment1"), more: true},
		contF("fragment2", true)), wantErr: protocolErr})
	add(decodeCase{name: "5.2 pong fragmented", in: streamOf(frameSpec{op: ws.OpPong, data: []byte("fragment1"), more: true},
		contF("fragment2", true)), wantErr: protocolErr})
	two := streamOf(firstF(ws.OpText, "fragment1"), contF("fragment2", true))
	add(decodeCase{name: "5.3 text in 2 fragments", in: two, want: []event{textE("fragment1fragment2")}})
	add(decodeCase{name: "5.5 text in 2 fragments chopped 1", in: two, chop: 1, want: []event{textE("fragment1fragment2")}})
	withPing := streamOf(firstF(ws.OpText, "fragment1"), pingF("ping payload"), contF("fragment2", true))
	add(decodeCase{name: "5.6 text in 2 fragments, ping between", in: withPing,
		want: []event{pingE("ping payload"), textE("fragment1fragment2")}})
	add(decodeCase{name: "5.8 text in 2 fragments, ping between, chopped 1", in: withPing, chop: 1,
		want: []event{pingE("ping payload"), textE("fragment1fragment2")}})
	for _, fin := range []bool{true, false} {
		add(decodeCase{name: fmt.Sprintf("5.9/5.12 continuation fin=%v with nothing to continue", fin),
			in:      streamOf(contF("non-continuation payload", fin), textF("Hello, world!")),
			wantErr: protocolErr})
		add(decodeCase{name: fmt.Sprintf("5.11/5.14 continuation fin=%v chopped 1", fin), chop: 1,
			in:      streamOf(contF("non-continuation payload", fin), textF("Hello, world!")),
			wantErr: protocolErr})
	}
	add(decodeCase{name: "5.15 message, then stray continuation", in: streamOf(firstF(ws.OpText, "fragment1"), contF("fragment2", true),
		contF("fragment3", false), contF("fragment4", true)),
		want: []event{textE("fragment1fragment2")}, wantErr: protocolErr})
	for _, fin := range []bool{false, true} {
		add(decodeCase{name: fmt.Sprintf("5.16/5.17 stray continuation fin=%v before a fragmented message", fin),
			in:      streamOf(contF("fragment1", fin), firstF(ws.OpText, "fragment2"), contF("fragment3", true)),
			wantErr: protocolErr})
	}
	add(decodeCase{name: "5.18 text FIN=0 then new text frame", in: streamOf(firstF(ws.OpText, "fragment1"), textF("fragment2")),
		wantErr: protocolErr})
	add(decodeCase{name: "5.18 binary FIN=0 then new binary frame", in: streamOf(firstF(ws.OpBinary, "fragment1"), binF([]byte("x"))),
		wantErr: protocolErr})
	five := streamOf(firstF(ws.OpText, "fragment1"), contF("fragment2", false), pingF("pongme 1!"),
		contF("fragment3", false), contF("fragment4", false), pingF("pongme 2!"), contF("fragment5", true))
	fiveWant := []event{pingE("pongme 1!"), pingE("pongme 2!"), textE("fragment1fragment2fragment3fragment4fragment5")}
	add(decodeCase{name: "5.19 five fragments, pings between", in: five, want: fiveWant})
	add(decodeCase{name: "5.20 five fragments, pings between, chopped 1", in: five, chop: 1, want: fiveWant})
	add(decodeCase{name: "5.x binary in fragments", in: streamOf(firstF(ws.OpBinary, "\x00\x01"), contF("", false), contF("\xff", true)),
		want: []event{binE("\x00\x01\xff")}})

	// 6.1-6.4 UTF-8 in fragments; the byte-sequence cases 6.5-6.23 are in
	// utf8_test.go.
	add(decodeCase{name: "6.1.1 empty text", in: textF("").bytes(), want: []event{textE("")}})
	add(decodeCase{name: "6.1.2 three empty fragments", in: streamOf(firstF(ws.OpText, ""), contF("", false), contF("", true)),
		want: []event{textE("")}})
	add(decodeCase{name: "6.1.3 empty, middle, empty", in: streamOf(firstF(ws.OpText, ""), contF("middle frame payload", false), contF("", true)),
		want: []event{textE("middle frame payload")}})
	valid := "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"
	add(decodeCase{name: "6.2.1 valid UTF-8 one frame", in: textF(valid).bytes(), want: []event{textE(valid)}})
	add(decodeCase{name: "6.2.2 valid UTF-8 fragmented on code points", in: streamOf(firstF(ws.OpText, "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6"),
		contF("\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!", true)), want: []event{textE(valid)}})
	add(decodeCase{name: "6.2.3 valid UTF-8 in 1-byte fragments", in: streamOf(fragmentsF(ws.OpText, valid, 1)...), want: []event{textE(valid)}})
	kosme := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
	add(decodeCase{name: "6.2.4 kosme in 1-byte fragments", in: streamOf(fragmentsF(ws.OpText, kosme, 1)...), want: []event{textE(kosme)}})
	invalid := kosme + "\xed\xa0\x80edited"
	add(decodeCase{name: "6.3.1 invalid UTF-8 one frame", in: textF(invalid).bytes(), wantErr: utf8Err})
	add(decodeCase{name: "6.3.2 invalid UTF-8 in 1-byte fragments", in: streamOf(fragmentsF(ws.OpText, invalid, 1)...), wantErr: utf8Err})
	add(decodeCase{name: "6.4.1 invalid middle fragment", in: streamOf(firstF(ws.OpText, kosme), contF("\xf4\x90\x80\x80", false),
		contF("edited", true)), wantErr: utf8Err})
	add(decodeCase{name: "6.4.2 invalid code point split over fragments", in: streamOf(firstF(ws.OpText, kosme+"\xf4"),
		contF("\x90", false), contF("\x80\x80edited", true)), wantErr: utf8Err})
	add(decodeCase{name: "6.x code point split over fragments", in: streamOf(firstF(ws.OpText, "a\xf0\x9f"), contF("\x98", false),
		contF("\x80b", true)), want: []event{textE("a\xf0\x9f\x98\x80b")}})
	add(decodeCase{name: "6.x text ending inside a code point", in: streamOf(firstF(ws.OpText, "a\xf0\x9f"), contF("\x98", true)),
		wantErr: utf8Err})
	add(decodeCase{name: "6.x binary needs no UTF-8", in: streamOf(firstF(ws.OpBinary, "\xff"), contF("\xc0", true)),
		want: []event{binE("\xff\xc0")}})

	// 7.x Close handling. The server stops reading at a close frame.
	add(decodeCase{name: "7.1.1 text then close", in: streamOf(textF("Hello World!"), closeF(1000, "")),
		want: []event{textE("Hello World!"), closeE(1000, "")}})
	add(decodeCase{name: "7.1.2 close twice", in: streamOf(closeF(1000, ""), closeF(1000, "")), want: []event{closeE(1000, "")}})
	add(decodeCase{name: "7.1.3 ping after close", in: streamOf(closeF(1000, ""), pingF("Hello World!")), want: []event{closeE(1000, "")}})
	add(decodeCase{name: "7.1.4 text after close", in: streamOf(closeF(1000, ""), textF("Hello World!")), want: []event{closeE(1000, "")}})
	add(decodeCase{name: "7.1.5 close inside a fragmented message", in: streamOf(firstF(ws.OpText, "fragment1"), closeF(1000, ""),
		contF("fragment2", true)), want: []event{closeE(1000, "")}})
	t256k := repeat("BAsd7&jh23", 26215) + "BAsd7&"
	add(decodeCase{name: "7.1.6 large text, close, ping", in: streamOf(textF(t256k), closeF(1000, ""), pingF("Hello World!")),
		want: []event{textE(t256k), closeE(1000, "")}})
	add(decodeCase{name: "7.3.1 close empty", in: closeF(0, "").bytes(), want: []event{closeE(ws.StatusNoStatusRcvd, "")}})
	add(decodeCase{name: "7.3.2 close 1-byte payload", in: frameSpec{op: ws.OpClose, data: []byte("a")}.bytes(), wantErr: protocolErr})
	add(decodeCase{name: "7.3.3 close 1000", in: closeF(1000, "").bytes(), want: []event{closeE(1000, "")}})
	add(decodeCase{name: "7.3.4 close 1000 with reason", in: closeF(1000, "Hello World!").bytes(), want: []event{closeE(1000, "Hello World!")}})
	r123 := repeat("*", 123)
	add(decodeCase{name: "7.3.5 close 123-byte reason", in: closeF(1000, r123).bytes(), want: []event{closeE(1000, r123)}})
	add(decodeCase{name: "7.3.6 close 124-byte reason", in: closeF(1000, repeat("*", 124)).bytes(), wantErr: protocolErr})
	add(decodeCase{name: "7.5.1 close reason invalid UTF-8", in: closeF(1000, invalid).bytes(), wantErr: utf8Err})
	for i, code := range []ws.StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014} {
		add(decodeCase{name: fmt.Sprintf("7.7.%d valid close code %d", i+1, code), in: closeF(code, "").bytes(),
			want: []event{closeE(code, "")}})
	}
	for i, code := range []ws.StatusCode{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015} {
		add(decodeCase{name: fmt.Sprintf("7.9.%d invalid close code %d", i+1, code), in: closeF(code, "").bytes(), wantErr: protocolErr})
		if code == 0 { // closeF(0) is an empty payload; send the 0 itself.
			cs[len(cs)-1].in = frameSpec{op: ws.OpClose, data: []byte{0, 0}}.bytes()
		}
	}
	for i, code := range []ws.StatusCode{5000, 65535} {
		add(decodeCase{name: fmt.Sprintf("7.13.%d close code %d", i+1, code), in: closeF(code, "").bytes(), wantErr: protocolErr})
	}

	// 9.7/9.8 (scaled down): many messages back to back.
	for _, size := range []int{0, 16, 64, 256, 1024} {
		var fs []frameSpec
		var want []event
		for i := range 100 {
			p := repeat(string(rune('a'+i%26)), size)
			if i%2 == 0 {
				fs, want = append(fs, textF(p)), append(want, textE(p))
			} else {
				fs, want = append(fs, binF([]byte(p))), append(want, binE(p))
			}
		}
		add(decodeCase{name: fmt.Sprintf("9.7/9.8 100 messages of %d", size), in: streamOf(fs...), want: want})
	}

	// 10.1.1 Misc: 64 KiB text auto-fragmented by the client into 1300-byte
	// frames.
	add(decodeCase{name: "10.1.1 text 65536 in 1300-byte fragments", in: streamOf(fragmentsF(ws.OpText, t64k, 1300)...),
		want: []event{textE(t64k)}})

	// Bad frames not covered above (D1 unmasked, D4 fragmented ping, D7 the
	// size limit, D8 and D9 absurd lengths, D10 the fragment count), with
	// the close codes ws answers.
	add(decodeCase{name: "D1 unmasked text", in: frameSpec{op: ws.OpText, data: []byte("hi"), unmasked: true}.bytes(), wantErr: protocolErr})
	add(decodeCase{name: "D1 unmasked ping after a message", in: streamOf(textF("a"), frameSpec{op: ws.OpPing, unmasked: true}),
		want: []event{textE("a")}, wantErr: protocolErr})
	add(decodeCase{name: "D4 fragmented ping inside a message", in: streamOf(firstF(ws.OpText, "a"),
		frameSpec{op: ws.OpPing, more: true}), wantErr: protocolErr})
	add(decodeCase{name: "D8 64-bit length with MSB set", in: []byte{0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
		wantErr: tooBig})
	add(decodeCase{name: "D8 length 2^63 exactly", in: []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}, wantErr: tooBig})
	add(decodeCase{name: "D9 1 GiB declared, header only", in: []byte{0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4, 5},
		wantErr: tooBig})
	add(decodeCase{name: "D7 one byte over the limit", max: 100, in: textF(repeat("x", 101)).bytes(), wantErr: tooBig})
	add(decodeCase{name: "D7 exactly the limit", max: 100, in: textF(repeat("x", 100)).bytes(), want: []event{textE(repeat("x", 100))}})
	add(decodeCase{name: "D7 fragments summing past the limit", max: 100,
		in: streamOf(fragmentsF(ws.OpBinary, repeat("x", 101), 30)...), wantErr: tooBig})
	add(decodeCase{name: "D7 fragments summing to the limit", max: 100,
		in: streamOf(fragmentsF(ws.OpBinary, repeat("x", 100), 30)...), want: []event{binE(repeat("x", 100))}})
	add(decodeCase{name: "D7 control frames do not count", max: 10,
		in:   streamOf(firstF(ws.OpText, "0123456789"), pingF(repeat("p", 100)), contF("", true)),
		want: []event{pingE(repeat("p", 100)), textE("0123456789")}})
	add(decodeCase{name: "D10 fragments at the limit", maxFrags: 8, in: streamOf(fragmentsF(ws.OpText, "12345678", 1)...),
		want: []event{textE("12345678")}})
	add(decodeCase{name: "D10 one fragment over the limit", maxFrags: 8, in: streamOf(fragmentsF(ws.OpText, "123456789", 1)...),
		wantErr: policy})
	add(decodeCase{name: "D10 empty fragments count", maxFrags: 3,
		in: streamOf(firstF(ws.OpText, ""), contF("", false), contF("", false), contF("", true)), wantErr: policy})
	add(decodeCase{name: "D10 limit is per message", maxFrags: 2,
		in:   streamOf(firstF(ws.OpText, "a"), contF("b", true), firstF(ws.OpText, "c"), contF("d", true)),
		want: []event{textE("ab"), textE("cd")}})
	add(decodeCase{name: "non-minimal length encodings are accepted", in: append(
		[]byte{0x81, 0xFE, 0, 2, 0, 0, 0, 0, 'h', 'i'},
		0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, '!'),
		want: []event{textE("hi"), textE("!")}})
	return cs
}

// small reports whether a case is cheap enough to split at every byte.
func (c decodeCase) small() bool { return len(c.in) <= 2048 }

func TestAutobahn(t *testing.T) {
	for _, c := range autobahnCases() {
		t.Run(c.name, func(t *testing.T) {
			want := c.wantOutcome()
			if got := run(c.decoder(), c.in); !got.equal(want) {
				t.Fatalf("whole input:\n got %v\nwant %v", got, want)
			}
			if c.chop > 0 {
				if got := run(c.decoder(), chop(c.in, c.chop)...); !got.equal(want) {
					t.Fatalf("chopped %d:\n got %v\nwant %v", c.chop, got, want)
				}
			}
		})
	}
}

// TestAutobahnLimits covers group 9 at full size: messages up to 16 MiB in
// one frame (9.1/9.2), 4 MiB in fragments of 64 B to 4 MiB (9.3/9.4) and
// 1 MiB fed in TCP chops of 64 B to 4 KiB (9.5/9.6), with limits raised as
// a deployment that wants them would; and what the default limits do with
// the same traffic.
func TestAutobahnLimits(t *testing.T) {
	const mib = 1 << 20
	big := func(n int) []byte { return bytes.Repeat([]byte("*"), n) }
	check := func(t *testing.T, d *Decoder, chunks [][]byte, want []byte, kind Kind) {
		t.Helper()
		got := run(d, chunks...)
		if got.errCode != 0 || len(got.events) != 1 {
			t.Fatalf("got %v, want one %v message", got, kind)
		}
		if e := got.events[0]; e.kind != kind || e.payload != string(want) {
			t.Fatalf("got %v, want %v of %d bytes", e, kind, len(want))
		}
	}
	sizes := []int{64 << 10, 256 << 10, 1 * mib, 4 * mib, 8 * mib, 16 * mib}
	if testing.Short() {
		sizes = sizes[:3]
	}
	for i, n := range sizes {
		p := big(n)
		t.Run(fmt.Sprintf("9.1.%d text %d", i+1, n), func(t *testing.T) {
			check(t, &Decoder{MaxMessageSize: 16 * mib}, [][]byte{textF(string(p)).bytes()}, p, KindText)
		})
		t.Run(fmt.Sprintf("9.2.%d binary %d", i+1, n), func(t *testing.T) {
			check(t, &Decoder{MaxMessageSize: 16 * mib}, [][]byte{binF(p).bytes()}, p, KindBinary)
		})
	}
	p4 := big(4 * mib)
	for i, frag := range []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 * mib, 4 * mib} {
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
			name := fmt.Sprintf("9.3.%d text 4MiB in %d-byte fragments", i+1, frag)
			kind := KindText
			if op == ws.OpBinary {
				name = fmt.Sprintf("9.4.%d binary 4MiB in %d-byte fragments", i+1, frag)
				kind = KindBinary
			}
			t.Run(name, func(t *testing.T) {
				in := streamOf(fragmentsF(op, string(p4), frag)...)
				// 65536 fragments of 64 bytes pass with only the size
				// limit raised: the fragment limit follows it.
				check(t, &Decoder{MaxMessageSize: 16 * mib}, [][]byte{in}, p4, kind)
			})
		}
	}
	for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
		t.Run(fmt.Sprintf("9.3/9.4 %v 4MiB in 1-byte fragments, limit 4MiB", kindOf(op)), func(t *testing.T) {
			// 4 Mi frames plus an empty final one, at exactly the size
			// limit: the most fragments a message within it can have.
			in := oneByteFragments(op, p4)
			check(t, &Decoder{MaxMessageSize: 4 * mib}, chop(in, 64<<10), p4, kindOf(op))
		})
	}
	p1 := big(1 * mib)
	for i, size := range []int{64, 128, 256, 512, 1024, 2048, 4096} {
		t.Run(fmt.Sprintf("9.5.%d text 1MiB chopped %d", i+1, size), func(t *testing.T) {
			check(t, &Decoder{MaxMessageSize: 16 * mib}, chop(textF(string(p1)).bytes(), size), p1, KindText)
		})
		t.Run(fmt.Sprintf("9.6.%d binary 1MiB chopped %d", i+1, size), func(t *testing.T) {
			check(t, &Decoder{MaxMessageSize: 16 * mib}, chop(binF(p1).bytes(), size), p1, KindBinary)
		})
	}

	t.Run("default limit refuses 9.1.3 from its header", func(t *testing.T) {
		in := textF(string(p1)).bytes()
		for hdr := 4; hdr <= 10; hdr++ { // 2 + 8 length bytes: 1 MiB needs the 64-bit form
			got := run(&Decoder{}, in[:hdr])
			if hdr < 10 && got.errCode != 0 {
				t.Fatalf("error %d after %d header bytes, before the length is known", got.errCode, hdr)
			}
			if hdr == 10 && got.errCode != tooBig {
				t.Fatalf("after the length: got %v, want 1009", got)
			}
		}
	})
	t.Run("default limits accept 900kB in 54-byte fragments", func(t *testing.T) {
		// 16667 fragments: past the ws npm package's fixed 16384.
		p := p1[:900_000]
		check(t, &Decoder{}, [][]byte{streamOf(fragmentsF(ws.OpText, string(p), 54)...)}, p, KindText)
	})
	t.Run("MaxFragments set refuses past it", func(t *testing.T) {
		in := streamOf(fragmentsF(ws.OpText, string(p1[:900_000]), 54)...)
		got := run(&Decoder{MaxFragments: 16384}, in)
		if got.errCode != policy {
			t.Fatalf("got %v, want 1008", got)
		}
	})
	t.Run("D10 empty continuations stop at the size limit plus one", func(t *testing.T) {
		// Empty fragments add nothing to the message size; the default
		// fragment limit still bounds them.
		const limit = 1000
		d := &Decoder{MaxMessageSize: limit}
		frame := contF("", false).bytes()
		if got := run(d, firstF(ws.OpText, "").bytes()); got.errCode != 0 {
			t.Fatal(got)
		}
		for i := 2; i <= limit+2; i++ {
			n, _, _, err := d.Decode(slices.Clone(frame))
			if i <= limit+1 && (err != nil || n != len(frame)) {
				t.Fatalf("fragment %d: n=%d err=%v", i, n, err)
			}
			if i == limit+2 && (err == nil || err.(*CloseError).Code != policy) {
				t.Fatalf("fragment %d: err=%v, want 1008", i, err)
			}
		}
		if d.scratch != nil {
			t.Fatal("scratch kept after the error")
		}
	})
}

// oneByteFragments encodes p as a message of op in 1-byte masked
// fragments and an empty final one, without building a frameSpec per
// byte.
func oneByteFragments(op ws.OpCode, p []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out := make([]byte, 0, 7*len(p)+6)
	for i, c := range p {
		b0 := byte(ws.OpContinuation)
		if i == 0 {
			b0 = byte(op)
		}
		out = append(out, b0, 0x80|1, key[0], key[1], key[2], key[3], c^key[0])
	}
	return append(out, 0x80, 0x80, key[0], key[1], key[2], key[3])
}

// TestAutobahnFrameWise covers 5.4 and 5.7, the frame-wise variants of 5.3
// and 5.6: each frame arrives in its own read.
func TestAutobahnFrameWise(t *testing.T) {
	tests := []struct {
		name   string
		frames []frameSpec
		want   []event
	}{
		{name: "5.4 text in 2 fragments, frame-wise", frames: []frameSpec{firstF(ws.OpText, "fragment1"), contF("fragment2", true)},
			want: []event{textE("fragment1fragment2")}},
		{name: "5.7 text in 2 fragments, ping between, frame-wise",
			frames: []frameSpec{firstF(ws.OpText, "fragment1"), pingF("ping payload"), contF("fragment2", true)},
			want:   []event{pingE("ping payload"), textE("fragment1fragment2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chunks [][]byte
			for _, f := range tt.frames {
				chunks = append(chunks, f.bytes())
			}
			if got, want := run(&Decoder{}, chunks...), (outcome{events: tt.want}); !got.equal(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}
