//go:build siodebug

package wsframe

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// TestPoisonReleasedScratch: in siodebug builds a fragmented message's view
// turns to garbage once its lifetime ends, so code that keeps it too long
// fails its tests instead of reading whatever the pool hands out next.
func TestPoisonReleasedScratch(t *testing.T) {
	in := streamOf(firstF(ws.OpText, "hello "), contF("world", true))
	var d Decoder
	n1, _, _, _ := d.Decode(in)
	_, m, ok, err := d.Decode(in[n1:])
	if !ok || err != nil || string(m.Payload) != "hello world" {
		t.Fatalf("got %q %v", m.Payload, err)
	}
	kept := m.Payload
	d.Decode(nil) // the next call ends the view's lifetime
	if !bytes.Equal(kept, bytes.Repeat([]byte{0xDB}, len(kept))) {
		t.Fatalf("released scratch not poisoned: %q", kept)
	}
}
