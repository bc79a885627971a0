package packet

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
)

// Binary attachments travel as placeholders {"_placeholder":true,"num":N} in
// the JSON arguments (socket.io-parser lib/binary.ts). Like the reference
// reconstructPacket, any object whose "_placeholder" member is the literal
// true is a placeholder (extra members are ignored, the last of duplicate
// keys wins, key escapes count), and its "num" must be an integer-valued
// JSON number with 0 <= num < number of attachments (CVE-2022-2421, in
// socket.io-parser: strings such as "__proto__", fractions and negative
// numbers are refused). Objects whose "_placeholder" is anything else are
// ordinary objects.

type walkMode uint8

const (
	modeCheck walkMode = iota // validate every placeholder against n
	modeSubst                 // replace valid placeholders by base64 strings
	modeFind                  // remember the last placeholder finished
)

// walker is what the JSON scanner (scan.go) tells of placeholder objects.
// An object is known to be a placeholder only at its closing brace, after
// its members were scanned, so the scanner saves the walker's state when an
// object opens, and the walker rolls back whatever the members did when the
// object turns out to be a placeholder: the reference replaces a
// placeholder whole and never looks inside it.
type walker struct {
	b    []byte
	mode walkMode
	n    int      // modeCheck: number of attachments
	atts [][]byte // modeSubst: attachments
	out  []byte   // modeSubst: output, b[last:] not yet copied
	last int
	bad  bool // modeCheck: an invalid placeholder was seen
	subs int  // modeSubst: placeholders replaced

	// modeFind: the last placeholder finished.
	phStart, phEnd, phNum int
	phOK                  bool
}

// walkState is what a placeholder's members may have changed, saved when
// its object opens.
type walkState struct {
	out        int
	last, subs int
	bad        bool
}

func (w *walker) save() walkState {
	return walkState{out: len(w.out), last: w.last, subs: w.subs, bad: w.bad}
}

// placeholder handles the placeholder object b[start:end] (scanObject found
// its "_placeholder" true; num is its "num" member, nil when it has none):
// what its members did is rolled back to saved, then the mode's work is
// done on the whole object.
func (w *walker) placeholder(start, end int, saved walkState, num []byte) {
	w.out, w.last, w.bad, w.subs = w.out[:saved.out], saved.last, saved.bad, saved.subs
	n, ok := -1, false
	if num != nil {
		n, ok = placeholderNum(num)
	}
	switch w.mode {
	case modeCheck:
		if !ok || n >= w.n {
			w.bad = true
		}
	case modeSubst:
		if ok && n < len(w.atts) {
			if w.out == nil {
				w.out = make([]byte, 0, substSize(w.b, w.atts))
			}
			w.out = append(w.out, w.b[w.last:start]...)
			w.out = append(w.out, '"')
			w.out = base64.StdEncoding.AppendEncode(w.out, w.atts[n])
			w.out = append(w.out, '"')
			w.last = end
			w.subs++
		}
	case modeFind:
		w.phStart, w.phEnd, w.phNum, w.phOK = start, end, n, ok
	}
}

// substSize is a capacity guess for substituting into b: enough when every
// attachment is referenced once.
func substSize(b []byte, atts [][]byte) int {
	n := len(b)
	for _, a := range atts {
		n += base64.StdEncoding.EncodedLen(len(a)) + 2
	}
	return n
}

// placeholderNum returns the attachment index that the JSON value tok names,
// following JS Number.isInteger: 3, 3.0 and 3e0 are 3, -0 is 0.
func placeholderNum(tok []byte) (int, bool) {
	if len(tok) == 0 || (tok[0] != '-' && !isDigit(tok[0])) {
		return 0, false
	}
	if len(tok) <= 9 {
		n, simple := 0, true
		for _, c := range tok {
			if !isDigit(c) {
				simple = false
				break
			}
			n = n*10 + int(c-'0')
		}
		if simple {
			return n, true
		}
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return 0, false
	}
	return floatIndex(f)
}

