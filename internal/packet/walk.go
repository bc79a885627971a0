package packet

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// typeInfo is what the encoder needs to know about a type that is not one
// of appendValue's own cases.
type typeInfo struct {
	// hasBytes: a value of the type can hold a []byte that is sent as an
	// attachment (a byte slice reached without passing through a
	// json.Marshaler or encoding.TextMarshaler, or an interface, which
	// can hold anything). Values of other types go to encoding/json whole.
	hasBytes bool
	// addrMarshal: the type is not a pointer and its pointer implements
	// json.Marshaler or encoding.TextMarshaler; encoding/json calls that
	// method on addressable values, and so does the walk.
	addrMarshal bool
	// byteSlice: a slice of bytes that encoding/json would write as base64.
	byteSlice bool
	// scalar: bool, number or string kind without marshal methods (and not
	// json.Number), written directly.
	scalar bool
	fields []jsonField // structs with hasBytes
}

// typeInfos maps reflect.Type to *typeInfo.
var typeInfos sync.Map

func typeInfoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{hasBytes: canHoldBytes(t, map[reflect.Type]bool{t: true})}
	if t.Kind() != reflect.Pointer {
		p := reflect.PointerTo(t)
		ti.addrMarshal = p.Implements(marshalerType) || p.Implements(textMarshalerType)
	}
	ti.byteSlice = isByteSlice(t)
	if !ti.addrMarshal && !t.Implements(marshalerType) && !t.Implements(textMarshalerType) && t != numberType {
		switch t.Kind() {
		case reflect.Bool, reflect.String,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64:
			ti.scalar = true
		}
	}
	if ti.hasBytes && t.Kind() == reflect.Struct {
		ti.fields = cachedFields(t)
	}
	v, _ := typeInfos.LoadOrStore(t, ti)
	return v.(*typeInfo)
}

// isByteSlice reports whether encoding/json writes t as a base64 string
// (when t and *t have no marshal methods).
func isByteSlice(t reflect.Type) bool {
	if t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Uint8 {
		return false
	}
	p := reflect.PointerTo(t.Elem())
	return !p.Implements(marshalerType) && !p.Implements(textMarshalerType)
}

// canHoldBytes computes typeInfo.hasBytes; seen holds the types already on
// the way, so that recursive types end.
func canHoldBytes(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t.Implements(marshalerType) || t.Implements(textMarshalerType) {
		return false // encoding/json calls the method, whatever is inside
	}
	visit := func(e reflect.Type) bool {
		if seen[e] {
			return false
		}
		seen[e] = true
		return canHoldBytes(e, seen)
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Slice:
		return isByteSlice(t) || visit(t.Elem())
	case reflect.Array, reflect.Pointer:
		return visit(t.Elem())
	case reflect.Map:
		return validMapKey(t.Key()) && visit(t.Elem())
	case reflect.Struct:
		for _, f := range cachedFields(t) {
			if visit(f.typ) {
				return true
			}
		}
	}
	return false
}

// appendReflect encodes v as encoding/json would, except that byte slices
// become attachments: types that cannot hold one go to encoding/json whole.
func appendReflect(dst []byte, v reflect.Value, atts [][]byte, depth int) ([]byte, [][]byte, error) {
	if depth > maxEncodeDepth {
		return dst, atts, errEncodeDepth
	}
	if !v.IsValid() {
		return append(dst, "null"...), atts, nil
	}
	ti := typeInfoOf(v.Type())
	if !ti.hasBytes || ti.addrMarshal && v.CanAddr() {
		dst, err := appendPlain(dst, v, ti)
		return dst, atts, err
	}
	var err error
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		// Below a struct or typed container everything follows
		// encoding/json, also what an interface holds ([]any included).
		return appendReflect(dst, v.Elem(), atts, depth+1)
	case reflect.Pointer:
		if v.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		return appendReflect(dst, v.Elem(), atts, depth+1)
	case reflect.Slice:
		if v.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		if ti.byteSlice {
			dst, atts = appendPlaceholder(dst, v.Bytes(), atts)
			return dst, atts, nil
		}
		fallthrough
	case reflect.Array:
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, atts, err = appendReflect(dst, v.Index(i), atts, depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case reflect.Map:
		if v.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		return appendReflectMap(dst, v, atts, depth)
	case reflect.Struct:
		return appendStruct(dst, v, ti.fields, atts, depth)
	}
	// Not reached: canHoldBytes is true only for the kinds above.
	dst, err = appendPlain(dst, v, ti)
	return dst, atts, err
}

