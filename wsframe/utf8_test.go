package wsframe

import (
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// extendable is the reference for fail-fast: whether some continuation of
// p is valid UTF-8. A trailing incomplete sequence only ever needs
// continuation bytes, and 0x80, 0x90 and 0xA0 hit every second-byte range
// of Unicode table 3-7, so trying those is enough.
func extendable(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	cands := []byte{0x80, 0x90, 0xA0}
	var try func(q []byte, left int) bool
	try = func(q []byte, left int) bool {
		if utf8.Valid(q) {
			return true
		}
		if left == 0 {
			return false
		}
		for _, c := range cands {
			if try(append(q[:len(q):len(q)], c), left-1) {
				return true
			}
		}
		return false
	}
	return try(p, 3)
}

// firstBad returns the length of the shortest prefix of s that no
// continuation can make valid, or -1 if there is none.
func firstBad(s []byte) int {
	for k := 1; k <= len(s); k++ {
		if !extendable(s[:k]) {
			return k
		}
	}
	return -1
}

// TestUTF8StateExhaustive compares the chunked validator with utf8.Valid
// and the fail-fast reference on every sequence of up to four bytes drawn
// from the values at the edges of the UTF-8 ranges, chunked at every
// position.
func TestUTF8StateExhaustive(t *testing.T) {
	alphabet := []byte{0x00, 'a', 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
		0xE0, 0xE1, 0xED, 0xEE, 0xF0, 0xF1, 0xF4, 0xF5, 0xF8, 0xFF}
	seq := make([]byte, 0, 4)
	var walk func()
	checked := 0
	walk = func() {
		wantValid := utf8.Valid(seq)
		wantAlive := extendable(seq)
		for cut := 0; cut <= len(seq); cut++ {
			st, ok := utf8State{}.validate(seq[:cut])
			if ok {
				st, ok = st.validate(seq[cut:])
			}
			if ok != wantAlive {
				t.Fatalf("% x cut at %d: alive=%v, want %v", seq, cut, ok, wantAlive)
			}
			if ok && st.boundary() != wantValid {
				t.Fatalf("% x cut at %d: complete=%v, want valid=%v", seq, cut, st.boundary(), wantValid)
			}
		}
		checked++
		if len(seq) == cap(seq) {
			return
		}
		for _, c := range alphabet {
			seq = append(seq, c)
			walk()
			seq = seq[:len(seq)-1]
		}
	}
	walk()
	if checked < 250000 {
		t.Fatalf("only %d sequences checked", checked)
	}
}

// utf8Cases are Autobahn 6.5-6.23: valid samples, boundary code points,
// malformed and overlong sequences, surrogates and noncharacters.
var utf8Cases = []struct {
	name  string
	s     string
	valid bool
}{
	{"6.5.1 kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", true},
	{"6.5.2 mixed", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!", true},
	{"6.5.3 4-byte", "\xf0\x9f\x98\x80\xf0\x9f\x98\x81", true},
	{"6.6.x kosme prefix cut in a code point", "\xce\xba\xe1", false},
	{"6.6.x kosme prefix cut after lead", "\xce", false},
	{"6.7.1 U+0000", "\x00", true},
	{"6.7.2 U+0080", "\xc2\x80", true},
	{"6.7.3 U+0800", "\xe0\xa0\x80", true},
	{"6.7.4 U+10000", "\xf0\x90\x80\x80", true},
	{"6.8.1 5-byte U+200000", "\xf8\x88\x80\x80\x80", false},
	{"6.8.2 6-byte U+4000000", "\xfc\x84\x80\x80\x80\x80", false},
	{"6.9.1 U+007F", "\x7f", true},
	{"6.9.2 U+07FF", "\xdf\xbf", true},
	{"6.9.3 U+FFFF", "\xef\xbf\xbf", true},
	{"6.9.4 U+1FFFFF", "\xf7\xbf\xbf\xbf", false},
	{"6.10.1 5-byte U+3FFFFFF", "\xfb\xbf\xbf\xbf\xbf", false},
	{"6.10.2 6-byte U+7FFFFFFF", "\xfd\xbf\xbf\xbf\xbf\xbf", false},
	{"6.10.3 U+110000", "\xf4\x90\x80\x80", false},
	{"6.11.1 U+D7FF", "\xed\x9f\xbf", true},
	{"6.11.2 U+E000", "\xee\x80\x80", true},
	{"6.11.3 U+FFFD", "\xef\xbf\xbd", true},
	{"6.11.4 U+10FFFF", "\xf4\x8f\xbf\xbf", true},
	{"6.11.5 U+110000", "\xf4\x90\x80\x80", false},
	{"6.12.1 first continuation byte", "\x80", false},
	{"6.12.2 last continuation byte", "\xbf", false},
	{"6.12.3 two continuation bytes", "\x80\xbf", false},
	{"6.12.4 three continuation bytes", "\x80\xbf\x80", false},
	{"6.12.5 four continuation bytes", "\x80\xbf\x80\xbf", false},
	{"6.12.8 all continuation bytes", allBytes(0x80, 0xbf, ""), false},
	{"6.13.1 lonely 2-byte leads", allBytes(0xc0, 0xdf, " "), false},
	{"6.13.2 lonely 3-byte leads", allBytes(0xe0, 0xef, " "), false},
	{"6.13.3 lonely 4-byte leads", allBytes(0xf0, 0xf7, " "), false},
	{"6.13.4 lonely 5-byte leads", allBytes(0xf8, 0xfb, " "), false},
	{"6.13.5 lonely 6-byte leads", allBytes(0xfc, 0xfd, " "), false},
	{"6.14.1 2-byte missing last (U+0000)", "\xc0", false},
	{"6.14.2 3-byte missing last (U+0000)", "\xe0\x80", false},
	{"6.14.3 4-byte missing last (U+0000)", "\xf0\x80\x80", false},
	{"6.14.6 2-byte missing last (U+07FF)", "\xdf", false},
	{"6.14.7 3-byte missing last (U+FFFF)", "\xef\xbf", false},
	{"6.14.8 4-byte missing last (U+1FFFFF)", "\xf7\xbf\xbf", false},
	{"6.15.1 incomplete sequences concatenated", "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf", false},
	{"6.16.1 FE", "\xfe", false},
	{"6.16.2 FF", "\xff", false},
	{"6.16.3 FE FE FF FF", "\xfe\xfe\xff\xff", false},
	{"6.17.1 overlong / 2 bytes", "\xc0\xaf", false},
	{"6.17.2 overlong / 3 bytes", "\xe0\x80\xaf", false},
	{"6.17.3 overlong / 4 bytes", "\xf0\x80\x80\xaf", false},
	{"6.17.4 overlong / 5 bytes", "\xf8\x80\x80\x80\xaf", false},
	{"6.18.1 max overlong 2 bytes", "\xc1\xbf", false},
	{"6.18.2 max overlong 3 bytes", "\xe0\x9f\xbf", false},
	{"6.18.3 max overlong 4 bytes", "\xf0\x8f\xbf\xbf", false},
	{"6.19.1 overlong NUL 2 bytes", "\xc0\x80", false},
	{"6.19.2 overlong NUL 3 bytes", "\xe0\x80\x80", false},
	{"6.19.3 overlong NUL 4 bytes", "\xf0\x80\x80\x80", false},
	{"6.20.1 surrogate U+D800", "\xed\xa0\x80", false},
	{"6.20.2 surrogate U+DB7F", "\xed\xad\xbf", false},
	{"6.20.4 surrogate U+DBFF", "\xed\xaf\xbf", false},
	{"6.20.5 surrogate U+DC00", "\xed\xb0\x80", false},
	{"6.20.7 surrogate U+DFFF", "\xed\xbf\xbf", false},
	{"6.21.1 surrogate pair D800 DC00", "\xed\xa0\x80\xed\xb0\x80", false},
	{"6.21.8 surrogate pair DBFF DFFF", "\xed\xaf\xbf\xed\xbf\xbf", false},
	{"6.22.1 noncharacter U+FFFE", "\xef\xbf\xbe", true},
	{"6.22.2 noncharacter U+FFFF", "\xef\xbf\xbf", true},
	{"6.22.3 noncharacter U+1FFFE", "\xf0\x9f\xbf\xbe", true},
	{"6.22.34 noncharacter U+10FFFF", "\xf4\x8f\xbf\xbf", true},
	{"6.23.1 U+FFFD", "\xef\xbf\xbd", true},
	{"6.23.x invalid after a long valid run", "0123456789abcdef0123456789abcdef\xc3\x28", false},
	{"6.23.x invalid inside a long ASCII run", "0123456789abcdef\xe2\x28\xa1" + "0123456789abcdef0123456789abcdef", false},
}

func allBytes(from, to byte, sep string) string {
	var s []byte
	for c := int(from); c <= int(to); c++ {
		s = append(s, byte(c))
		s = append(s, sep...)
	}
	return string(s)
}

// TestAutobahnUTF8 runs each sample as one frame, as 1-byte fragments, and
// both fed a byte at a time, and checks that an invalid sample fails the
// connection as soon as the bytes that make it invalid have arrived (the
// "fail fast" of Autobahn 6.4.x), not at the end of the frame or message.
func TestAutobahnUTF8(t *testing.T) {
	for _, c := range utf8Cases {
		t.Run(c.name, func(t *testing.T) {
			if utf8.ValidString(c.s) != c.valid {
				t.Fatalf("table says valid=%v, utf8.ValidString disagrees", c.valid)
			}
			want := outcome{errCode: utf8Err}
			if c.valid {
				want = outcome{events: []event{textE(c.s)}}
			}
			bad := firstBad([]byte(c.s))

			single := textF(c.s).bytes()
			if got := run(&Decoder{}, single); !got.equal(want) {
				t.Fatalf("one frame: got %v, want %v", got, want)
			}
			got := run(&Decoder{}, chop(single, 1)...)
			if !got.equal(want) {
				t.Fatalf("one frame, chopped: got %v, want %v", got, want)
			}
			hsize := len(single) - len(c.s)
			if !c.valid {
				wantAt := len(single)
				if bad > 0 {
					wantAt = hsize + bad
				}
				if got.errAt != wantAt {
					t.Errorf("one frame, chopped: failed after %d bytes, want %d", got.errAt, wantAt)
				}
			}

			frags := fragmentsF(ws.OpText, c.s, 1)
			stream := streamOf(frags...)
			if got := run(&Decoder{}, stream); !got.equal(want) {
				t.Fatalf("1-byte fragments: got %v, want %v", got, want)
			}
			got = run(&Decoder{}, chop(stream, 1)...)
			if !got.equal(want) {
				t.Fatalf("1-byte fragments, chopped: got %v, want %v", got, want)
			}
			if !c.valid {
				// Each fragment is 7 bytes (2 header, 4 mask, 1 payload).
				wantAt := len(stream)
				if bad > 0 {
					wantAt = 7 * bad
				}
				if got.errAt != wantAt {
					t.Errorf("1-byte fragments, chopped: failed after %d bytes, want %d", got.errAt, wantAt)
				}
			}
		})
	}
}

// TestAutobahnFailFast is 6.4.1-6.4.4 with the exact points where the
// server must give up: after the fragment or chop that holds the bad byte,
// before the rest arrives.
func TestAutobahnFailFast(t *testing.T) {
	kosme := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
	frames := func(fs ...frameSpec) [][]byte {
		var cs [][]byte
		for _, f := range fs {
			cs = append(cs, f.bytes())
		}
		return cs
	}
	frame := textF(kosme + "\xf4\x90\x80\x80edited").bytes()
	hs := len(frame) - len(kosme) - 10
	cases := []struct {
		name   string
		chunks [][]byte
		failOn int // index of the chunk after which the error must come
	}{
		{"6.4.1 fragments: valid, invalid, valid", frames(firstF(ws.OpText, kosme), contF("\xf4\x90\x80\x80", false), contF("edited", true)), 1},
		{"6.4.2 fragments: lead, bad continuation, rest", frames(firstF(ws.OpText, kosme+"\xf4"), contF("\x90", false), contF("\x80\x80edited", true)), 1},
		{"6.4.3 one frame in chops: valid, invalid, valid", [][]byte{frame[:hs+len(kosme)], frame[hs+len(kosme) : hs+len(kosme)+4], frame[hs+len(kosme)+4:]}, 1},
		{"6.4.4 one frame in chops: lead, bad continuation, rest", [][]byte{frame[:hs+len(kosme)+1], frame[hs+len(kosme)+1 : hs+len(kosme)+2], frame[hs+len(kosme)+2:]}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := range c.chunks {
				got := run(&Decoder{}, c.chunks[:i+1]...)
				switch {
				case i < c.failOn && got.errCode != 0:
					t.Fatalf("failed after chunk %d, want after chunk %d", i, c.failOn)
				case i >= c.failOn && got.errCode != utf8Err:
					t.Fatalf("after chunk %d: got %v, want 1007", i, got)
				}
			}
		})
	}
}

func BenchmarkUTF8Validate(b *testing.B) {
	for _, n := range []int{133, 64 << 10} {
		ascii := []byte(repeat("a", n))
		mixed := []byte(repeat("h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\x98\x80", n/10+1))[:n]
		for _, in := range []struct {
			name string
			p    []byte
		}{{"ascii", ascii}, {"mixed", mixed}} {
			b.Run(fmt.Sprintf("%s/%d", in.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					if _, ok := (utf8State{}).validate(in.p); !ok {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}
