//go:build !siodebug

package wsframe

// poison is a no-op outside siodebug builds.
func poison([]byte) {}
