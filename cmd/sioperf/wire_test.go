package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/gobwas/ws"
)

// wsHeaderBytes encodes a frame with gobwas/ws, independently of appendFrame.
func wsFrameBytes(t testing.TB, op ws.OpCode, fin bool, masked bool, mask [4]byte, payload []byte) []byte {
	var b bytes.Buffer
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(payload)), Masked: masked, Mask: mask}
	if err := ws.WriteHeader(&b, h); err != nil {
		t.Fatal(err)
	}
	p := append([]byte(nil), payload...)
	if masked {
		ws.Cipher(p, mask, 0)
	}
	b.Write(p)
	return b.Bytes()
}

var framePayloads = [][]byte{
	nil,
	[]byte("2"),
	[]byte(`42["msg",{"room":"r1","s":3,"seq":7,"t":1764096000000000,"pad":"xxxx"}]`),
	bytes.Repeat([]byte("a"), 125),
	bytes.Repeat([]byte("b"), 126),
	bytes.Repeat([]byte("c"), 65535),
	bytes.Repeat([]byte("d"), 65536),
}

func TestParseFrameMatchesGobwas(t *testing.T) {
	for _, p := range framePayloads {
		for _, masked := range []bool{false, true} {
			name := strconv.Itoa(len(p)) + map[bool]string{false: "-unmasked", true: "-masked"}[masked]
			t.Run(name, func(t *testing.T) {
				b := wsFrameBytes(t, ws.OpText, true, masked, [4]byte{1, 2, 3, 4}, p)
				f, n, err := parseFrame(b, maxFrame)
				if err != nil || n != len(b) {
					t.Fatalf("n=%d err=%v, want %d", n, err, len(b))
				}
				if !f.fin || f.op != ws.OpText || !bytes.Equal(f.payload, p) {
					t.Fatalf("got fin=%v op=%v payload len %d", f.fin, f.op, len(f.payload))
				}
			})
		}
	}
}

// TestParseFrameEverySplit feeds every frame split at every byte: the prefix
// must ask for more (n == 0, no error), and the whole must parse.
func TestParseFrameEverySplit(t *testing.T) {
	for _, p := range framePayloads {
		if len(p) > 300 {
			p = p[:300] // every split of a 64 KiB frame is slow and adds nothing
		}
		for _, masked := range []bool{false, true} {
			b := wsFrameBytes(t, ws.OpBinary, true, masked, [4]byte{9, 8, 7, 6}, p)
			for i := 0; i < len(b); i++ {
				prefix := append([]byte(nil), b[:i]...)
				_, n, err := parseFrame(prefix, maxFrame)
				if n != 0 || err != nil {
					t.Fatalf("len %d split %d: n=%d err=%v", len(p), i, n, err)
				}
			}
			f, n, err := parseFrame(append([]byte(nil), b...), maxFrame)
			if err != nil || n != len(b) || !bytes.Equal(f.payload, p) {
				t.Fatalf("len %d whole: n=%d err=%v", len(p), n, err)
			}
		}
	}
}

func TestAppendFrameRoundTrip(t *testing.T) {
	for _, p := range framePayloads {
		for _, masked := range []bool{false, true} {
			b := appendFrame([]byte("junk"), ws.OpText, masked, p)[4:]
			// gobwas must read what we wrote.
			h, err := ws.ReadHeader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if h.Masked != masked || h.Mask != [4]byte{} || h.Length != int64(len(p)) || !h.Fin || h.OpCode != ws.OpText {
				t.Fatalf("header %+v", h)
			}
			f, n, err := parseFrame(b, maxFrame)
			if err != nil || n != len(b) || !bytes.Equal(f.payload, p) {
				t.Fatalf("round trip len %d: n=%d err=%v", len(p), n, err)
			}
		}
	}
}

func TestParseFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{name: "rsv1", in: []byte{0xc1, 0x00}, max: maxFrame, want: errFrameRSV},
		{name: "opcode3", in: []byte{0x83, 0x00}, max: maxFrame, want: errFrameOpcode},
		{name: "long ping", in: []byte{0x89, 126, 0, 200}, max: maxFrame, want: errFrameControl},
		{name: "fragmented ping", in: []byte{0x09, 0}, max: maxFrame, want: errFrameControl},
		{name: "too large", in: []byte{0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0}, max: maxFrame, want: errFrameTooLarge},
		{name: "over custom max", in: []byte{0x81, 10}, max: 5, want: errFrameTooLarge},
		{name: "huge 64-bit length", in: []byte{0x81, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, max: maxFrame, want: errFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := parseFrame(tc.in, tc.max)
			if err != tc.want || n != 0 {
				t.Fatalf("got n=%d err=%v, want %v", n, err, tc.want)
			}
		})
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, p := range framePayloads[:4] {
		f.Add(appendFrame(nil, ws.OpText, false, p), 3)
		f.Add(appendFrame(nil, ws.OpBinary, true, p), 1)
	}
	f.Add([]byte{0x81, 126, 0x01}, 2)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		f1, n, err := parseFrame(append([]byte(nil), b...), 1<<16)
		if err != nil {
			return
		}
		if n == 0 {
			return
		}
		if n > len(b) || len(f1.payload) > n {
			t.Fatalf("n=%d payload %d of %d bytes", n, len(f1.payload), len(b))
		}
		// Any strict prefix of a complete frame must ask for more.
		if split < 0 {
			split = -split
		}
		split %= n
		if _, m, err := parseFrame(append([]byte(nil), b[:split]...), 1<<16); m != 0 || err != nil {
			t.Fatalf("prefix %d of a %d-byte frame: n=%d err=%v", split, n, m, err)
		}
		// Re-encoding the payload and parsing again gives the same payload.
		again := appendFrame(nil, f1.op, true, f1.payload)
		f2, m, err := parseFrame(again, 1<<16)
		if err != nil || m != len(again) || !bytes.Equal(f1.payload, f2.payload) {
			t.Fatalf("re-encode mismatch: err=%v", err)
		}
	})
}

