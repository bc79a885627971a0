package packet

import (
	"bytes"
	"errors"
	"testing"
)

func mustDecode(t testing.TB, s string) Packet {
	t.Helper()
	p, err := Decode([]byte(s), 10)
	if err != nil {
		t.Fatalf("Decode(%q): %v", s, err)
	}
	return p
}

func TestReassemblerInOrder(t *testing.T) {
	var r Reassembler
	header := []byte(`52-["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},"Q8Jq4Ln"]`)
	p, err := Decode(header, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(p); err != nil {
		t.Fatal(err)
	}
	// The transport reuses its buffers: Start and Add must have copied.
	wantData := string(p.Data)
	for i := range header {
		header[i] = 'X'
	}
	if !r.Pending() {
		t.Fatal("not pending after Start")
	}
	buf := []byte{1, 2, 3}
	done, _, _, err := r.Add(buf)
	if err != nil || done {
		t.Fatalf("Add 1: done=%v err=%v", done, err)
	}
	buf[0], buf[1], buf[2] = 9, 9, 9
	buf = buf[:1]
	buf[0] = 4
	done, got, atts, err := r.Add(buf)
	if err != nil || !done {
		t.Fatalf("Add 2: done=%v err=%v", done, err)
	}
	buf[0] = 9
	if got.Type != BinaryEvent || got.Attachments != 2 || got.Namespace != "/" || string(got.Data) != wantData {
		t.Fatalf("packet = %s", dump(got))
	}
	if len(atts) != 2 || !bytes.Equal(atts[0], []byte{1, 2, 3}) || !bytes.Equal(atts[1], []byte{4}) {
		t.Fatalf("attachments = %v", atts)
	}
	if r.Pending() {
		t.Fatal("still pending after the last attachment")
	}
	// Ready for the next packet.
	if err := r.Start(mustDecode(t, `61-/admin,7[{"_placeholder":true,"num":0}]`)); err != nil {
		t.Fatal(err)
	}
	done, got, atts, err = r.Add(nil)
	if err != nil || !done || got.Type != BinaryAck || got.ID != 7 || got.Namespace != "/admin" || len(atts) != 1 || len(atts[0]) != 0 {
		t.Fatalf("second packet: done=%v p=%s atts=%v err=%v", done, dump(got), atts, err)
	}
}

func TestReassemblerErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func(r *Reassembler) error
		want error
	}{
		{name: "binary without header", want: ErrUnexpectedBinary, run: func(r *Reassembler) error {
			_, _, _, err := r.Add([]byte{1})
			return err
		}},
		{name: "start while pending", want: ErrPending, run: func(r *Reassembler) error {
			if err := r.Start(mustDecode(t, `51-["x",{"_placeholder":true,"num":0}]`)); err != nil {
				return err
			}
			return r.Start(mustDecode(t, `51-["y",{"_placeholder":true,"num":0}]`))
		}},
		{name: "not binary", want: ErrNotBinary, run: func(r *Reassembler) error {
			return r.Start(mustDecode(t, `2["x"]`))
		}},
		{name: "zero attachments", want: ErrNotBinary, run: func(r *Reassembler) error {
			return r.Start(Packet{Type: BinaryEvent, Data: []byte(`["x"]`)})
		}},
		{name: "placeholder out of range", want: ErrPlaceholder, run: func(r *Reassembler) error {
			return r.Start(mustDecode(t, `51-["x",{"_placeholder":true,"num":1}]`))
		}},
		{name: "placeholder proto", want: ErrPlaceholder, run: func(r *Reassembler) error {
			return r.Start(mustDecode(t, `51-["x",{"_placeholder":true,"num":"__proto__"}]`))
		}},
		{name: "too many bytes", want: ErrAttachmentSize, run: func(r *Reassembler) error {
			r.MaxAttachmentBytes = 10
			if err := r.Start(mustDecode(t, `52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)); err != nil {
				return err
			}
			if _, _, _, err := r.Add(make([]byte, 6)); err != nil {
				return err
			}
			_, _, _, err := r.Add(make([]byte, 5))
			return err
		}},
		{name: "default limit", want: ErrAttachmentSize, run: func(r *Reassembler) error {
			if err := r.Start(mustDecode(t, `51-["x",{"_placeholder":true,"num":0}]`)); err != nil {
				return err
			}
			_, _, _, err := r.Add(make([]byte, DefaultMaxAttachmentBytes+1))
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Reassembler
			err := tc.run(&r)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReassemblerLimitExact(t *testing.T) {
	r := Reassembler{MaxAttachmentBytes: 10}
	if err := r.Start(mustDecode(t, `52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Add(make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	done, _, atts, err := r.Add(make([]byte, 6))
	if err != nil || !done || len(atts) != 2 {
		t.Fatalf("exactly at the limit: done=%v err=%v", done, err)
	}
}

// TestReassemblerErrorResets: after a size error nothing is pending, so the
// caller's cleanup and a later binary message behave predictably.
func TestReassemblerErrorResets(t *testing.T) {
	r := Reassembler{MaxAttachmentBytes: 1}
	if err := r.Start(mustDecode(t, `51-["x",{"_placeholder":true,"num":0}]`)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Add([]byte{1, 2}); !errors.Is(err, ErrAttachmentSize) {
		t.Fatalf("err = %v", err)
	}
	if r.Pending() {
		t.Fatal("pending after error")
	}
	if _, _, _, err := r.Add([]byte{1}); !errors.Is(err, ErrUnexpectedBinary) {
		t.Fatalf("err = %v", err)
	}
}

func TestReassemblerStartErrorKeepsState(t *testing.T) {
	var r Reassembler
	if err := r.Start(mustDecode(t, `51-["x",{"_placeholder":true,"num":3}]`)); err == nil {
		t.Fatal("bad placeholder accepted")
	}
	if r.Pending() {
		t.Fatal("pending after a refused Start")
	}
}

// TestReassemblerTextWhilePending shows the caller-side check: a text packet
// while attachments are awaited is refused via Pending.
func TestReassemblerTextWhilePending(t *testing.T) {
	var r Reassembler
	if err := r.Start(mustDecode(t, `51-["x",{"_placeholder":true,"num":0}]`)); err != nil {
		t.Fatal(err)
	}
	if !r.Pending() {
		t.Fatal("Pending() = false while awaiting an attachment")
	}
	r.Reset()
	if r.Pending() {
		t.Fatal("Pending() after Reset")
	}
	if _, _, _, err := r.Add([]byte{1}); !errors.Is(err, ErrUnexpectedBinary) {
		t.Fatalf("Add after Reset: %v", err)
	}
}
