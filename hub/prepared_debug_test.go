//go:build siodebug

package hub

import (
	"testing"

	"github.com/valyala/bytebufferpool"
)

func TestPreparedPoisonedOnRelease(t *testing.T) {
	var pool bytebufferpool.Pool
	p := NewPrepared(&pool)
	p.B.WriteString("secret")
	view := p.Bytes()
	p.Release()
	for i, c := range view {
		if c != 0xDE {
			t.Fatalf("byte %d = %#x after release, want 0xDE", i, c)
		}
	}
}