func TestIntField(t *testing.T) {
	tests := []struct {
		name string
		in   string
		key  []byte
		want int64
		ok   bool
	}{
		{name: "t", in: `42["msg",{"room":"r1","s":3,"seq":7,"t":1764096000000000,"pad":"x"}]`, key: keyT, want: 1764096000000000, ok: true},
		{name: "s not seq", in: `{"seq":7,"s":12}`, key: keyS, want: 12, ok: true},
		{name: "missing", in: `{"seq":7}`, key: keyS},
		{name: "not a number", in: `{"t":"x"}`, key: keyT},
		{name: "exponent stops", in: `{"t":1e9}`, key: keyT, want: 1, ok: true},
		{name: "overflow", in: `{"t":99999999999999999999}`, key: keyT},
		{name: "at end", in: `{"t":`, key: keyT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := intField([]byte(tc.in), tc.key)
			if v != tc.want || ok != tc.ok {
				t.Fatalf("got %d,%v want %d,%v", v, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzIntField(f *testing.F) {
	f.Add([]byte(`{"t":123,"s":4}`), int64(5))
	f.Fuzz(func(t *testing.T, b []byte, v int64) {
		intField(b, keyT)
		ackID(b)
		if v < 0 {
			v = -v
		}
		if v < 0 || v >= 1e18 {
			return
		}
		// Round trip: a value we format is the value we parse.
		s := append([]byte(`{"pad":"`), bytes.ReplaceAll(b, []byte(`"t":`), nil)...)
		s = append(s, `","t":`...)
		s = strconv.AppendInt(s, v, 10)
		s = append(s, '}')
		if bytes.Count(s, keyT) != 1 {
			return // the replace can create a new key out of its neighbours
		}
		got, ok := intField(s, keyT)
		if !ok || got != v {
			t.Fatalf("intField(%q) = %d,%v want %d", s, got, ok, v)
		}
	})
}

func TestMessageBuilders(t *testing.T) {
	padding := pad(64)
	// The contract's sizes with -pad 64 use two-digit step and sequence
	// numbers and a 16-digit microsecond time.
	b := appendBcast(nil, false, "r1", 12, 34, 1764096000000000, padding)
	if len(b) != 135 {
		t.Errorf("bcast payload is %d bytes, contract says 135: %s", len(b), b)
	}
	m := appendBcast(nil, true, "r1", 12, 34, 1764096000000000, padding)
	if len(m) != 133 || !bytes.HasPrefix(m, msgPrefix) {
		t.Errorf("msg payload is %d bytes, contract says 133: %s", len(m), m)
	}
	// 133 > 125, so the header carries a 16-bit length: 4 bytes.
	if n := len(appendFrame(nil, ws.OpText, false, m)); n != 137 {
		t.Errorf("server msg frame is %d bytes on the wire, contract says 137", n)
	}
	var v []json.RawMessage
	for _, p := range [][]byte{b[2:], m[2:], appendEcho(nil, false, 42, 5, padding)[4:], appendJoin(nil, 7, "r9")[3:]} {
		if err := json.Unmarshal(p, &v); err != nil {
			t.Errorf("%s is not JSON: %v", p, err)
		}
	}
	if e := appendEcho(nil, true, 0, 5, padding); e[0] != 'e' || json.Unmarshal(e[1:], new(map[string]any)) != nil {
		t.Errorf("raw echo %s", e)
	}
	if s, _ := intField(b, keyS); s != 12 {
		t.Errorf("s = %d", s)
	}
	if id, ok := ackID([]byte(`43123["ok"]`)); !ok || id != 123 {
		t.Errorf("ackID = %d,%v", id, ok)
	}
	for _, bad := range []string{"42[]", "43", "43[", "4"} {
		if _, ok := ackID([]byte(bad)); ok {
			t.Errorf("ackID(%q) accepted", bad)
		}
	}
}

func TestParseProcFiles(t *testing.T) {
	stat := []byte("4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 123 456 789\n")
	ns, err := parseStatCPU(stat)
	if err != nil || ns != (250+75)*10_000_000 {
		t.Fatalf("parseStatCPU = %d, %v", ns, err)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1 2")); err == nil {
		t.Fatal("short stat accepted")
	}
	status := []byte("Name:\tnode\nVmPeak:\t  9 kB\nVmRSS:\t   51234 kB\nThreads:\t7\n")
	rss, err := parseVmRSS(status)
	if err != nil || rss != 51234*1024 {
		t.Fatalf("parseVmRSS = %d, %v", rss, err)
	}
	if _, err := parseVmRSS([]byte("Name:\tx\n")); err == nil {
		t.Fatal("missing VmRSS accepted")
	}
	// The live files of this process parse.
	if _, err := procCPUNs(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if rss, err := procRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Fatalf("own RSS %d, %v", rss, err)
	}
}
