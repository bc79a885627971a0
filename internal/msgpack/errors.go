package msgpack

import "errors"

// ErrInvalid is wrapped by every error this package returns for input it
// cannot accept, so callers that only need "drop this message" test
// errors.Is(err, ErrInvalid).
var ErrInvalid = errors.New("msgpack: invalid input")

// Error is a preallocated, static input error; it unwraps to ErrInvalid.
// Errors are static values so that rejecting hostile input does not allocate.
type Error struct{ msg string }

// Error returns the message, "msgpack: ..." .
func (e *Error) Error() string { return e.msg }

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func newErr(msg string) *Error { return &Error{msg: "msgpack: " + msg} }

// The errors of the transcoders and the Reader. All of them satisfy
// errors.Is(err, ErrInvalid).
var (
	// ErrShortBuffer: the input ends inside a value, or a header announces
	// more bytes or elements than the input has left. Every proper prefix of
	// a valid value gets this error and nothing else.
	ErrShortBuffer = newErr("short buffer")
	// ErrReserved: the never-used type byte 0xc1.
	ErrReserved = newErr("reserved type byte 0xc1")
	// ErrDepth: arrays and maps (or JSON arrays and objects) nested deeper
	// than MaxDepth.
	ErrDepth = newErr("nested deeper than MaxDepth")
	// ErrMapKey: a map key that is not a string, number, boolean or nil.
	ErrMapKey = newErr("map key is not a string, number, boolean or nil")
	// ErrTimestamp: an extension of type -1 whose data is not 4, 8 or 12
	// bytes long.
	ErrTimestamp = newErr("timestamp extension of invalid length")
	// ErrRange: ReadInt found a number that is not an integer in the int64
	// range.
	ErrRange = newErr("number out of int64 range or not an integer")
	// ErrJSON: AppendJSON's input is not one valid JSON value.
	ErrJSON = newErr("invalid JSON")
	// ErrPlaceholder: AppendJSON found an object whose "_placeholder" is
	// true but whose "num" is not a valid attachment index.
	ErrPlaceholder = newErr("illegal attachment placeholder")
	// ErrTooLarge: a JSON string, array or object too large for a msgpack
	// header (2^32-1 bytes or elements).
	ErrTooLarge = newErr("value too large for msgpack")
)

// TypeError is the error of a Reader method that found a value of another
// type than it reads. It unwraps to ErrInvalid. The Reader returns pointers
// into a static table, so a mismatch does not allocate; compare the fields,
// not the pointers.
type TypeError struct {
	Want Type // what the method reads
	Got  Type // what the input holds
}

// Error returns "msgpack: want <Want>, found <Got>".
func (e *TypeError) Error() string {
	return "msgpack: want " + e.Want.String() + ", found " + e.Got.String()
}

// Unwrap returns ErrInvalid.
func (e *TypeError) Unwrap() error { return ErrInvalid }

var typeErrors = func() (t [numTypes][numTypes]TypeError) {
	for w := range t {
		for g := range t[w] {
			t[w][g] = TypeError{Want: Type(w), Got: Type(g)}
		}
	}
	return t
}()

func typeErr(want, got Type) error { return &typeErrors[want][got] }
