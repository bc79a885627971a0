//go:build !race

package wsframe

import (
	"runtime"
	"testing"

	"github.com/gobwas/ws"
)

// TestDeflateAllocs pins that compressing reuses pooled writers and
// inflating pooled readers (the race detector makes sync.Pool drop items,
// hence the build tag).
func TestDeflateAllocs(t *testing.T) {
	msg := testPayload(16<<10, 1)
	dst := make([]byte, 0, 64<<10)
	comp := gobwasDeflate(t, msg)
	out := make([]byte, 0, 64<<10)
	z := Inflater{NoContext: true}
	AppendDeflatedFrame(dst, ws.OpText, msg, 1)
	_, _ = z.Inflate(out, comp, 0)
	if n := testing.AllocsPerRun(50, func() { AppendDeflatedFrame(dst, ws.OpText, msg, 1) }); n > 0 {
		t.Errorf("AppendDeflatedFrame: %v allocs", n)
	}
	// compress/flate's reader allocates a few small Huffman link tables
	// per dynamic block; what must not happen is a reader (about 43 KiB)
	// or a window (32 KiB) per message.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 50
	for range runs {
		_, _ = z.Inflate(out, comp, 0)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 8<<10 {
		t.Errorf("Inflate allocates %d bytes a message", per)
	}
}
