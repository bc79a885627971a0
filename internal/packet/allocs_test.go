//go:build !race

package packet

import "testing"

// TestAllocs pins the zero-allocation paths; the race detector changes
// allocation counts, hence the build tag.
func TestAllocs(t *testing.T) {
	custom := []byte(`2/admin,5["x",1]`)
	binary := []byte(`51-["x",{"_placeholder":true,"num":0}]`)
	bad := []byte(`2["connect"]`)
	escapedReserved := []byte(`2["\u0072\u0065\u006d\u006f\u0076\u0065\u004c\u0069\u0073\u0074\u0065\u006e\u0065\u0072"]`)
	p := Packet{Type: BinaryAck, Namespace: "/admin", ID: 42, Attachments: 2, Data: benchEvent[1:]}
	enc := make([]byte, 0, 512)
	split := make([][]byte, 0, 8)
	sub := make([]byte, 0, 512)
	atts := [][]byte{{1, 2, 3}}
	type plain struct {
		Room string `json:"room"`
		Seq  int    `json:"seq"`
	}
	structArgs := []any{plain{Room: "r1", Seq: 2}}
	mapArgs := []any{map[string]any{"room": "r1", "s": 1, "seq": 2, "t": int64(1700000000000000), "pad": "xxxxxxxxxxxxxxxx"}}
	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{name: "Decode event", fn: func() { _, _ = Decode(benchEvent, 10) }},
		{name: "Decode binary", fn: func() { _, _ = Decode(binary, 10) }},
		{name: "Decode error", fn: func() { _, _ = Decode(bad, 10) }},
		{name: "Decode escaped reserved", fn: func() { _, _ = Decode(escapedReserved, 10) }},
		{name: "Decode custom namespace", max: 1, fn: func() { _, _ = Decode(custom, 10) }},
		{name: "AppendEncode", fn: func() { enc = AppendEncode(enc[:0], &p) }},
		{name: "AppendSplitArgs", fn: func() { split, _ = AppendSplitArgs(split[:0], benchEvent[1:]) }},
		{name: "ValidatePlaceholders", fn: func() { _ = ValidatePlaceholders(binary[3:], 1) }},
		{name: "IsPlaceholder", fn: func() { _, _ = IsPlaceholder(binary[9 : len(binary)-1]) }},
		{name: "AppendSubstituteBase64", fn: func() { sub = AppendSubstituteBase64(sub[:0], binary[3:], atts) }},
		{name: "AppendArgs map", fn: func() { enc, _, _ = AppendArgs(enc[:0], "ev", mapArgs) }},
		// A struct that cannot hold []byte goes to encoding/json whole, after
		// one cached lookup of its type.
		{name: "AppendArgs plain struct", fn: func() { enc, _, _ = AppendArgs(enc[:0], "ev", structArgs) }},
		{name: "AppendArgs scalars", fn: func() { enc, _, _ = AppendArgs(enc[:0], "ev", []any{"s", 1, 2.5, true, nil}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tc.fn); got > tc.max {
				t.Fatalf("%v allocations per run, want <= %v", got, tc.max)
			}
		})
	}
}
