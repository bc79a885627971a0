//go:build !race

package clientdist

import (
	"testing"
	"testing/fstest"
)

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

// TestAllocsResolveLoaded: the same holds for a bundle read by Load.
func TestAllocsResolveLoaded(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, n := range fileNames {
		fsys[n] = &fstest.MapFile{Data: []byte("x " + n)}
	}
	b, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	etag := b.resolve("socket.io.js", "", "").ETag
	for _, tc := range []struct{ ae, inm string }{{ae: "gzip"}, {inm: etag}, {ae: "br"}} {
		if n := testing.AllocsPerRun(100, func() { _ = b.resolve("socket.io.js", tc.ae, tc.inm) }); n != 0 {
			t.Errorf("%+v: %v allocations per resolve, want 0", tc, n)
		}
	}
	if r := b.resolve("socket.io.js.map", "", ""); r.Status != 200 {
		t.Fatal(r.Status)
	}
}
