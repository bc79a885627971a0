package packet

import (
	"encoding"
	"encoding/json"
	"reflect"
)

// A value whose type can hold a byte slice is not walked here field by
// field: it is copied into a "shadow" value, of a type built once with
// reflect, that encoding/json then encodes. The shadow has the same shape
// (struct fields with their names, tags and embedding, pointers, slices,
// arrays, maps) but every byte slice in it is an *attRef, whose
// MarshalJSON writes a placeholder and appends the bytes to the packet's
// attachments. encoding/json calls MarshalJSON in output order, so the
// placeholders are numbered as they appear. Every struct rule (names,
// tags, promotion of embedded fields, conflicts, map key sorting and
// formatting, marshal methods of the types that are kept) is thus applied
// by encoding/json itself; shadow.go decides only which types to replace,
// and this file, for fields whose shadow would change the result of
// omitempty or omitzero, whether the field is omitted.

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	zeroerType        = reflect.TypeFor[interface{ IsZero() bool }]()
	anyType           = reflect.TypeFor[any]()
	attRefType        = reflect.TypeFor[*attRef]()
)

// collector gathers the attachments of one AppendArgs argument.
type collector struct {
	atts [][]byte
	buf  []byte // the placeholder being returned, reused
}

// attRef stands for a byte slice in a shadow value.
type attRef struct {
	b []byte
	c *collector
}

// MarshalJSON writes the placeholder for r and records r's bytes as the
// next attachment. The returned slice is reused by the next call, which
// is fine: encoding/json copies it at once.
func (r *attRef) MarshalJSON() ([]byte, error) {
	r.c.buf, r.c.atts = appendPlaceholder(r.c.buf[:0], r.b, r.c.atts)
	return r.c.buf, nil
}

// fill sets dst, a settable zero value of sh.typ, to the shadow of src.
// src has the addressability encoding/json would see, and keeps it in the
// shadow: a kept type with a pointer-receiver marshal method behaves the
// same in both.
func (sh *shadow) fill(dst, src reflect.Value, c *collector, depth int) error {
	if depth > maxEncodeDepth {
		return errEncodeDepth
	}
	switch sh.kind {
	case shadowBytes:
		if !src.IsNil() {
			dst.Set(reflect.ValueOf(&attRef{b: src.Bytes(), c: c}))
		}
	case shadowIface:
		if !src.IsNil() {
			e := src.Elem()
			return box(dst, e, shadowOf(e.Type()), c, depth+1)
		}
	case shadowDynamic:
		return box(dst, src, shadowOf(sh.orig), c, depth+1)
	case shadowAddr:
		if src.CanAddr() {
			return box(dst, src, nil, c, depth+1)
		}
		return box(dst, src, sh.elem, c, depth+1)
	case shadowPtr:
		if !src.IsNil() {
			p := reflect.New(sh.elem.typ)
			if err := sh.elem.fill(p.Elem(), src.Elem(), c, depth+1); err != nil {
				return err
			}
			dst.Set(p)
		}
	case shadowSlice:
		if !src.IsNil() {
			n := src.Len()
			s := reflect.MakeSlice(sh.typ, n, n)
			for i := range n {
				if err := sh.elem.fill(s.Index(i), src.Index(i), c, depth+1); err != nil {
					return err
				}
			}
			dst.Set(s)
		}
	case shadowArray:
		for i := range src.Len() {
			if err := sh.elem.fill(dst.Index(i), src.Index(i), c, depth+1); err != nil {
				return err
			}
		}
	case shadowMap:
		if !src.IsNil() {
			m := reflect.MakeMapWithSize(sh.typ, src.Len())
			e := reflect.New(sh.elem.typ).Elem()
			for it := src.MapRange(); it.Next(); {
				e.SetZero()
				if err := sh.elem.fill(e, it.Value(), c, depth+1); err != nil {
					return err
				}
				m.SetMapIndex(it.Key(), e)
			}
			dst.Set(m)
		}
	case shadowStruct:
		return sh.fillStruct(dst, src, c, depth)
	}
	return nil
}

func (sh *shadow) fillStruct(dst, src reflect.Value, c *collector, depth int) error {
	for _, f := range sh.fields {
		sv, dv := src.Field(f.src), dst.Field(f.dst)
		switch {
		case f.sh == nil:
			dv.Set(sv)
		case f.promoted && f.ptr:
			if sv.IsNil() {
				continue // encoding/json skips the fields of a nil embedded pointer
			}
			p := reflect.New(f.sh.typ)
			if err := f.sh.fill(p.Elem(), sv.Elem(), c, depth+1); err != nil {
				return err
			}
			dv.Set(p)
		case f.wrapped:
			if f.omitEmpty && isEmpty(sv) || f.omitZero && isZero(sv) {
				continue
			}
			if err := box(dv, sv, f.sh, c, depth+1); err != nil {
				return err
			}
		default:
			if err := f.sh.fill(dv, sv, c, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// box sets dst, an any, to the shadow of src under sh (src itself when sh
// is nil): to a pointer to it when src is addressable, so that
// encoding/json sees an addressable value as it would have in the
// original, else to the value.
func box(dst, src reflect.Value, sh *shadow, c *collector, depth int) error {
	t := src.Type()
	if sh != nil {
		t = sh.typ
	}
	p := reflect.New(t)
	if sh == nil {
		p.Elem().Set(src)
	} else if err := sh.fill(p.Elem(), src, c, depth); err != nil {
		return err
	}
	if src.CanAddr() {
		dst.Set(p)
	} else {
		dst.Set(p.Elem())
	}
	return nil
}

// isEmpty reports whether omitempty omits v, as encoding/json documents
// it: false, 0, a nil pointer or interface, and an array, slice, map or
// string of length zero; never a struct.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Struct:
		return false
	}
	return v.IsZero()
}

// isZero reports whether omitzero omits v, as encoding/json documents it:
// by an IsZero() bool method when the type has one (through the pointer
// too), else by reflect.Value.IsZero. A nil pointer or interface is zero
// without calling the method.
func isZero(v reflect.Value) bool {
	t := v.Type()
	switch {
	case t.Implements(zeroerType):
		if k := t.Kind(); (k == reflect.Pointer || k == reflect.Interface) && v.IsNil() {
			return true
		}
		if t.Kind() == reflect.Interface && v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	case t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(zeroerType):
		if !v.CanAddr() {
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

// appendShadow writes v, whose type has the shadow sh, through
// encoding/json with its byte slices as attachments appended to atts.
func appendShadow(dst []byte, v reflect.Value, sh *shadow, atts [][]byte, depth int) ([]byte, [][]byte, error) {
	c := &collector{atts: atts}
	s := reflect.New(sh.typ).Elem()
	if err := sh.fill(s, v, c, depth+1); err != nil {
		return dst, atts, err
	}
	out, err := appendJSON(dst, s.Interface())
	if err != nil {
		return dst, atts, err
	}
	return out, c.atts, nil
}
