package msgpack

import "math"

// Reader takes msgpack values off the front of a byte slice, one item at a
// time, for code that knows the shape it expects (the adapters' [uid,
// packet, opts] arrays and {type, data, uid, nsp} maps). An array or map is
// read as its header, then its elements with further calls.
//
// A method that fails leaves the Reader where it was, so the caller can Peek
// and try another method. Slices and strings marked "aliases" point into
// the input and are valid as long as it is. The zero Reader reads nothing;
// a Reader is a plain value used by one goroutine at a time.
type Reader struct {
	b []byte
}

// NewReader returns a Reader over b. It does not copy b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Reset makes r read b from its start.
func (r *Reader) Reset(b []byte) { r.b = b }

// Len returns the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) }

// Rest returns the bytes not read yet. It aliases the input.
func (r *Reader) Rest() []byte { return r.b }

// Peek returns the type of the next value without consuming it. At the end
// of the input it returns ErrShortBuffer; for the byte 0xc1 it returns
// Invalid and ErrReserved. Peek does not check that the value is complete.
func (r *Reader) Peek() (Type, error) {
	if len(r.b) == 0 {
		return Invalid, ErrShortBuffer
	}
	h, err := readHead(r.b[:1:1])
	if err == ErrReserved {
		return Invalid, err
	}
	return h.typ, nil
}

// next reads the header of the next value and checks its type.
func (r *Reader) next(want Type) (head, error) {
	h, err := readHead(r.b)
	if err != nil {
		return h, err
	}
	if h.typ != want {
		return h, typeErr(want, h.typ)
	}
	return h, nil
}

// ReadArrayHeader reads an array header and returns its element count; the
// elements follow. A count larger than the bytes left is ErrShortBuffer.
func (r *Reader) ReadArrayHeader() (int, error) {
	h, err := r.next(Array)
	if err != nil {
		return 0, err
	}
	r.b = r.b[h.hdr:]
	return int(h.n), nil
}

// ReadMapHeader reads a map header and returns its pair count; 2n items
// follow, key first. A count larger than half the bytes left is
// ErrShortBuffer.
func (r *Reader) ReadMapHeader() (int, error) {
	h, err := r.next(Map)
	if err != nil {
		return 0, err
	}
	r.b = r.b[h.hdr:]
	return int(h.n), nil
}

// ReadStringBytes reads a string and returns its bytes. It aliases the
// input. The bytes are not checked or repaired: a JS peer always sends valid
// UTF-8, and AppendToJSON is the way to read user data.
func (r *Reader) ReadStringBytes() ([]byte, error) {
	h, err := r.next(String)
	if err != nil {
		return nil, err
	}
	s := h.body(r.b)
	r.b = r.b[h.size():]
	return s, nil
}

// ReadString is ReadStringBytes returning a copy as a string.
func (r *Reader) ReadString() (string, error) {
	s, err := r.ReadStringBytes()
	return string(s), err
}

// ReadBytes reads a binary value (bin8/16/32) and returns its bytes. It
// aliases the input.
func (r *Reader) ReadBytes() ([]byte, error) {
	h, err := r.next(Binary)
	if err != nil {
		return nil, err
	}
	s := h.body(r.b)
	r.b = r.b[h.size():]
	return s, nil
}

// ReadInt reads an integer of any width, or a float32/float64 holding an
// integral value in the int64 range: a JS number can travel as a double
// (@msgpack/msgpack writes integers beyond 2^53 that way). A uint64 above
// MaxInt64 or another float is ErrRange; the Reader does not advance then.
func (r *Reader) ReadInt() (int64, error) {
	h, err := readHead(r.b)
	if err != nil {
		return 0, err
	}
	if h.typ != Int && h.typ != Float {
		return 0, typeErr(Int, h.typ)
	}
	n := readNumber(r.b, h)
	switch n.kind {
	case numUint:
		return 0, ErrRange
	case numFloat:
		if n.f != math.Trunc(n.f) || n.f < -1<<63 || n.f >= 1<<63 {
			return 0, ErrRange // NaN and ±Inf too
		}
		n.i = int64(n.f)
	}
	r.b = r.b[h.hdr:]
	return n.i, nil
}

// ReadFloat reads any number (every int width, float32, float64) as the
// double a JS decoder makes of it; a uint64/int64 beyond 2^53 is rounded.
func (r *Reader) ReadFloat() (float64, error) {
	h, err := readHead(r.b)
	if err != nil {
		return 0, err
	}
	if h.typ != Int && h.typ != Float {
		return 0, typeErr(Float, h.typ)
	}
	f := readNumber(r.b, h).float()
	r.b = r.b[h.hdr:]
	return f, nil
}

// ReadBool reads true or false.
func (r *Reader) ReadBool() (bool, error) {
	h, err := r.next(Bool)
	if err != nil {
		return false, err
	}
	r.b = r.b[1:]
	return h.c == 0xc3, nil
}

// ReadNil reads a nil. Peek first when nil is one option among others.
func (r *Reader) ReadNil() error {
	if _, err := r.next(Nil); err != nil {
		return err
	}
	r.b = r.b[1:]
	return nil
}

// Skip consumes the next value, nested arrays and maps included. It checks
// the structure only (headers, lengths, 0xc1), not what JS decoders would
// refuse inside it (map key types, timestamp lengths); AppendToJSON does.
// It needs no depth limit: it keeps a count of pending items instead of
// recursing.
func (r *Reader) Skip() error {
	n, err := skip(r.b)
	if err != nil {
		return err
	}
	r.b = r.b[n:]
	return nil
}

// Raw consumes the next value like Skip and returns its encoded bytes. It
// aliases the input.
func (r *Reader) Raw() ([]byte, error) {
	n, err := skip(r.b)
	if err != nil {
		return nil, err
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, nil
}

// skip returns the size of the value at the front of b.
func skip(b []byte) (int, error) {
	off := 0
	// pending <= len(b)-off holds throughout, because readHead refuses
	// counts larger than the bytes left; so it cannot overflow.
	for pending := uint64(1); pending > 0; pending-- {
		h, err := readHead(b[off:])
		if err != nil {
			return 0, err
		}
		switch h.typ {
		case Array:
			pending += uint64(h.n)
			off += int(h.hdr)
		case Map:
			pending += 2 * uint64(h.n)
			off += int(h.hdr)
		default:
			off += h.size()
		}
		if pending-1 > uint64(len(b)-off) {
			return 0, ErrShortBuffer
		}
	}
	return off, nil
}
