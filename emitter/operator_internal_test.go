package emitter

import (
	"fmt"
	"slices"
	"testing"
)

// TestOperatorsAreImmutable: deriving operators from one never changes it
// or its siblings, rooms are de-duplicated in first-seen order (the Node
// emitter's Sets), and flags keep the order they were first set in.
func TestOperatorsAreImmutable(t *testing.T) {
	e := newEmitter(&conn{key: "k"}, "/")
	base := e.To("a", "b")
	x := base.To("c")
	y := base.To("d", "a").Except("z")
	z := y.Except("z", "w").Volatile()
	for _, tc := range []struct {
		name          string
		op            BroadcastOperator
		rooms, except []string
		volatile      bool
	}{
		{"base", base, []string{"a", "b"}, nil, false},
		{"x", x, []string{"a", "b", "c"}, nil, false},
		{"y", y, []string{"a", "b", "d"}, []string{"z"}, false},
		{"z", z, []string{"a", "b", "d"}, []string{"z", "w"}, true},
	} {
		if !slices.Equal(tc.op.rooms, tc.rooms) || !slices.Equal(tc.op.except, tc.except) || tc.op.flags.volatile != tc.volatile {
			t.Errorf("%s: rooms %v except %v volatile %v; want %v %v %v", tc.name, tc.op.rooms, tc.op.except, tc.op.flags.volatile, tc.rooms, tc.except, tc.volatile)
		}
	}
	if got := e.To("r").channel(); got != "k#/#r#" {
		t.Errorf("one room: channel %q", got)
	}
	if got := e.To("r", "r").Except("s").channel(); got != "k#/#r#" {
		t.Errorf("one room named twice: channel %q", got)
	}
	if got := e.To("r", "s").channel(); got != "k#/#" {
		t.Errorf("two rooms: channel %q", got)
	}
	if got := e.Of("x").Except("s").channel(); got != "k#/x#" {
		t.Errorf("no room: channel %q", got)
	}

	// Many rooms take the map path of union.
	var many []string
	for i := range 100 {
		many = append(many, fmt.Sprint("r", i%40))
	}
	big := e.To("r5").To(many...)
	if len(big.rooms) != 40 || big.rooms[0] != "r5" || big.rooms[1] != "r0" || big.rooms[39] != "r39" {
		t.Errorf("union of 100 names over 40 rooms: %v", big.rooms)
	}

	c1 := e.Compress(false).Volatile().Compress(true)
	c2 := e.Volatile().Compress(true)
	if !c1.flags.compressFirst || c2.flags.compressFirst || !c1.flags.compress {
		t.Errorf("flag order: %+v %+v", c1.flags, c2.flags)
	}
}
