package eio

import (
	"bytes"
	"encoding/base64"
	"strings"
	"sync"
	"testing"

	"github.com/sioloop/sioloop/wsframe"
)

// decodeFrames splits server frames into their payloads and opcodes.
func decodeFrames(t *testing.T, b []byte) (payloads [][]byte, binary []bool) {
	t.Helper()
	d := wsframe.Decoder{Client: true}
	rest := append([]byte(nil), b...)
	for len(rest) > 0 {
		n, m, ok, err := d.Decode(rest)
		if err != nil || !ok {
			t.Fatalf("decode: %v %v", ok, err)
		}
		payloads = append(payloads, append([]byte(nil), m.Payload...))
		binary = append(binary, m.Kind == wsframe.KindBinary)
		rest = rest[n:]
	}
	return payloads, binary
}

// A message built in place is framed where it was built, for each size
// of WebSocket header (2, 4 and 10 bytes), with its attachments after it;
// the polling form is built only once a polling recipient asks for it,
// once however many ask at the same time.
func TestPrepareBuilt(t *testing.T) {
	for _, n := range []int{0, 124, 125, 0xFFFE, 0xFFFF, 1 << 16} {
		text := []byte(strings.Repeat("t", n))
		att := []byte{1, 2, 3}
		m := append(BeginBuild(make([]byte, 0, BuildCap(n, [][]byte{att}))), text...)
		p := PrepareBuilt(m, att)
		if p.text[0] != typeMessage || n > 0 && &p.text[1] != &m[BuildReserve] {
			t.Fatalf("len %d: the text was copied, not framed in place", n)
		}
		payloads, binary := decodeFrames(t, p.Frames())
		if len(payloads) != 2 || binary[0] || !binary[1] {
			t.Fatalf("len %d: frames %d %v", n, len(payloads), binary)
		}
		if !bytes.Equal(payloads[0], append([]byte{typeMessage}, text...)) || !bytes.Equal(payloads[1], att) {
			t.Fatalf("len %d: payloads differ", n)
		}
		if q := Prepare(text, att); !bytes.Equal(q.Frames(), p.Frames()) {
			t.Fatalf("len %d: Prepare and PrepareBuilt differ", n)
		}
		if p.poll != nil {
			t.Fatal("polling form built for WebSocket recipients")
		}
		var wg sync.WaitGroup
		polls := make([][]byte, 4)
		for i := range polls {
			wg.Add(1)
			go func() { defer wg.Done(); polls[i], _ = p.pollForm() }()
		}
		wg.Wait()
		want := string(typeMessage) + string(text) + "\x1eb" + base64.StdEncoding.EncodeToString(att)
		for _, poll := range polls {
			if string(poll) != want || &poll[0] != &polls[0][0] {
				t.Fatalf("len %d: polling form %.40q, want %.40q, built once", n, poll, want)
			}
		}
		if _, recs := p.pollForm(); len(recs) != 2 || recs[0].binary || !recs[1].binary || recs[0].end != 1+n {
			t.Fatalf("len %d: records %+v", n, recs)
		}
	}
}

// A binary-only message (a msgpack packet) has one binary frame and one
// base64 polling record.
func TestPrepareBinaryForms(t *testing.T) {
	b := []byte{0x93, 1, 2, 3}
	p := PrepareBinary(b)
	payloads, binary := decodeFrames(t, p.Frames())
	if len(payloads) != 1 || !binary[0] || !bytes.Equal(payloads[0], b) {
		t.Fatalf("frames %q %v", payloads, binary)
	}
	poll, recs := p.pollForm()
	if string(poll) != "b"+base64.StdEncoding.EncodeToString(b) || len(recs) != 1 || !recs[0].binary {
		t.Fatalf("polling form %q %+v", poll, recs)
	}
}
