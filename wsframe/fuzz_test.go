package wsframe

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzDecoder feeds arbitrary bytes whole, cut in two at a fuzzed position
// and a byte at a time, under fuzzed limits. Decode must never panic or
// consume more than it was given, every message must respect the limits
// and the text and close rules, and all three feedings must agree.
func FuzzDecoder(f *testing.F) {
	for _, c := range autobahnCases() {
		if c.small() {
			f.Add(c.in, uint16(len(c.in)/2), uint16(0), uint8(0))
		}
	}
	in, _ := mixedStream()
	f.Add(in, uint16(17), uint16(200), uint8(3))
	f.Add([]byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, uint16(3), uint16(0), uint8(0))

	f.Fuzz(func(t *testing.T, data []byte, split uint16, limit uint16, frags uint8) {
		mk := func() *Decoder {
			return &Decoder{MaxMessageSize: int64(limit), MaxFragments: int(frags)}
		}
		d := mk()
		max := d.limit()
		whole := run(d, data)
		for _, e := range whole.events {
			switch e.kind {
			case KindText:
				if !utf8.ValidString(e.payload) {
					t.Fatalf("invalid UTF-8 delivered: %q", e.payload)
				}
				fallthrough
			case KindBinary:
				if int64(len(e.payload)) > max {
					t.Fatalf("%d-byte message over the %d limit", len(e.payload), max)
				}
			case KindPing, KindPong:
				if len(e.payload) > 125 {
					t.Fatalf("%d-byte control frame", len(e.payload))
				}
			case KindClose:
				if e.code != 1005 && !ValidCloseCode(e.code) || !utf8.ValidString(e.reason) {
					t.Fatalf("bad close accepted: %v", e)
				}
			default:
				t.Fatalf("message of kind %d", e.kind)
			}
		}
		d.Release()

		at := int(split) % (len(data) + 1)
		if got := run(mk(), data[:at], data[at:]); !got.equal(whole) {
			t.Fatalf("split at %d:\n got %v\nwant %v", at, got, whole)
		}
		if len(data) <= 4096 {
			if got := run(mk(), chop(data, 1)...); !got.equal(whole) {
				t.Fatalf("byte at a time:\n got %v\nwant %v", got, whole)
			}
		}
		// A released Decoder must behave as a new one.
		if got := run(d, slices.Clone(data)); !got.equal(whole) {
			t.Fatalf("after Release:\n got %v\nwant %v", got, whole)
		}
	})
}

// FuzzCheckHandshake: arbitrary header values never panic, a key that is
// accepted is a 24-byte base64 key, and the 101 built from it parses as
// HTTP with the right accept value.
func FuzzCheckHandshake(f *testing.F) {
	f.Add("GET", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13", "chat, superchat")
	f.Add("GET", "WebSocket, h2c", "keep-alive, upgrade", "AAAAAAAAAAAAAAAAAAAAAA==", "8", "")
	f.Add("POST", "foo", "", "x", "7", "b      x")
	f.Fuzz(func(t *testing.T, method, upgrade, connection, key, version, protocol string) {
		h := headers{
			"upgrade":                upgrade,
			"connection":             connection,
			"sec-websocket-key":      key,
			"sec-websocket-version":  version,
			"sec-websocket-protocol": protocol,
		}
		got, err := CheckHandshake(method, h.get)
		if err != nil {
			he, ok := err.(*HandshakeError)
			if !ok || he.Status != 400 || he.Message == "" || got != "" {
				t.Fatalf("bad refusal %#v, key %q", err, got)
			}
			resp := AppendHandshakeError(nil, he)
			if _, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), nil); err != nil {
				t.Fatalf("refusal does not parse: %v", err)
			}
			return
		}
		if len(got) != 24 || !validKey(got) {
			t.Fatalf("accepted key %q", got)
		}
		extra := "Sec-WebSocket-Protocol: " + FirstSubprotocol(protocol)
		resp := AppendUpgradeResponse(nil, got, extra)
		r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), nil)
		if err != nil {
			t.Fatalf("101 does not parse: %v\n%q", err, resp)
		}
		if r.StatusCode != 101 || r.Header.Get("Sec-WebSocket-Accept") != AcceptKey(got) {
			t.Fatalf("parsed %d %v", r.StatusCode, r.Header)
		}
		if p := FirstSubprotocol(protocol); p != "" && r.Header.Get("Sec-WebSocket-Protocol") != p {
			t.Fatalf("subprotocol %q, want %q", r.Header.Get("Sec-WebSocket-Protocol"), p)
		}
	})
}
