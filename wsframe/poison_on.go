//go:build siodebug

package wsframe

// poison overwrites a buffer on its way back to the pool, so that a test
// still reading a Message view after its lifetime sees garbage instead of
// the old bytes (the siodebug build of make test; the idea is nbio's
// mempool/trace_debugger.go).
func poison(b []byte) {
	for i := range b {
		b[i] = 0xDB
	}
}
