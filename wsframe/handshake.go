package wsframe

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// acceptGUID is the fixed string RFC 6455 §1.3 appends to the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// HandshakeError is a refused WebSocket opening handshake. Status is the
// HTTP status to answer (400) and Message the body, worded like the ws npm
// package's so clients see the reference's text.
type HandshakeError struct {
	Status  int
	Message string
	// Header is one extra response header line ("Name: value") the
	// refusal needs, or "". A version refusal carries the versions we
	// speak, as RFC 6455 §4.4 asks.
	Header string
}

// Error returns the message with the package prefix.
func (e *HandshakeError) Error() string { return "wsframe: " + e.Message }

// Handshake refusals. CheckHandshake returns these preallocated values.
var (
	errBadMethod   = &HandshakeError{Status: http.StatusBadRequest, Message: "Bad handshake method"}
	errUpgrade     = &HandshakeError{Status: http.StatusBadRequest, Message: "Invalid Upgrade header"}
	errConnection  = &HandshakeError{Status: http.StatusBadRequest, Message: "Missing or invalid Connection header"}
	errKey         = &HandshakeError{Status: http.StatusBadRequest, Message: "Missing or invalid Sec-WebSocket-Key header"}
	errVersion     = &HandshakeError{Status: http.StatusBadRequest, Message: "Missing or invalid Sec-WebSocket-Version header", Header: "Sec-WebSocket-Version: 13, 8"}
	errSubprotocol = &HandshakeError{Status: http.StatusBadRequest, Message: "Invalid Sec-WebSocket-Protocol header"}
)

// CheckHandshake validates the server side of an RFC 6455 opening handshake
// given the request method and a header lookup. get returns a header's
// value by case-insensitive name, or "" when absent; repeated headers are
// passed joined with ", ".
//
// Checks, in order (first failure wins, all answer 400):
// method is GET; Upgrade lists "websocket"; Connection lists "upgrade";
// Sec-WebSocket-Key is 16 bytes in base64 (22 characters and "==", the
// ws npm check); Sec-WebSocket-Version is 13 or 8 (ws accepts both);
// Sec-WebSocket-Protocol, when present, is a comma-separated token list.
// Sec-WebSocket-Extensions is not checked: an offer the server cannot
// take is declined (NegotiateDeflate), never refused, so nothing in it can
// make the handshake fail. Every check runs in time linear in the
// header's length (CVE-2021-32640, in ws, was a quadratic subprotocol
// regexp); the caller still caps the total header size.
//
// On success key is the trimmed Sec-WebSocket-Key; it aliases the string
// get returned. err is always a *HandshakeError.
func CheckHandshake(method string, get func(name string) string) (key string, err error) {
	if method != http.MethodGet {
		return "", errBadMethod
	}
	if !hasToken(get("Upgrade"), "websocket") {
		return "", errUpgrade
	}
	if !hasToken(get("Connection"), "upgrade") {
		return "", errConnection
	}
	key = trimOWS(get("Sec-WebSocket-Key"))
	if !validKey(key) {
		return "", errKey
	}
	switch trimOWS(get("Sec-WebSocket-Version")) {
	case "13", "8":
	default:
		return "", errVersion
	}
	if p := get("Sec-WebSocket-Protocol"); p != "" && !validTokenList(p) {
		return "", errSubprotocol
	}
	return key, nil
}

// FirstSubprotocol returns the first subprotocol a Sec-WebSocket-Protocol
// value lists, or "" if it lists none. The ws npm package, with no
// handleProtocols option, selects that one; browsers fail the connection
// when they offered subprotocols and the 101 names none, so a server that
// accepts such clients echoes it with
// AppendUpgradeResponse(dst, key, "Sec-WebSocket-Protocol: "+p).
// The result aliases v.
func FirstSubprotocol(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return trimOWS(v)
}

// AcceptKey returns the Sec-WebSocket-Accept value for a client key:
// base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
func AcceptKey(key string) string {
	var b [28]byte
	return string(appendAcceptKey(b[:0], key))
}

func appendAcceptKey(dst []byte, key string) []byte {
	// A valid key is 24 bytes: hash it from the stack. Other lengths only
	// come from callers that skipped CheckHandshake; they still get the
	// right answer.
	var in [24 + len(acceptGUID)]byte
	var sum [sha1.Size]byte
	if len(key) == 24 {
		copy(in[:], key)
		copy(in[24:], acceptGUID)
		sum = sha1.Sum(in[:])
	} else {
		sum = sha1.Sum([]byte(key + acceptGUID))
	}
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// AppendUpgradeResponse appends the 101 Switching Protocols response for
// key (as returned by CheckHandshake) to dst. Each extra string is one
// header line, "Name: value", written as given except that any CR or LF
// in it becomes a space, so no caller input can split the response.
func AppendUpgradeResponse(dst []byte, key string, extra ...string) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = appendAcceptKey(dst, key)
	dst = append(dst, "\r\n"...)
	for _, h := range extra {
		dst = appendHeaderLine(dst, h)
	}
	return append(dst, "\r\n"...)
}

// AppendHandshakeError appends a complete refusal for e to dst, like the ws
// npm package's abortHandshake: the status line, Connection: close, a
// text/html body holding e.Message, and e.Header if set. Callers that must
// answer in another format (engine.io's JSON bodies) build their own from
// e.Status and e.Message.
func AppendHandshakeError(dst []byte, e *HandshakeError) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(e.Status)...)
	dst = append(dst, "\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(e.Message)), 10)
	dst = append(dst, "\r\n"...)
	if e.Header != "" {
		dst = appendHeaderLine(dst, e.Header)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, e.Message...)
}

func appendHeaderLine(dst []byte, h string) []byte {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, "\r\n"...)
}

// hasToken reports whether the comma-separated list v holds token,
// compared case-insensitively (HTTP tokens are case-insensitive).
func hasToken(v, token string) bool {
	for v != "" {
		var elem string
		if i := strings.IndexByte(v, ','); i >= 0 {
			elem, v = v[:i], v[i+1:]
		} else {
			elem, v = v, ""
		}
		if strings.EqualFold(trimOWS(elem), token) {
			return true
		}
	}
	return false
}

// validKey applies the ws npm check /^[+/0-9A-Za-z]{22}==$/: the base64 of
// 16 bytes (RFC 6455 §4.1).
func validKey(k string) bool {
	if len(k) != 24 || k[22] != '=' || k[23] != '=' {
		return false
	}
	for i := 0; i < 22; i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// validTokenList checks 1#token with optional whitespace around elements
// (RFC 7230 §7, RFC 6455 §4.1), in one pass. Empty elements are refused, as
// ws does.
func validTokenList(v string) bool {
	for {
		i := 0
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		j := i
		for j < len(v) && isTokenChar(v[j]) {
			j++
		}
		if j == i {
			return false
		}
		for j < len(v) && (v[j] == ' ' || v[j] == '\t') {
			j++
		}
		if j == len(v) {
			return true
		}
		if v[j] != ',' {
			return false
		}
		v = v[j+1:]
	}
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}
