package http1

import (
	"net/http"
	"strconv"
)

// AppendResponse appends an HTTP/1.1 response to dst and returns the
// extended slice:
//
//	HTTP/1.1 <status> <reason>\r\n
//	<name>: <value>\r\n           for each pair in headers
//	Content-Length: <len(body)>\r\n
//	Connection: close\r\n          when close is true
//	\r\n
//	<body>
//
// headers holds name, value, name, value…; an odd count panics, as does a
// status outside 100..999 (both are programming errors). The caller must not
// pass Content-Length or Transfer-Encoding. For 1xx, 204 and 304 responses
// Content-Length is omitted and body is ignored, because RFC 9110 §8.6 and
// §15 forbid a body there; a 101 Switching Protocols reply is therefore safe
// to build here. Because values may echo request data (Origin,
// Access-Control-Request-Headers), control characters other than HTAB in a
// value are written as spaces and a header with an invalid name is dropped,
// so no input can split the response. The unknown-status reason phrase is
// empty. No Date header is added. It does not allocate when dst has room.
func AppendResponse(dst []byte, status int, headers []string, body []byte, close bool) []byte {
	if len(headers)%2 != 0 {
		panic("http1: AppendResponse: odd number of header strings")
	}
	dst = appendStatusLine(dst, status)
	for i := 0; i < len(headers); i += 2 {
		dst = appendHeader(dst, headers[i], headers[i+1])
	}
	bodyless := status < 200 || status == 204 || status == 304
	if !bodyless {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
	}
	if close {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if !bodyless {
		dst = append(dst, body...)
	}
	return dst
}

// AppendError appends a complete error response for e: its status, a
// text/plain body holding e.Msg and a newline, and Connection: close, since
// after a parse error the framing of anything that follows is unknown. A nil
// e is written as 500 Internal Server Error.
func AppendError(dst []byte, e *Error) []byte {
	status, msg := 500, "internal server error"
	if e != nil {
		status, msg = e.Status, e.Msg
	}
	dst = appendStatusLine(dst, status)
	dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\n"...)
	dst = append(dst, "X-Content-Type-Options: nosniff\r\n"...)
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(msg)+1), 10)
	dst = append(dst, "\r\nConnection: close\r\n\r\n"...)
	dst = appendValue(dst, msg)
	return append(dst, '\n')
}

func appendStatusLine(dst []byte, status int) []byte {
	if status < 100 || status > 999 {
		panic("http1: invalid status code " + strconv.Itoa(status))
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(status)...)
	return append(dst, "\r\n"...)
}

func appendHeader(dst []byte, name, value string) []byte {
	if name == "" {
		return dst
	}
	for i := 0; i < len(name); i++ {
		if charClass[name[i]]&classToken == 0 {
			return dst
		}
	}
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = appendValue(dst, value)
	return append(dst, "\r\n"...)
}

// appendValue appends s with every byte a header value may not carry
// replaced by a space, as net/http does for newlines.
func appendValue(dst []byte, s string) []byte {
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		clean = charClass[s[i]]&classValue != 0
	}
	if clean {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if charClass[c]&classValue == 0 {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}