func floatIndex(f float64) (int, bool) {
	if f != math.Trunc(f) || f < 0 || f >= 1<<31 {
		return 0, false
	}
	return int(f), true
}

// run walks the single JSON value in w.b.
func (w *walker) run() error {
	end, err := scanValue(w.b, skipSpace(w.b, 0), 0, w)
	if err != nil {
		return err
	}
	if skipSpace(w.b, end) != len(w.b) {
		return ErrJSON
	}
	return nil
}

// ValidatePlaceholders checks that raw is valid JSON (at most MaxDepth deep)
// and that every placeholder in it, at any depth, has an integer num with
// 0 <= num < n. It returns ErrPlaceholder or ErrJSON/ErrDepth otherwise.
// The reference throws "illegal attachments" in that case, which closes the
// connection. Unreferenced attachments are allowed, as in the reference.
func ValidatePlaceholders(raw []byte, n int) error {
	w := walker{b: raw, mode: modeCheck, n: n}
	if err := w.run(); err != nil {
		return err
	}
	if w.bad {
		return ErrPlaceholder
	}
	return nil
}

// IsPlaceholder reports whether raw (surrounding whitespace allowed) is
// exactly one placeholder object with a valid num, and returns that num. It
// does not compare num with any attachment count.
func IsPlaceholder(raw []byte) (num int, ok bool) {
	start := skipSpace(raw, 0)
	if start >= len(raw) || raw[start] != '{' {
		return 0, false
	}
	w := walker{b: raw, mode: modeFind, phStart: -1}
	if w.run() != nil || w.phStart != start || !w.phOK {
		return 0, false
	}
	return w.phNum, true
}

// SubstituteBase64 returns raw with every placeholder, at any depth, replaced
// by a JSON string holding the standard base64 encoding of its attachment,
// so that json.Unmarshal into a []byte field (or any string) receives the
// bytes. Call it on the arguments of a BinaryEvent/BinaryAck only: in a plain
// Event a placeholder-shaped object is ordinary data, as in the reference.
//
// Placeholders whose num is invalid or out of range are left as they are
// (Reassembler.Start already refused those). When nothing is replaced, or raw
// is not valid JSON, raw itself is returned; otherwise the result is a new
// slice.
func SubstituteBase64(raw []byte, atts [][]byte) []byte {
	w := walker{b: raw, mode: modeSubst, atts: atts}
	if w.run() != nil || w.subs == 0 {
		return raw
	}
	return append(w.out, raw[w.last:]...)
}

// AppendSubstituteBase64 is SubstituteBase64 appending to dst. When raw is not
// valid JSON it is appended unchanged.
func AppendSubstituteBase64(dst, raw []byte, atts [][]byte) []byte {
	start := len(dst)
	w := walker{b: raw, mode: modeSubst, atts: atts, out: dst}
	if w.run() != nil {
		return append(dst[:start], raw...)
	}
	return append(w.out, raw[w.last:]...)
}

// maxResolveDepth bounds Resolve's recursion; encoding/json refuses deeper
// input anyway, so only a hand-built cyclic value can reach it.
const maxResolveDepth = 10000

// Resolve walks v, a value decoded by encoding/json into any (map[string]any,
// []any, scalars), and replaces each placeholder map by its attachment
// (atts[num], aliased, not copied). Maps and slices are modified in place; the
// possibly replaced v is returned. Placeholders with an invalid or out of
// range num are left as maps. Numbers may be float64 or json.Number.
func Resolve(v any, atts [][]byte) any {
	return resolve(v, atts, 0)
}

func resolve(v any, atts [][]byte, depth int) any {
	if depth > maxResolveDepth {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph {
			if n, ok := anyIndex(x["num"]); ok && n < len(atts) {
				return atts[n]
			}
			return v
		}
		for k, e := range x {
			x[k] = resolve(e, atts, depth+1)
		}
	case []any:
		for i, e := range x {
			x[i] = resolve(e, atts, depth+1)
		}
	}
	return v
}

func anyIndex(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return floatIndex(n)
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false
		}
		return floatIndex(f)
	case int:
		return n, n >= 0
	}
	return 0, false
}
