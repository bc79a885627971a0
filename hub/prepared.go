package hub

import (
	"sync/atomic"

	"github.com/valyala/bytebufferpool"
)

// Prepared holds bytes encoded once and shared by many recipients, such as
// one broadcast frame written to every connection of a room.
//
// The creator fills B, then calls Retain once for every additional holder
// (typically once per event-loop task) before handing it out. Every holder,
// the creator included, calls Release exactly once when it no longer needs
// the bytes; the last Release returns B to the pool. After its own Release a
// holder must not touch the Prepared or any slice obtained from Bytes.
//
// Prepared lives in hub for now because fan-out is its only user; it has no
// dependency on the rest of the package and could move to an internal
// buffer package if eio or loop need it for non-broadcast writes.
type Prepared struct {
	// B is the buffer to fill before sharing. It is read-only once a second
	// holder exists and is nil after the last Release.
	B *bytebufferpool.ByteBuffer

	pool *bytebufferpool.Pool // immutable; nil means the package-level default pool
	refs atomic.Int32         // holders not yet released
}

// NewPrepared returns a Prepared with one reference (the caller's) and an
// empty buffer taken from pool, or from bytebufferpool's default pool if
// pool is nil.
func NewPrepared(pool *bytebufferpool.Pool) *Prepared {
	p := &Prepared{pool: pool}
	if pool != nil {
		p.B = pool.Get()
	} else {
		p.B = bytebufferpool.Get()
	}
	p.refs.Store(1)
	return p
}

// Bytes returns the prepared bytes. The slice aliases B and is valid until
// the caller's Release. Safe from any goroutine while the caller holds a
// reference.
func (p *Prepared) Bytes() []byte { return p.B.B }

// Retain adds a holder. Call it before handing p to another goroutine, while
// still holding a reference yourself. It panics if p was already fully
// released, which means a reference was used after its Release.
func (p *Prepared) Retain() {
	if p.refs.Add(1) <= 1 {
		panic("hub: Retain on a released Prepared")
	}
}

// Release drops the caller's reference. The last one returns the buffer to
// the pool; under the siodebug build tag the bytes are overwritten first so
// that a holder still reading them fails visibly in tests. It panics when
// called more often than NewPrepared plus Retain, since that means the
// buffer may already belong to someone else.
func (p *Prepared) Release() {
	n := p.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic("hub: Prepared released too many times")
	}
	b := p.B
	p.B = nil
	if debugPoison {
		for i := range b.B {
			b.B[i] = 0xDE
		}
	}
	if p.pool != nil {
		p.pool.Put(b)
	} else {
		bytebufferpool.Put(b)
	}
}
