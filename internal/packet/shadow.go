package packet

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Shadow types: which types hold a byte slice, and the type, built once
// per original type with reflect and cached, that a value of it is copied
// into before encoding/json writes it (walk.go fills it).

// marshals reports whether encoding/json encodes values of t by a method
// of t (not of *t).
func marshals(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType)
}

// addrMarshals reports whether *t has a marshal method that t lacks:
// encoding/json uses it where the value is addressable.
func addrMarshals(t reflect.Type) bool {
	return t.Kind() != reflect.Pointer && !marshals(t) && marshals(reflect.PointerTo(t))
}

// isByteSlice reports whether encoding/json writes t (without marshal
// methods) as a base64 string: a slice of a uint8 kind whose pointer has
// no marshal method.
func isByteSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !marshals(reflect.PointerTo(t.Elem()))
}

// fieldRole says what encoding/json does with a struct field.
type fieldRole int

const (
	fieldSkipped  fieldRole = iota // never written
	fieldPromoted                  // an embedded struct whose fields are written in place
	fieldValue                     // written under a name
)

// roleOf classifies sf; for fieldPromoted it returns the struct type and
// whether it is embedded through a pointer.
func roleOf(sf reflect.StructField) (role fieldRole, st reflect.Type, ptr bool) {
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return fieldSkipped, nil, false
	}
	if !sf.Anonymous {
		if !sf.IsExported() {
			return fieldSkipped, nil, false
		}
		return fieldValue, nil, false
	}
	st = sf.Type
	if st.Kind() == reflect.Pointer {
		st, ptr = st.Elem(), true
	}
	if st.Kind() != reflect.Struct {
		if !sf.IsExported() {
			return fieldSkipped, nil, false
		}
		return fieldValue, nil, false
	}
	name, _, _ := strings.Cut(tag, ",")
	if tagNameUsed(name) {
		return fieldValue, nil, false
	}
	return fieldPromoted, st, ptr
}

// tagNames caches tagNameUsed.
var tagNames sync.Map // string → bool

// tagNameUsed reports whether encoding/json names a field by the tag name
// s (it ignores empty and some invalid names). It asks encoding/json,
// once per name.
func tagNameUsed(s string) bool {
	if s == "" {
		return false
	}
	if v, ok := tagNames.Load(s); ok {
		return v.(bool)
	}
	t := reflect.StructOf([]reflect.StructField{{
		Name: "F", Type: reflect.TypeFor[int](), Tag: reflect.StructTag(`json:` + strconv.Quote(s)),
	}})
	out, err := json.Marshal(reflect.New(t).Elem().Interface())
	key, _ := json.Marshal(s)
	used := err == nil && string(out) == "{"+string(key)+":0}"
	tagNames.Store(s, used)
	return used
}

// omitOptions reports the omitempty and omitzero options of a json tag.
func omitOptions(tag string) (empty, zero bool) {
	_, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		empty = empty || o == "omitempty"
		zero = zero || o == "omitzero"
	}
	return empty, zero
}

// holdsBytes caches hasBytes.
var holdsBytes sync.Map // reflect.Type → bool

// hasBytes reports whether a value of type t can hold a byte slice that
// encoding/json reaches without passing through a marshal method of a
// non-pointer type (an interface can hold anything). Only such types are
// given a shadow; the others are encoded as they are.
func hasBytes(t reflect.Type) bool {
	if v, ok := holdsBytes.Load(t); ok {
		return v.(bool)
	}
	b := reaches(t, map[reflect.Type]bool{})
	holdsBytes.Store(t, b)
	return b
}

// reaches computes hasBytes; seen holds the types already visited, so that
// recursive types end.
func reaches(t reflect.Type, seen map[reflect.Type]bool) bool {
	if marshals(t) || seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Slice:
		return isByteSlice(t) || reaches(t.Elem(), seen)
	case reflect.Array, reflect.Pointer, reflect.Map:
		return reaches(t.Elem(), seen)
	case reflect.Struct:
		return structReaches(t, seen)
	}
	return false
}

func structReaches(t reflect.Type, seen map[reflect.Type]bool) bool {
	for i := range t.NumField() {
		sf := t.Field(i)
		switch role, st, _ := roleOf(sf); role {
		case fieldPromoted:
			// Promoted fields are written whatever methods st has.
			if !seen[st] {
				seen[st] = true
				if structReaches(st, seen) {
					return true
				}
			}
		case fieldValue:
			if reaches(sf.Type, seen) {
				return true
			}
		}
	}
	return false
}

type shadowKind uint8

const (
	shadowBytes   shadowKind = iota // *attRef
	shadowIface                     // any, holding the shadow of the dynamic value
	shadowDynamic                   // any, holding the shadow of orig, looked up at run time
	shadowAddr                      // any: orig itself where addressable, else the shadow of its content
	shadowPtr
	shadowSlice
	shadowArray
	shadowMap
	shadowStruct
)

