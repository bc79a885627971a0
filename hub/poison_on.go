//go:build siodebug

package hub

// debugPoison is set by the siodebug build tag; see Prepared.Release.
const debugPoison = true
