package sio

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Handshake describes the request that opened a socket's connection
// (socket.handshake). Its JSON form is socket.io's, so that a handshake
// emitted to a client, or sent to a Node node of a cluster, reads as
// JavaScript code expects: lower-case header names, time as a JavaScript
// date string, issued in milliseconds, query values as strings.
type Handshake struct {
	Headers http.Header
	Time    time.Time
	Address string
	XDomain bool
	Secure  bool
	Issued  int64 // unix milliseconds
	URL     string
	Query   url.Values
	Auth    json.RawMessage // the CONNECT payload, {} when none
}

// handshakeJSON is socket.io's shape of a handshake.
type handshakeJSON struct {
	Headers map[string]any    `json:"headers"`
	Time    string            `json:"time"`
	Address string            `json:"address"`
	XDomain bool              `json:"xdomain"`
	Secure  bool              `json:"secure"`
	Issued  int64             `json:"issued"`
	URL     string            `json:"url"`
	Query   map[string]string `json:"query"`
	Auth    json.RawMessage   `json:"auth"`
}

// MarshalJSON encodes h as socket.io does: headers as Node's req.headers
// (lower-case names; repeated values joined with ", ", cookies with "; ",
// set-cookie as an array), time as String(new Date()), query with the last
// value of a repeated key (as engine.io's URLSearchParams gives it).
func (h *Handshake) MarshalJSON() ([]byte, error) {
	out := handshakeJSON{
		Headers: make(map[string]any, len(h.Headers)),
		Time:    jsDateString(h.Time),
		Address: h.Address,
		XDomain: h.XDomain,
		Secure:  h.Secure,
		Issued:  h.Issued,
		URL:     h.URL,
		Query:   make(map[string]string, len(h.Query)),
		Auth:    h.Auth,
	}
	for k, vs := range h.Headers {
		name := strings.ToLower(k)
		switch {
		case len(vs) == 0:
		case name == "set-cookie":
			out.Headers[name] = vs
		case name == "cookie":
			out.Headers[name] = strings.Join(vs, "; ")
		default:
			out.Headers[name] = strings.Join(vs, ", ")
		}
	}
	for k, vs := range h.Query {
		if len(vs) > 0 {
			out.Query[k] = vs[len(vs)-1]
		}
	}
	if len(out.Auth) == 0 {
		out.Auth = json.RawMessage(`{}`)
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes socket.io's shape of a handshake (another node's
// socket). Time is taken from issued, which is exact, rather than parsed
// from the date string.
func (h *Handshake) UnmarshalJSON(b []byte) error {
	var in struct {
		Headers map[string]json.RawMessage `json:"headers"`
		Address string                     `json:"address"`
		XDomain bool                       `json:"xdomain"`
		Secure  bool                       `json:"secure"`
		Issued  float64                    `json:"issued"`
		URL     string                     `json:"url"`
		Query   map[string]json.RawMessage `json:"query"`
		Auth    json.RawMessage            `json:"auth"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*h = Handshake{
		Headers: make(http.Header, len(in.Headers)),
		Address: in.Address,
		XDomain: in.XDomain,
		Secure:  in.Secure,
		Issued:  int64(in.Issued),
		URL:     in.URL,
		Query:   make(url.Values, len(in.Query)),
		Auth:    in.Auth,
	}
	h.Time = time.UnixMilli(h.Issued)
	for k, raw := range in.Headers {
		h.Headers[http.CanonicalHeaderKey(k)] = stringOrStrings(raw)
	}
	for k, raw := range in.Query {
		h.Query[k] = stringOrStrings(raw)
	}
	if len(h.Auth) == 0 {
		h.Auth = json.RawMessage(`{}`)
	}
	return nil
}

// stringOrStrings decodes a JSON string or array of strings (numbers and
// other scalars as their JSON text).
func stringOrStrings(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return ss
	}
	return []string{string(raw)}
}

// jsDateString formats t as JavaScript's String(date) does, e.g. "Tue Dec
// 01 2026 19:35:10 GMT+0000 (Coordinated Universal Time)". JavaScript
// names the zone in full; Go knows only its abbreviation, so only UTC gets
// its full name.
func jsDateString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	zone, _ := t.Zone()
	if zone == "UTC" {
		zone = "Coordinated Universal Time"
	}
	return t.Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (" + zone + ")"
}