// appendPlain writes v, which holds no attachment, as encoding/json does.
func appendPlain(dst []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	if ti.scalar {
		switch v.Kind() {
		case reflect.Bool:
			return strconv.AppendBool(dst, v.Bool()), nil
		case reflect.String:
			return AppendQuote(dst, v.String()), nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return strconv.AppendInt(dst, v.Int(), 10), nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return strconv.AppendUint(dst, v.Uint(), 10), nil
		case reflect.Float32:
			return appendFloat(dst, v.Float(), 32)
		case reflect.Float64:
			return appendFloat(dst, v.Float(), 64)
		}
	}
	if v.CanAddr() {
		// Through the pointer encoding/json sees an addressable value, as it
		// would have walking the whole argument: methods with pointer
		// receivers are used inside it too.
		return appendJSON(dst, v.Addr().Interface())
	}
	return appendJSON(dst, v.Interface())
}

type keyedValue struct {
	key string
	v   reflect.Value
}

func appendReflectMap(dst []byte, v reflect.Value, atts [][]byte, depth int) ([]byte, [][]byte, error) {
	kvs := make([]keyedValue, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := resolveKeyName(it.Key())
		if err != nil {
			return dst, atts, fmt.Errorf("json: encoding error for type %q: %q", v.Type().String(), err.Error())
		}
		kvs = append(kvs, keyedValue{k, it.Value()})
	}
	slices.SortFunc(kvs, func(a, b keyedValue) int { return strings.Compare(a.key, b.key) })
	dst = append(dst, '{')
	var err error
	for i, kv := range kvs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(AppendQuote(dst, kv.key), ':')
		if dst, atts, err = appendReflect(dst, kv.v, atts, depth+1); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, '}'), atts, nil
}

func appendStruct(dst []byte, v reflect.Value, fields []jsonField, atts [][]byte, depth int) ([]byte, [][]byte, error) {
	next := byte('{')
	var err error
fields:
	for i := range fields {
		f := &fields[i]
		fv := v
		for _, j := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue fields // promoted through a nil embedded pointer
				}
				fv = fv.Elem()
			}
			fv = fv.Field(j)
		}
		if f.omit(fv) {
			continue
		}
		dst = append(dst, next)
		next = ','
		dst = append(dst, f.key...)
		if f.quoted {
			dst, err = appendQuoted(dst, fv)
		} else {
			dst, atts, err = appendReflect(dst, fv, atts, depth+1)
		}
		if err != nil {
			return dst, atts, err
		}
	}
	if next == '{' {
		return append(dst, "{}"...), atts, nil
	}
	return append(dst, '}'), atts, nil
}

// appendQuoted writes a field with the ",string" option (a bool, number or
// string, or a pointer to one) as encoding/json does: inside a JSON
// string, unless a marshal method takes over.
func appendQuoted(dst []byte, v reflect.Value) ([]byte, error) {
	for {
		ti := typeInfoOf(v.Type())
		if v.Type().Implements(marshalerType) || v.Type().Implements(textMarshalerType) || ti.addrMarshal && v.CanAddr() {
			return appendPlain(dst, v, ti)
		}
		if v.Kind() != reflect.Pointer {
			break
		}
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.String && v.Type() != numberType {
		return AppendQuote(dst, string(AppendQuote(nil, v.String()))), nil
	}
	start := len(dst)
	dst = append(dst, '"')
	dst, err := appendPlain(dst, v, typeInfoOf(v.Type()))
	if err != nil {
		return dst[:start], err
	}
	return append(dst, '"'), nil
}
