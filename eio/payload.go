package eio

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// ErrPayload is returned by DecodePayload for a malformed polling body.
var ErrPayload = errors.New("eio: malformed payload")

// DecodePayload splits a polling body into its packets, in order, and calls
// fn for each: binary packets ("b"+base64) decoded to their raw bytes, text
// packets as "<type><data>". Text packets are only checked to be non-empty
// with a type digit 0-6. It stops early when fn returns false. The slices
// passed to fn are valid only during the call; binary ones are decoded into
// scratch, which is reused from one binary packet to the next.
func DecodePayload(body []byte, fn func(p []byte, binary bool) bool) error {
	if len(body) == 0 {
		return ErrPayload
	}
	var scratch []byte
	for {
		rec, rest, more := bytes.Cut(body, []byte{recordSep})
		if len(rec) > 0 && rec[0] == 'b' {
			n := base64.StdEncoding.DecodedLen(len(rec) - 1)
			if cap(scratch) < n {
				scratch = make([]byte, 0, n)
			}
			raw, err := base64.StdEncoding.AppendDecode(scratch[:0], rec[1:])
			if err != nil {
				return ErrPayload
			}
			if !fn(raw, true) {
				return nil
			}
		} else {
			if len(rec) == 0 || rec[0] < typeOpen || rec[0] > typeNoop {
				return ErrPayload
			}
			if !fn(rec, false) {
				return nil
			}
		}
		if !more {
			return nil
		}
		body = rest
	}
}

// AppendPayload appends packets as one polling body: text packets as they
// are ("<type><data>"), binary ones as "b"+base64, separated by 0x1E.
func AppendPayload(dst []byte, packets [][]byte, binary []bool) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, recordSep)
		}
		if binary[i] {
			dst = append(dst, 'b')
			dst = base64.StdEncoding.AppendEncode(dst, p)
			continue
		}
		dst = append(dst, p...)
	}
	return dst
}
