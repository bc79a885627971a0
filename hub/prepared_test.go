package hub

import (
	"sync"
	"testing"

	"github.com/valyala/bytebufferpool"
)

func TestPreparedRefcount(t *testing.T) {
	var pool bytebufferpool.Pool
	p := NewPrepared(&pool)
	p.B.WriteString("hello")
	const holders = 8
	for range holders {
		p.Retain()
	}
	var wg sync.WaitGroup
	for range holders {
		wg.Go(func() {
			if string(p.Bytes()) != "hello" {
				t.Error("holder saw wrong bytes")
			}
			p.Release()
		})
	}
	wg.Wait()
	if p.B == nil {
		t.Fatal("buffer returned while the creator still holds a reference")
	}
	p.Release()
	if p.B != nil {
		t.Fatal("last Release did not return the buffer")
	}
}

func TestPreparedDefaultPool(t *testing.T) {
	p := NewPrepared(nil)
	p.B.WriteString("x")
	if string(p.Bytes()) != "x" {
		t.Fatal("wrong bytes")
	}
	p.Release()
	if p.B != nil {
		t.Fatal("last Release did not return the buffer")
	}
}

func TestPreparedMisuse(t *testing.T) {
	tests := []struct {
		name string
		do   func(p *Prepared)
	}{
		{name: "double release", do: func(p *Prepared) { p.Release(); p.Release() }},
		{name: "retain after release", do: func(p *Prepared) { p.Release(); p.Retain() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pool bytebufferpool.Pool
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.do(NewPrepared(&pool))
		})
	}
}
