package wsframe

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	"github.com/gobwas/ws"
)

func within(p, b []byte) bool {
	if len(p) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return at >= start && at+uintptr(len(p)) <= start+uintptr(len(b))
}

func TestDecodeSingleFrameAliasesInput(t *testing.T) {
	b := streamOf(textF("hello"), binF([]byte("rest")))
	var d Decoder
	n, m, ok, err := d.Decode(b)
	if err != nil || !ok || n != 2+4+5 || m.Kind != KindText || string(m.Payload) != "hello" {
		t.Fatalf("n=%d ok=%v err=%v m=%+v", n, ok, err, m)
	}
	if !within(m.Payload, b) {
		t.Fatal("payload does not alias b")
	}
	// The next frame is still masked: only the consumed frame is touched.
	if want := binF([]byte("rest")).bytes(); !bytes.Equal(b[n:], want) {
		t.Fatalf("bytes after the frame changed: % x, want % x", b[n:], want)
	}
	if d.scratch != nil {
		t.Fatal("scratch taken for a single-frame message")
	}
}

// TestDecodeLeavesPartialInputAlone: on "need more", b must be unchanged,
// because the caller may have handed over a copy (gnet's Peek across its
// ring buffer's wrap) and will pass the original bytes again.
func TestDecodeLeavesPartialInputAlone(t *testing.T) {
	in := streamOf(firstF(ws.OpText, "frag\xc3"), contF("\xa9 and more text", true))
	for i := 0; i < len(in); i++ {
		var d Decoder
		pending := slices.Clone(in[:i])
		for {
			before := slices.Clone(pending)
			n, _, _, err := d.Decode(pending)
			if err != nil {
				t.Fatalf("prefix %d: %v", i, err)
			}
			if n == 0 {
				if !bytes.Equal(before, pending) {
					t.Fatalf("prefix %d: Decode changed input it did not consume", i)
				}
				break
			}
			pending = pending[n:]
		}
	}
}

func TestDecodeFragmentedMessage(t *testing.T) {
	in := streamOf(firstF(ws.OpBinary, "ab"), pingF("x"), contF("cd", true), textF("next"))
	var d Decoder

	n, _, ok, err := d.Decode(in)
	if n == 0 || ok || err != nil {
		t.Fatalf("first fragment: n=%d ok=%v err=%v", n, ok, err)
	}
	in = in[n:]
	n, m, ok, err := d.Decode(in)
	if !ok || err != nil || m.Kind != KindPing || !within(m.Payload, in) {
		t.Fatalf("ping: %+v %v", m, err)
	}
	in = in[n:]
	n, m, ok, err = d.Decode(in)
	if !ok || err != nil || m.Kind != KindBinary || string(m.Payload) != "abcd" {
		t.Fatalf("message: %+v %v", m, err)
	}
	if within(m.Payload, in) || d.scratch == nil || !within(m.Payload, d.scratch.B) {
		t.Fatal("fragmented payload does not alias the scratch buffer")
	}
	in = in[n:]
	// The next call gives the scratch back to the pool.
	if _, m, ok, _ := d.Decode(in); !ok || string(m.Payload) != "next" {
		t.Fatalf("next message: %+v", m)
	}
	if d.scratch != nil {
		t.Fatal("scratch kept after the next Decode call")
	}
}

func TestDecodeNeedMore(t *testing.T) {
	in := binF(bytes.Repeat([]byte{7}, 300)).bytes()
	var d Decoder
	for i := range len(in) {
		if n, _, ok, err := d.Decode(in[:i]); n != 0 || ok || err != nil {
			t.Fatalf("prefix %d: n=%d ok=%v err=%v", i, n, ok, err)
		}
	}
	if n, _, ok, err := d.Decode(in); n != len(in) || !ok || err != nil {
		t.Fatalf("whole: n=%d ok=%v err=%v", n, ok, err)
	}
	if n, _, ok, err := d.Decode(nil); n != 0 || ok || err != nil {
		t.Fatalf("empty: n=%d ok=%v err=%v", n, ok, err)
	}
}

func TestDecodeErrorIsStickyUntilRelease(t *testing.T) {
	var d Decoder
	if got := run(&d, streamOf(firstF(ws.OpText, "abc")), frameSpec{op: ws.OpContinuation, data: []byte("x"), unmasked: true}.bytes()); got.errCode != protocolErr {
		t.Fatalf("got %v", got)
	}
	if d.scratch != nil {
		t.Fatal("scratch kept after an error")
	}
	_, _, _, err := d.Decode(textF("valid").bytes())
	var ce *CloseError
	if !errors.As(err, &ce) || ce != errUnmasked || ce.Error() != "wsframe: MASK must be set (close 1002)" {
		t.Fatalf("after error: %v", err)
	}
	d.Release()
	d.Release() // twice is fine
	if got := run(&d, textF("valid").bytes()); !got.equal(outcome{events: []event{textE("valid")}}) {
		t.Fatalf("after Release: %v", got)
	}
}

