package packet

import (
	"encoding/json"
	"fmt"
)

// BinaryArg returns the attachment raw stands for when raw is exactly a
// placeholder with a valid num.
func BinaryArg(raw []byte, atts [][]byte) ([]byte, bool) {
	if len(atts) == 0 {
		return nil, false
	}
	if n, ok := IsPlaceholder(raw); ok && n < len(atts) {
		return atts[n], true
	}
	return nil, false
}

// DecodeArg decodes one event or ack argument into p, resolving binary
// placeholders: a placeholder argument decodes into *[]byte as its
// attachment; into *any, placeholders anywhere become []byte values; into
// other targets, placeholders become base64 strings, which encoding/json
// decodes into []byte fields. Without attachments it is json.Unmarshal.
// Both the server (package sio) and the client decode arguments this way.
func DecodeArg(raw []byte, atts [][]byte, p any) error {
	if bp, ok := p.(*[]byte); ok {
		if b, ok := BinaryArg(raw, atts); ok {
			*bp = b
			return nil
		}
	}
	if len(atts) == 0 {
		return json.Unmarshal(raw, p)
	}
	if ap, ok := p.(*any); ok {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		*ap = Resolve(v, atts)
		return nil
	}
	return json.Unmarshal(SubstituteBase64(raw, atts), p)
}

// EventName reads the first element of an event's arguments: a JSON string,
// or a number (socket.io accepts numeric event names).
func EventName(raw []byte) (string, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && plainASCII(raw[1:n-1]) {
		return string(raw[1 : n-1]), nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("packet: event name: %w", err)
	}
	return n.String(), nil
}

// plainASCII reports whether b is printable ASCII with no JSON escapes, so
// that its JSON string form is the string itself.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}
