package eio

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// Engine.IO v3 polling payloads (Config.AllowEIO3), as engine.io's
// parser-v3 encodes them. There are two forms:
//
//   - text: records "<length>:<packet>" back to back, the length counted
//     in UTF-16 code units (JavaScript string length), a binary packet
//     as "b4"+base64. Clients that cannot take binary (socket.io-client
//     2.x in Node, which asks with b64=1) get only this form.
//   - binary (XHR2, "application/octet-stream"): records
//     <0|1><length as digit bytes><0xFF><bytes>, 0 for a text packet
//     (its UTF-8 bytes), 1 for a binary one (the type byte 4, then the
//     data); the length counts bytes.
//
// In both forms a text packet is "<type><data>", as in v4.

// maxV3LengthDigits bounds the digits of a record length: a longer one
// cannot be the length of a body that fits in memory.
const maxV3LengthDigits = 10

// DecodePayloadV3 splits a v3 text polling body into its packets, in
// order, and calls fn for each, as DecodePayload does: binary packets
// ("b4"+base64) decoded to their raw bytes, text packets as
// "<type><data>". Empty records ("0:") are skipped. It stops early when
// fn returns false. The slices passed to fn are valid only during the call.
func DecodePayloadV3(body []byte, fn func(p []byte, binary bool) bool) error {
	if len(body) == 0 {
		return ErrPayload
	}
	var scratch []byte
	for len(body) > 0 {
		n, rest, ok := v3Length(body)
		if !ok {
			return ErrPayload
		}
		size, ok := utf16Prefix(rest, n)
		if !ok {
			return ErrPayload
		}
		rec := rest[:size]
		body = rest[size:]
		if len(rec) == 0 {
			continue
		}
		if rec[0] == 'b' {
			if len(rec) < 2 || rec[1] != typeMessage {
				return ErrPayload
			}
			raw, err := base64.StdEncoding.AppendDecode(scratch[:0], rec[2:])
			if err != nil {
				return ErrPayload
			}
			scratch = raw
			if !fn(raw, true) {
				return nil
			}
			continue
		}
		if rec[0] < typeOpen || rec[0] > typeNoop {
			return ErrPayload
		}
		if !fn(rec, false) {
			return nil
		}
	}
	return nil
}

// v3Length reads the "<digits>:" that starts a text record.
func v3Length(b []byte) (n int, rest []byte, ok bool) {
	i := 0
	for ; i < len(b) && b[i] != ':'; i++ {
		if b[i] < '0' || b[i] > '9' || i == maxV3LengthDigits {
			return 0, nil, false
		}
		n = n*10 + int(b[i]-'0')
	}
	if i == 0 || i == len(b) {
		return 0, nil, false
	}
	return n, b[i+1:], true
}

// utf16Prefix returns the byte length of the first n UTF-16 code units of
// the UTF-8 text b; false if b is shorter, a character straddles the end,
// or the text is not UTF-8 (a body cut inside a character would otherwise
// pass for another text).
func utf16Prefix(b []byte, n int) (int, bool) {
	i := 0
	for n > 0 {
		if i == len(b) {
			return 0, false
		}
		if c := b[i]; c < utf8.RuneSelf {
			i++
			n--
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return 0, false
		}
		units := 1
		if r >= 0x10000 {
			units = 2
		}
		if units > n {
			return 0, false
		}
		i += size
		n -= units
	}
	return i, true
}

// utf16Len is the JavaScript length of the UTF-8 text b.
func utf16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// DecodeBinaryPayloadV3 is DecodePayloadV3 for the binary form, the body
// of a POST with Content-Type application/octet-stream.
func DecodeBinaryPayloadV3(body []byte, fn func(p []byte, binary bool) bool) error {
	if len(body) == 0 {
		return ErrPayload
	}
	for len(body) > 0 {
		isText := body[0] == 0
		n, i := 0, 1
		for ; i < len(body) && body[i] != 0xff; i++ {
			if body[i] > 9 || i > maxV3LengthDigits {
				return ErrPayload
			}
			n = n*10 + int(body[i])
		}
		if i == 1 || i == len(body) || n > len(body)-i-1 || n == 0 {
			return ErrPayload
		}
		rec := body[i+1 : i+1+n]
		body = body[i+1+n:]
		if isText {
			if rec[0] < typeOpen || rec[0] > typeNoop || !utf8.Valid(rec) {
				return ErrPayload
			}
			if !fn(rec, false) {
				return nil
			}
			continue
		}
		if rec[0] != typeMessage-'0' {
			return ErrPayload
		}
		if !fn(rec[1:], true) {
			return nil
		}
	}
	return nil
}

// AppendPayloadV3 appends packets as one v3 text polling body: text
// packets ("<type><data>") and binary ones ("b4"+base64), each behind its
// length.
func AppendPayloadV3(dst []byte, packets [][]byte, binary []bool) []byte {
	for i, p := range packets {
		if binary[i] {
			dst = appendV3Base64(dst, p)
			continue
		}
		dst = appendV3Text(dst, p)
	}
	return dst
}

func appendV3Text(dst, p []byte) []byte {
	dst = strconv.AppendInt(dst, int64(utf16Len(p)), 10)
	dst = append(dst, ':')
	return append(dst, p...)
}

func appendV3Base64(dst, raw []byte) []byte {
	dst = strconv.AppendInt(dst, int64(2+base64.StdEncoding.EncodedLen(len(raw))), 10)
	dst = append(dst, ':', 'b', typeMessage)
	return base64.StdEncoding.AppendEncode(dst, raw)
}

// AppendBinaryPayloadV3 appends packets as one v3 binary polling body.
func AppendBinaryPayloadV3(dst []byte, packets [][]byte, binary []bool) []byte {
	for i, p := range packets {
		if binary[i] {
			dst = appendV3BinaryHeader(dst, 1, 1+len(p))
			dst = append(dst, typeMessage-'0')
		} else {
			dst = appendV3BinaryHeader(dst, 0, len(p))
		}
		dst = append(dst, p...)
	}
	return dst
}

func appendV3BinaryHeader(dst []byte, kind byte, n int) []byte {
	dst = append(dst, kind)
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return append(dst, 0xff)
}

// transcodeV3 appends the polling records q (v4 form, separated by
// 0x1E, with their ends in recs) as a v3 body: the binary form when
// binaryOK and a record is binary, else the text form. It reports
// whether the body is binary.
func transcodeV3(dst, q []byte, recs []record, binaryOK bool) ([]byte, bool) {
	useBinary := false
	if binaryOK {
		for _, r := range recs {
			if r.binary {
				useBinary = true
				break
			}
		}
	}
	var raw []byte
	start := 0
	for _, r := range recs {
		rec := q[start:r.end]
		start = r.end + 1
		switch {
		case !r.binary && useBinary:
			dst = appendV3BinaryHeader(dst, 0, len(rec))
			dst = append(dst, rec...)
		case !r.binary:
			dst = appendV3Text(dst, rec)
		case useBinary:
			var err error
			raw, err = base64.StdEncoding.AppendDecode(raw[:0], rec[1:])
			if err != nil {
				continue // cannot happen: the server encoded it
			}
			dst = appendV3BinaryHeader(dst, 1, 1+len(raw))
			dst = append(append(dst, typeMessage-'0'), raw...)
		default:
			// "b"+base64 becomes "b4"+base64.
			dst = strconv.AppendInt(dst, int64(len(rec)+1), 10)
			dst = append(dst, ':', 'b', typeMessage)
			dst = append(dst, rec[1:]...)
		}
	}
	return dst, useBinary
}
