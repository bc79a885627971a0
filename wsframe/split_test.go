package wsframe

import (
	"fmt"
	"testing"

	"github.com/gobwas/ws"
)

// mixedStream uses every header form (7-bit, 16-bit and a non-minimal
// 64-bit length), control frames inside a fragmented message, UTF-8 split
// across fragments, and ends with a close: the frame boundaries a split can
// land on are all there.
func mixedStream() ([]byte, []event) {
	long := repeat("x", 300)
	in := streamOf(
		textF("42[\"chat\",\"hi\"]"),
		binF([]byte(long)),
		firstF(ws.OpText, "\xe2\x82"), pingF("p1"), contF("\xac and ", false), pongF(""), contF("\xf0\x9f\x98\x80", true),
		pingF(repeat("\xfe", 125)),
		firstF(ws.OpBinary, ""), contF("\x00\x01", true),
	)
	// A 64-bit length announcing 3 bytes: legal, if wasteful.
	in = append(in, 0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 3, 0x10, 0x20, 0x30, 0x40, 'a'^0x10, 'b'^0x20, 'c'^0x30)
	in = append(in, closeF(1001, "bye").bytes()...)
	want := []event{
		textE("42[\"chat\",\"hi\"]"),
		binE(long),
		pingE("p1"), pongE(""), textE("\u20ac and \U0001F600"),
		pingE(repeat("\xfe", 125)),
		binE("\x00\x01"),
		textE("abc"),
		closeE(1001, "bye"),
	}
	return in, want
}

// TestSplitEveryByte feeds every stream of the case tables, valid or not,
// cut in two at every byte position and also a byte at a time: the
// messages and the close code must be the same as when it arrives whole.
func TestSplitEveryByte(t *testing.T) {
	in, want := mixedStream()
	cases := []decodeCase{{name: "mixed stream", in: in, want: want}}
	for _, c := range autobahnCases() {
		if c.small() {
			cases = append(cases, c)
		}
	}
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.wantOutcome()
			if got := run(c.decoder(), c.in); !got.equal(want) {
				t.Fatalf("whole:\n got %v\nwant %v", got, want)
			}
			for i := 0; i <= len(c.in); i++ {
				if got := run(c.decoder(), c.in[:i], c.in[i:]); !got.equal(want) {
					t.Fatalf("split at %d:\n got %v\nwant %v", i, got, want)
				}
			}
			if got := run(c.decoder(), chop(c.in, 1)...); !got.equal(want) {
				t.Fatalf("byte at a time:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestSplitThreeWays cuts a short stream in three at every pair of
// positions, so a header split twice is covered too.
func TestSplitThreeWays(t *testing.T) {
	in := streamOf(
		textF("a"),
		binF([]byte(repeat("y", 126))), // the shortest 16-bit length
		firstF(ws.OpText, "\xe2\x82"), pingF("p"), contF("\xac", true),
	)
	in = append(in, 0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 'z')
	want := outcome{events: []event{textE("a"), binE(repeat("y", 126)), pingE("p"), textE("\u20ac"), binE("z")}}
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			if got := run(&Decoder{}, in[:i], in[i:j], in[j:]); !got.equal(want) {
				t.Fatalf("split at %d,%d:\n got %v\nwant %v", i, j, got, want)
			}
		}
	}
}

// TestSplitLargeChops is the same property for the big cases, in chop
// sizes that straddle the headers and the 256-byte prevalidation chunk.
func TestSplitLargeChops(t *testing.T) {
	for _, c := range autobahnCases() {
		if c.small() {
			continue
		}
		for _, size := range []int{1, 2, 7, 255, 256, 257, 4096} {
			if size == 1 && testing.Short() {
				continue
			}
			t.Run(fmt.Sprintf("%s/chop %d", c.name, size), func(t *testing.T) {
				want := c.wantOutcome()
				if got := run(c.decoder(), chop(c.in, size)...); !got.equal(want) {
					t.Fatalf("got %v\nwant %v", got, want)
				}
			})
		}
	}
}
