//go:build !race

package clientdist

import "testing"

// TestAllocsResolve pins the per-request cost: choosing the reply for a
// client file allocates nothing, so serving it from an event loop is a write
// of shared bytes.
func TestAllocsResolve(t *testing.T) {
	b := fakeBundle(t, "")
	for _, tc := range []struct{ name, ae, inm string }{
		{name: "br", ae: "gzip, deflate, br, zstd"},
		{name: "304", ae: "gzip", inm: `W/"9.8.7"`},
		{name: "identity", ae: "identity;q=1, *;q=0"},
	} {
		n := testing.AllocsPerRun(100, func() {
			_ = b.resolve("socket.io.js", tc.ae, tc.inm)
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per resolve, want 0", tc.name, n)
		}
	}
}