// shadow describes the shadow of a type orig that has bytes.
type shadow struct {
	typ    reflect.Type
	orig   reflect.Type
	kind   shadowKind
	elem   *shadow // shadowPtr, shadowSlice, shadowArray, shadowMap; shadowAddr: the content
	fields []shadowField
}

// shadowField copies field src of the original struct to field dst of the
// shadow struct.
type shadowField struct {
	src, dst int
	sh       *shadow // nil: copied as it is
	promoted bool    // an embedded struct, its shadow embedded in its place
	ptr      bool    // promoted through a pointer
	// wrapped: the field is an any, nil when the field is omitted. An
	// attRef is never empty for omitempty, and a shadow struct has no
	// IsZero method and lacks the unexported fields, so the options are
	// applied to the original value here.
	wrapped             bool
	omitEmpty, omitZero bool
}

var (
	shadows       sync.Map // reflect.Type → *shadow, nil when the type is encoded as it is
	structShadows sync.Map // reflect.Type → *shadow of a struct type, by its fields only
)

// errNoShadow: the type holds a struct that cannot be given a shadow
// (one that embeds itself, or an unexported embedded struct with methods
// that matter to encoding/json); the innermost type holding it goes to
// encoding/json as it is.
var errNoShadow = errors.New("packet: no shadow")

// shadowOf returns the shadow of t, or nil when values of t go to
// encoding/json as they are: t cannot hold a byte slice, or its shadow
// cannot be built (errNoShadow, or a type reflect.StructOf refuses).
func shadowOf(t reflect.Type) *shadow {
	if v, ok := shadows.Load(t); ok {
		return v.(*shadow)
	}
	var sh *shadow
	if hasBytes(t) {
		sh = buildShadow(t)
	}
	v, _ := shadows.LoadOrStore(t, sh)
	return v.(*shadow)
}

func buildShadow(t reflect.Type) (sh *shadow) {
	defer func() {
		if recover() != nil {
			sh = nil
		}
	}()
	forced := map[reflect.Type]bool{}
	for {
		b := builder{building: map[reflect.Type]bool{}, structs: map[reflect.Type]bool{}, dynamic: forced}
		sh, err := b.shadow(t)
		var retry retryError
		if errors.As(err, &retry) {
			forced[retry.t] = true
			continue
		}
		if err != nil {
			return nil
		}
		return sh
	}
}

// retryError asks buildShadow to start again with t given a dynamic
// shadow: an embedded struct under construction was reached again through
// t, and only a dynamic t breaks that loop.
type retryError struct{ t reflect.Type }

func (e retryError) Error() string { return "packet: shadow of " + e.t.String() + " must be dynamic" }

// builder builds the shadows of one type and of the types inside it.
type builder struct {
	building map[reflect.Type]bool // shadows under construction
	structs  map[reflect.Type]bool // struct shadows under construction
	dynamic  map[reflect.Type]bool // types given a dynamic shadow
	stack    []frame
}

// frame is a shadow under construction: of a type in a value position,
// or of a struct by its fields.
type frame struct {
	t     reflect.Type
	value bool
}

