//go:build !race

package msgpack

import "testing"

// TestAllocs pins the zero-allocation paths; the race detector changes
// allocation counts, hence the build tag.
func TestAllocs(t *testing.T) {
	dst := make([]byte, 0, 4096)
	atts := make([][]byte, 0, 4)
	wide := []byte(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16}`)
	escaped := []byte(`["\u00e9\n\ud83d\ude00", "` + "\xff" + `"]`)
	badMP := mustHex("81 90 c0")
	tests := []struct {
		name string
		fn   func()
	}{
		{name: "AppendJSON event", fn: func() { dst, _ = AppendJSON(dst[:0], benchEventJSON, nil) }},
		{name: "AppendJSON binary", fn: func() { dst, _ = AppendJSON(dst[:0], benchBinaryJSON, benchAtt) }},
		{name: "AppendJSON 16 members", fn: func() { dst, _ = AppendJSON(dst[:0], wide, nil) }},
		{name: "AppendJSON escapes", fn: func() { dst, _ = AppendJSON(dst[:0], escaped, nil) }},
		{name: "AppendJSON error", fn: func() { dst, _ = AppendJSON(dst[:0], []byte(`[1,`), nil) }},
		{name: "AppendToJSON event", fn: func() { dst, atts, _, _ = AppendToJSON(dst[:0], benchEventMP, atts[:0]) }},
		{name: "AppendToJSON binary", fn: func() { dst, atts, _, _ = AppendToJSON(dst[:0], benchBinaryMP, atts[:0]) }},
		{name: "AppendToJSON capture", fn: func() { dst, atts, _, _ = AppendToJSON(dst[:0], captureAck, atts[:0]) }},
		{name: "AppendToJSON error", fn: func() { dst, atts, _, _ = AppendToJSON(dst[:0], badMP, atts[:0]) }},
		{name: "Reader", fn: func() {
			r := NewReader(captureBinary)
			_, _ = r.ReadArrayHeader()
			_, _ = r.ReadStringBytes()
			_, _ = r.ReadInt() // type mismatch: static error
			_ = r.Skip()
			_, _ = r.Raw()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tc.fn); got != 0 {
				t.Errorf("%v allocations per run, want 0", got)
			}
		})
	}
}