func TestReleaseMidMessage(t *testing.T) {
	d := Decoder{MaxFragments: 5}
	if got := run(&d, firstF(ws.OpText, "half").bytes()); got.errCode != 0 || d.scratch == nil {
		t.Fatalf("got %v", got)
	}
	d.Release()
	if d.scratch != nil || d.MaxFragments != 5 {
		t.Fatal("Release kept the scratch or dropped the limits")
	}
	// A continuation now has nothing to continue.
	if got := run(&d, contF("more", true).bytes()); got.errCode != protocolErr {
		t.Fatalf("got %v", got)
	}
}

func TestDecoderLimits(t *testing.T) {
	tests := []struct {
		name   string
		max    int64
		frags  int
		length uint64
		want   ws.StatusCode // 0: accepted (waits for the payload)
	}{
		{name: "zero is the default", max: 0, length: 1_000_000},
		{name: "default +1", max: 0, length: 1_000_001, want: tooBig},
		{name: "negative is the default", max: -5, length: 1_000_001, want: tooBig},
		{name: "huge limit does not overflow", max: math.MaxInt64, length: 1 << 62},
		{name: "2^63 refused even with a huge limit", max: math.MaxInt64, length: 1 << 63, want: tooBig},
		{name: "max uint64", max: math.MaxInt64, length: math.MaxUint64, want: tooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []byte{0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
			for i := range 8 {
				hdr[2+i] = byte(tt.length >> (56 - 8*i))
			}
			d := Decoder{MaxMessageSize: tt.max, MaxFragments: tt.frags}
			n, _, ok, err := d.Decode(hdr)
			var code ws.StatusCode
			if err != nil {
				code = err.(*CloseError).Code
			}
			if code != tt.want || n != 0 || ok {
				t.Fatalf("n=%d ok=%v err=%v, want code %d", n, ok, err, tt.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		kind Kind
		want string
	}{
		{kind: KindText, want: "text"},
		{kind: KindBinary, want: "binary"},
		{kind: KindPing, want: "ping"},
		{kind: KindPong, want: "pong"},
		{kind: KindClose, want: "close"},
		{kind: 0, want: "invalid"},
		{kind: 99, want: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+strconv.Itoa(int(tt.kind)), func(t *testing.T) {
			if got := tt.kind.String(); got != tt.want {
				t.Fatalf("Kind(%d).String() = %q", tt.kind, got)
			}
		})
	}
}

func TestValidCloseCode(t *testing.T) {
	for c := 0; c <= 65535; c++ {
		code := ws.StatusCode(c)
		want := (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)
		if got := ValidCloseCode(code); got != want {
			t.Fatalf("ValidCloseCode(%d) = %v", c, got)
		}
	}
}

// A connection may drop its Decoder whenever it is Between frames and
// decode on with a fresh one: for every way of splitting the input into
// two reads, that must give exactly what one Decoder gives.
func TestBetweenAllowsAFreshDecoder(t *testing.T) {
	streams := map[string][]byte{
		"fragments": streamOf(firstF(ws.OpText, "frag\xc3"), pingF("x"), contF("\xa9 more", true), textF("next")),
		"bad utf8":  streamOf(textF("ok"), firstF(ws.OpText, "a\xff"), contF("b", true)),
		"plain":     streamOf(textF("one"), binF([]byte("two")), textF("three")),
	}
	run := func(in []byte, cut int, swap bool) (out []string) {
		d := new(Decoder)
		var pending []byte
		for _, chunk := range [][]byte{in[:cut], in[cut:]} {
			pending = append(pending, chunk...)
			for {
				n, m, ok, err := d.Decode(pending)
				if err != nil {
					return append(out, "error "+err.Error())
				}
				if n == 0 {
					break
				}
				if ok {
					out = append(out, m.Kind.String()+" "+string(m.Payload))
				}
				pending = pending[n:]
			}
			if swap && d.Between() {
				d.Release()
				d = new(Decoder)
			}
		}
		return out
	}
	for name, in := range streams {
		for cut := 0; cut <= len(in); cut++ {
			want, got := run(slices.Clone(in), cut, false), run(slices.Clone(in), cut, true)
			if !slices.Equal(want, got) {
				t.Fatalf("%s cut at %d: with a fresh decoder %q, with one %q", name, cut, got, want)
			}
		}
	}
	var d Decoder
	if !d.Between() {
		t.Fatal("zero Decoder is not Between")
	}
	if _, _, _, err := d.Decode(firstF(ws.OpText, "a").bytes()); err != nil || d.Between() {
		t.Fatalf("mid-message Decoder reports Between (err %v)", err)
	}
}