// shadow returns the shadow of t (nil when t has no bytes). A type whose
// shadow is under construction (a recursive type) is given a dynamic
// shadow: an any, filled at run time with the finished shadow. A type
// holding an embedded struct that embeds itself has no shadow (nil).
func (b *builder) shadow(t reflect.Type) (*shadow, error) {
	if v, ok := shadows.Load(t); ok {
		return v.(*shadow), nil
	}
	if !hasBytes(t) {
		return nil, nil
	}
	if b.building[t] || b.structs[t] || b.dynamic[t] {
		return &shadow{typ: anyType, orig: t, kind: shadowDynamic}, nil
	}
	b.building[t] = true
	b.stack = append(b.stack, frame{t, true})
	defer func() {
		delete(b.building, t)
		b.stack = b.stack[:len(b.stack)-1]
	}()
	var sh *shadow
	var err error
	if addrMarshals(t) {
		var content *shadow
		if content, err = b.content(t); err == nil {
			sh = &shadow{typ: anyType, orig: t, kind: shadowAddr, elem: content}
		}
	} else {
		sh, err = b.content(t)
	}
	if err == errNoShadow {
		sh, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, _ := shadows.LoadOrStore(t, sh)
	return v.(*shadow), nil
}

// content builds the shadow of t by its kind, ignoring marshal methods
// of *t.
func (b *builder) content(t reflect.Type) (*shadow, error) {
	switch t.Kind() {
	case reflect.Interface:
		return &shadow{typ: anyType, orig: t, kind: shadowIface}, nil
	case reflect.Struct:
		return b.structShadow(t)
	}
	if isByteSlice(t) {
		return &shadow{typ: attRefType, orig: t, kind: shadowBytes}, nil
	}
	elem, err := b.shadow(t.Elem())
	if err != nil {
		return nil, err
	}
	if elem == nil {
		return nil, fmt.Errorf("packet: no shadow for the elements of %s", t)
	}
	sh := &shadow{orig: t, elem: elem}
	switch t.Kind() {
	case reflect.Pointer:
		sh.kind, sh.typ = shadowPtr, reflect.PointerTo(elem.typ)
	case reflect.Slice:
		sh.kind, sh.typ = shadowSlice, reflect.SliceOf(elem.typ)
	case reflect.Array:
		sh.kind, sh.typ = shadowArray, reflect.ArrayOf(t.Len(), elem.typ)
	case reflect.Map:
		// A key type encoding/json refuses: no shadow, so that its error
		// names t, not the shadow.
		if _, err := json.Marshal(reflect.MakeMap(reflect.MapOf(t.Key(), reflect.TypeFor[int]())).Interface()); err != nil {
			return nil, err
		}
		sh.kind, sh.typ = shadowMap, reflect.MapOf(t.Key(), elem.typ)
	default:
		return nil, fmt.Errorf("packet: no shadow for %s", t)
	}
	return sh, nil
}

// structShadow builds the shadow struct of t, also used where t is
// embedded (encoding/json promotes the fields of an embedded struct
// whatever its methods). Its first field, [0]t tagged "-", makes the
// shadows of distinct types distinct, as encoding/json counts embedded
// structs by type.
func (b *builder) structShadow(t reflect.Type) (*shadow, error) {
	if v, ok := structShadows.Load(t); ok {
		return v.(*shadow), nil
	}
	if b.structs[t] {
		// Reached again through embedding only: a struct that embeds
		// itself. Through a value on the way: make that value dynamic.
		i := len(b.stack) - 1
		for b.stack[i] != (frame{t, false}) {
			i--
		}
		for j := len(b.stack) - 1; j > i; j-- {
			if b.stack[j].value {
				return nil, retryError{b.stack[j].t}
			}
		}
		return nil, errNoShadow
	}
	b.structs[t] = true
	b.stack = append(b.stack, frame{t, false})
	defer func() {
		delete(b.structs, t)
		b.stack = b.stack[:len(b.stack)-1]
	}()

	taken := make(map[string]bool, t.NumField()+1)
	for i := range t.NumField() {
		taken[t.Field(i).Name] = true
	}
	exported := func(name string) string {
		for name = "X" + name; taken[name]; name = "X" + name {
		}
		taken[name] = true
		return name
	}
	sfs := []reflect.StructField{{Name: exported("_"), Type: reflect.ArrayOf(0, t), Tag: `json:"-"`}}
	sh := &shadow{orig: t, kind: shadowStruct}
	for i := range t.NumField() {
		sf := t.Field(i)
		role, st, ptr := roleOf(sf)
		if role == fieldSkipped {
			continue
		}
		name := sf.Name
		if !sf.IsExported() {
			name = exported(name)
		}
		f := shadowField{src: i, dst: len(sfs)}
		nf := reflect.StructField{Name: name, Type: sf.Type, Tag: sf.Tag}
		if role == fieldPromoted {
			inner, err := b.structShadow(st)
			if err != nil {
				return nil, err
			}
			f.sh, f.promoted, f.ptr = inner, true, ptr
			nf.Type, nf.Anonymous = inner.typ, true
			if ptr {
				nf.Type = reflect.PointerTo(inner.typ)
			}
		} else {
			var fsh *shadow
			var err error
			if sf.IsExported() {
				fsh, err = b.shadow(sf.Type)
			} else {
				fsh, err = b.unexportedShadow(sf.Type)
			}
			if err != nil {
				return nil, err
			}
			if fsh != nil {
				f.sh, nf.Type = fsh, fsh.typ
				tag := sf.Tag.Get("json")
				if f.omitEmpty, f.omitZero = omitOptions(tag); f.omitEmpty || f.omitZero {
					tagName, _, _ := strings.Cut(tag, ",")
					f.wrapped, nf.Type = true, anyType
					nf.Tag = reflect.StructTag(`json:` + strconv.Quote(tagName+",omitempty"))
				}
			}
		}
		sfs = append(sfs, nf)
		sh.fields = append(sh.fields, f)
	}
	sh.typ = reflect.StructOf(sfs)
	v, _ := structShadows.LoadOrStore(t, sh)
	return v.(*shadow), nil
}

// unexportedShadow is the shadow of an unexported embedded struct, or
// pointer to one, written under its tag name. reflect does not copy a
// value read through an unexported field, so it always has a struct
// shadow, copied field by field; and none (errNoShadow) when the struct
// has a marshal or IsZero method, which could not be called on it either.
func (b *builder) unexportedShadow(t reflect.Type) (*shadow, error) {
	st := t
	if t.Kind() == reflect.Pointer {
		st = t.Elem()
	}
	if p := reflect.PointerTo(st); marshals(p) || p.Implements(zeroerType) {
		return nil, errNoShadow
	}
	inner, err := b.structShadow(st)
	if err != nil || st == t {
		return inner, err
	}
	return &shadow{typ: reflect.PointerTo(inner.typ), orig: t, kind: shadowPtr, elem: inner}, nil
}
