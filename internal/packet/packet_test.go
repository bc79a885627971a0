package packet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// validPackets are the examples of the Socket.IO v5 protocol (socket.io
// docs/socket.io-protocol/v5-current.md, Packet encoding) and the inputs
// of the bad-packet cases (F, G) that the reference accepts, with the
// packet each decodes to.
var validPackets = []struct {
	name string
	in   string
	want Packet
}{
	{name: "connect main", in: `0`, want: Packet{Type: Connect, Namespace: "/", ID: NoID}},
	{name: "connect custom no comma", in: `0/custom`, want: Packet{Type: Connect, Namespace: "/custom", ID: NoID}},
	{name: "connect custom comma", in: `0/random,`, want: Packet{Type: Connect, Namespace: "/random", ID: NoID}},
	{name: "connect custom auth", in: `0/custom,{"token":"123"}`, want: Packet{Type: Connect, Namespace: "/custom", ID: NoID, Data: []byte(`{"token":"123"}`)}},
	{name: "connect admin auth", in: `0/admin,{"token":"123"}`, want: Packet{Type: Connect, Namespace: "/admin", ID: NoID, Data: []byte(`{"token":"123"}`)}},
	{name: "connect main auth", in: `0{"token":"abc"}`, want: Packet{Type: Connect, Namespace: "/", ID: NoID, Data: []byte(`{"token":"abc"}`)}},
	{name: "connect reply", in: `0{"sid":"wZX3oN0bSVIhsaknAAAI"}`, want: Packet{Type: Connect, Namespace: "/", ID: NoID, Data: []byte(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}},
	{name: "connect recovery", in: `0{"pid":"qRiEcQLRGp-Q7t_cAAAL","offset":"Q8Jq4OQ"}`, want: Packet{Type: Connect, Namespace: "/", ID: NoID, Data: []byte(`{"pid":"qRiEcQLRGp-Q7t_cAAAL","offset":"Q8Jq4OQ"}`)}},
	{name: "connect explicit slash", in: `0/,`, want: Packet{Type: Connect, Namespace: "/", ID: NoID}},
	{name: "disconnect main", in: `1`, want: Packet{Type: Disconnect, Namespace: "/", ID: NoID}},
	{name: "disconnect custom", in: `1/admin,`, want: Packet{Type: Disconnect, Namespace: "/admin", ID: NoID}},
	{name: "disconnect custom no comma", in: `1/custom`, want: Packet{Type: Disconnect, Namespace: "/custom", ID: NoID}},
	{name: "event", in: `2["message",1,"2",{"3":[true]}]`, want: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["message",1,"2",{"3":[true]}]`)}},
	{name: "event with ack", in: `2456["message-with-ack",1,"2",{"3":[false]}]`, want: Packet{Type: Event, Namespace: "/", ID: 456, Data: []byte(`["message-with-ack",1,"2",{"3":[false]}]`)}},
	{name: "event id 12", in: `212["foo"]`, want: Packet{Type: Event, Namespace: "/", ID: 12, Data: []byte(`["foo"]`)}},
	{name: "event id 0", in: `20["foo"]`, want: Packet{Type: Event, Namespace: "/", ID: 0, Data: []byte(`["foo"]`)}},
	{name: "server emit with ack", in: `21["question",1]`, want: Packet{Type: Event, Namespace: "/", ID: 1, Data: []byte(`["question",1]`)}},
	{name: "event custom ns", in: `2/admin,["bar"]`, want: Packet{Type: Event, Namespace: "/admin", ID: NoID, Data: []byte(`["bar"]`)}},
	{name: "event numeric name", in: `2[1,"x"]`, want: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`[1,"x"]`)}},
	{name: "event negative name", in: `2[-1.5e3]`, want: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`[-1.5e3]`)}},
	{name: "event error name", in: `2["error","x"]`, want: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["error","x"]`)}},
	{name: "event proto name", in: `2["__proto__",{"a":1}]`, want: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["__proto__",{"a":1}]`)}},
	{name: "event whitespace", in: "2 \t[ \"a\" , 1 ]\r\n", want: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte("[ \"a\" , 1 ]")}},
	{name: "event recovery offset", in: `2["hello",false,"Q8Jq4OQ"]`, want: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["hello",false,"Q8Jq4OQ"]`)}},
	{name: "event reserved prefix", in: `2["connection"]`, want: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["connection"]`)}},
	{name: "event ns digits", in: `2/a1,7["x"]`, want: Packet{Type: Event, Namespace: "/a1", ID: 7, Data: []byte(`["x"]`)}},
	{name: "event leading zero id", in: `2007["x"]`, want: Packet{Type: Event, Namespace: "/", ID: 7, Data: []byte(`["x"]`)}},
	{name: "event max id", in: `29007199254740991["x"]`, want: Packet{Type: Event, Namespace: "/", ID: MaxID, Data: []byte(`["x"]`)}},
	{name: "ack", in: `3456[1,"2",{"3":[false]}]`, want: Packet{Type: Ack, Namespace: "/", ID: 456, Data: []byte(`[1,"2",{"3":[false]}]`)}},
	{name: "ack yes", in: `31["yes"]`, want: Packet{Type: Ack, Namespace: "/", ID: 1, Data: []byte(`["yes"]`)}},
	{name: "ack empty", in: `31[]`, want: Packet{Type: Ack, Namespace: "/", ID: 1, Data: []byte(`[]`)}},
	{name: "ack custom ns", in: `3/admin,13["bar"]`, want: Packet{Type: Ack, Namespace: "/admin", ID: 13, Data: []byte(`["bar"]`)}},
	{name: "ack unknown id", in: `3999["x"]`, want: Packet{Type: Ack, Namespace: "/", ID: 999, Data: []byte(`["x"]`)}},
	{name: "ack no payload", in: `3`, want: Packet{Type: Ack, Namespace: "/", ID: NoID}},
	{name: "connect error", in: `4/random,{"message":"Invalid namespace"}`, want: Packet{Type: ConnectError, Namespace: "/random", ID: NoID, Data: []byte(`{"message":"Invalid namespace"}`)}},
	{name: "connect error data", in: `4/private,{"message":"not authorized","data":{"reason":"token missing"}}`, want: Packet{Type: ConnectError, Namespace: "/private", ID: NoID, Data: []byte(`{"message":"not authorized","data":{"reason":"token missing"}}`)}},
	{name: "connect error string", in: `4"boom"`, want: Packet{Type: ConnectError, Namespace: "/", ID: NoID, Data: []byte(`"boom"`)}},
	{name: "binary event", in: `52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, want: Packet{Type: BinaryEvent, Namespace: "/", ID: 789, Attachments: 2, Data: []byte(`["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
	{name: "binary event nested", in: `52-["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},"Q8Jq4Ln"]`, want: Packet{Type: BinaryEvent, Namespace: "/", ID: NoID, Attachments: 2, Data: []byte(`["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},"Q8Jq4Ln"]`)}},
	{name: "binary event one", in: `51-["x",{"_placeholder":true,"num":0}]`, want: Packet{Type: BinaryEvent, Namespace: "/", ID: NoID, Attachments: 1, Data: []byte(`["x",{"_placeholder":true,"num":0}]`)}},
	{name: "binary event max", in: `510-["x"]`, want: Packet{Type: BinaryEvent, Namespace: "/", ID: NoID, Attachments: 10, Data: []byte(`["x"]`)}},
	{name: "binary event ns", in: `51-/admin,3["x",{"_placeholder":true,"num":0}]`, want: Packet{Type: BinaryEvent, Namespace: "/admin", ID: 3, Attachments: 1, Data: []byte(`["x",{"_placeholder":true,"num":0}]`)}},
	{name: "binary ack", in: `62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, want: Packet{Type: BinaryAck, Namespace: "/", ID: 789, Attachments: 2, Data: []byte(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
}

func TestDecodeValid(t *testing.T) {
	for _, tc := range validPackets {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.in), 10)
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.in, err)
			}
			if !packetEqual(got, tc.want) {
				t.Fatalf("Decode(%q) = %s, want %s", tc.in, dump(got), dump(tc.want))
			}
		})
	}
}

func packetEqual(a, b Packet) bool {
	return a.Type == b.Type && a.Namespace == b.Namespace && a.ID == b.ID &&
		a.Attachments == b.Attachments && bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil)
}

func dump(p Packet) string {
	var sb strings.Builder
	sb.WriteString(p.Type.String())
	sb.WriteString(" nsp=" + p.Namespace)
	sb.WriteString(" id=" + string(AppendEncode(nil, &Packet{Type: 0, ID: p.ID})[1:]))
	sb.WriteString(" atts=" + string(rune('0'+p.Attachments)))
	if p.Data == nil {
		sb.WriteString(" data=<nil>")
	} else {
		sb.WriteString(" data=" + string(p.Data))
	}
	return sb.String()
}

// invalidPackets are inputs the reference rejects (or that we reject on
// purpose, see Decode), with the error expected.
var invalidPackets = []struct {
	name string
	in   string
	want error
}{
	{name: "empty", in: ``, want: ErrEmpty},
	{name: "type letter", in: `abc`, want: ErrUnknownType},
	{name: "type 7", in: `7`, want: ErrUnknownType},
	{name: "type 9", in: `9["x"]`, want: ErrUnknownType},
	{name: "type space", in: ` 2["x"]`, want: ErrUnknownType},
	{name: "connect string auth", in: `0"abc"`, want: ErrPayload},
	{name: "connect array", in: `0["a"]`, want: ErrPayload},
	{name: "connect null", in: `0null`, want: ErrPayload},
	{name: "connect whitespace only", in: `0 `, want: ErrJSON},
	{name: "disconnect payload", in: `1{}`, want: ErrPayload},
	{name: "disconnect ns payload", in: `1/admin,{}`, want: ErrPayload},
	{name: "event no payload", in: `2`, want: ErrPayload},
	{name: "event object", in: `2{}`, want: ErrPayload},
	{name: "event object a", in: `2{"a":1}`, want: ErrPayload},
	{name: "event garbage", in: `2abc["x"]`, want: ErrJSON},
	{name: "event unterminated", in: `2["a",`, want: ErrJSON},
	{name: "event empty array", in: `2[]`, want: ErrPayload},
	{name: "event null name", in: `2[null]`, want: ErrPayload},
	{name: "event bool name", in: `2[true]`, want: ErrPayload},
	{name: "event object name", in: `2[{"toString":"foo"}]`, want: ErrPayload},
	{name: "event array name", in: `2[["x"]]`, want: ErrPayload},
	{name: "event string payload", in: `2"x"`, want: ErrPayload},
	{name: "reserved connect", in: `2["connect"]`, want: ErrReservedEvent},
	{name: "reserved connect_error", in: `2["connect_error"]`, want: ErrReservedEvent},
	{name: "reserved disconnect", in: `2["disconnect"]`, want: ErrReservedEvent},
	{name: "reserved disconnecting", in: `2["disconnecting"]`, want: ErrReservedEvent},
	{name: "reserved newListener", in: `2["newListener"]`, want: ErrReservedEvent},
	{name: "reserved removeListener", in: `2["removeListener",1]`, want: ErrReservedEvent},
	{name: "reserved escaped", in: `2["conn\u0065ct"]`, want: ErrReservedEvent},
	{name: "reserved escaped long", in: `2["\u0072\u0065\u006d\u006f\u0076\u0065\u004c\u0069\u0073\u0074\u0065\u006e\u0065\u0072"]`, want: ErrReservedEvent},
	{name: "reserved binary", in: `51-["disconnect",{"_placeholder":true,"num":0}]`, want: ErrReservedEvent},
	{name: "trailing garbage", in: `2["x"]x`, want: ErrJSON},
	{name: "two values", in: `2["x"]["y"]`, want: ErrJSON},
	{name: "trailing comma", in: `2["x",]`, want: ErrJSON},
	{name: "single quotes", in: `2['x']`, want: ErrJSON},
	{name: "control char in string", in: "2[\"a\x01\"]", want: ErrJSON},
	{name: "bad escape", in: `2["\x"]`, want: ErrJSON},
	{name: "short unicode escape", in: `2["\u12"]`, want: ErrJSON},
	{name: "leading zero number", in: `2[01]`, want: ErrJSON},
	{name: "bare minus", in: `2[-]`, want: ErrJSON},
	{name: "dot without digits", in: `2[1.]`, want: ErrJSON},
	{name: "exp without digits", in: `2[1e]`, want: ErrJSON},
	{name: "NaN", in: `2[NaN]`, want: ErrJSON},
	{name: "object bad key", in: `2["x",{a:1}]`, want: ErrJSON},
	{name: "object missing colon", in: `2["x",{"a" 1}]`, want: ErrJSON},
	{name: "truncated literal", in: `2["x",tru]`, want: ErrJSON},
	{name: "too deep", in: `2["x",` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `]`, want: ErrDepth},
	{name: "very deep", in: `2["x",` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat("}", 5000) + `]`, want: ErrDepth},
	{name: "ack id above 2^64", in: `3100000000000000000000["x"]`, want: ErrAckID},
	{name: "ack id 2^53", in: `29007199254740992["x"]`, want: ErrAckID},
	{name: "ack object", in: `31{}`, want: ErrPayload},
	{name: "ack string", in: `31"x"`, want: ErrPayload},
	{name: "connect error array", in: `4["x"]`, want: ErrPayload},
	{name: "connect error bool", in: `4true`, want: ErrPayload},
	{name: "connect error number", in: `4 1`, want: ErrPayload},
	{name: "attachments missing", in: `5-["x"]`, want: ErrAttachments},
	{name: "attachments zero", in: `50-["x"]`, want: ErrAttachments},
	{name: "attachments zeros", in: `500-["x"]`, want: ErrAttachments},
	{name: "attachments 11", in: `511-["x"]`, want: ErrTooManyAttachments},
	{name: "attachments huge", in: `51000000000-["x"]`, want: ErrTooManyAttachments},
	{name: "attachments overflow", in: `5` + strings.Repeat("9", 400) + `-["x"]`, want: ErrTooManyAttachments},
	{name: "attachments letters", in: `5abc-["x"]`, want: ErrAttachments},
	{name: "attachments no dash", in: `51["x"]`, want: ErrAttachments},
	{name: "attachments no dash end", in: `51`, want: ErrAttachments},
	{name: "attachments sign", in: `5+1-["x"]`, want: ErrAttachments},
	{name: "binary type only", in: `5`, want: ErrAttachments},
	{name: "binary ack zero", in: `60-[]`, want: ErrAttachments},
	{name: "binary ack object", in: `61-{}`, want: ErrPayload},
	{name: "binary event no payload", in: `51-`, want: ErrPayload},
	{name: "namespace then garbage", in: `2/admin["x"]`, want: ErrPayload},
}

func TestDecodeInvalid(t *testing.T) {
	for _, tc := range invalidPackets {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.in), 10)
			if err == nil {
				t.Fatalf("Decode(%q) = %s, want error %v", tc.in, dump(got), tc.want)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%q) error = %v, want %v", tc.in, err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q) error %v does not wrap ErrInvalid", tc.in, err)
			}
		})
	}
}

func TestDecodeMaxAttachments(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		ok   bool
	}{
		{name: "default accepts 10", in: `510-["x"]`, max: 0, ok: true},
		{name: "default refuses 11", in: `511-["x"]`, max: 0, ok: false},
		{name: "negative means default", in: `511-["x"]`, max: -5, ok: false},
		{name: "custom 2 accepts 2", in: `52-["x"]`, max: 2, ok: true},
		{name: "custom 2 refuses 3", in: `53-["x"]`, max: 2, ok: false},
		{name: "custom 100 accepts 11", in: `511-["x"]`, max: 100, ok: true},
		{name: "huge limit no overflow", in: `5` + strings.Repeat("9", 40) + `-["x"]`, max: int(^uint(0) >> 1), ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in), tc.max)
			if (err == nil) != tc.ok {
				t.Fatalf("Decode(%q, %d) error = %v, want ok=%v", tc.in, tc.max, err, tc.ok)
			}
		})
	}
}

// TestDecodeAliases checks the documented lifetime: Data is a view of the
// input, not a copy.
func TestDecodeAliases(t *testing.T) {
	in := []byte(`2["x",1]`)
	p, err := Decode(in, 10)
	if err != nil {
		t.Fatal(err)
	}
	in[len(in)-2] = '2'
	if string(p.Data) != `["x",2]` {
		t.Fatalf("Data = %s, want a view of the input", p.Data)
	}
}

func TestAppendEncode(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{name: "connect", p: Packet{Type: Connect, Namespace: "/", ID: NoID}, want: `0`},
		{name: "connect empty ns", p: Packet{Type: Connect, ID: NoID}, want: `0`},
		{name: "connect reply", p: Packet{Type: Connect, Namespace: "/", ID: NoID, Data: []byte(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}, want: `0{"sid":"wZX3oN0bSVIhsaknAAAI"}`},
		{name: "connect admin reply", p: Packet{Type: Connect, Namespace: "/admin", ID: NoID, Data: []byte(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)}, want: `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`},
		{name: "connect custom always comma", p: Packet{Type: Connect, Namespace: "/custom", ID: NoID}, want: `0/custom,`},
		{name: "disconnect", p: Packet{Type: Disconnect, Namespace: "/", ID: NoID}, want: `1`},
		{name: "disconnect admin", p: Packet{Type: Disconnect, Namespace: "/admin", ID: NoID}, want: `1/admin,`},
		{name: "event", p: Packet{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["message",1,"2",{"3":[true]}]`)}, want: `2["message",1,"2",{"3":[true]}]`},
		{name: "event ack", p: Packet{Type: Event, Namespace: "/", ID: 1, Data: []byte(`["question",1]`)}, want: `21["question",1]`},
		{name: "event ack 0", p: Packet{Type: Event, Namespace: "/", ID: 0, Data: []byte(`["a"]`)}, want: `20["a"]`},
		{name: "ack", p: Packet{Type: Ack, Namespace: "/", ID: 456, Data: []byte(`[1,"2",{"3":[false]}]`)}, want: `3456[1,"2",{"3":[false]}]`},
		{name: "ack ns", p: Packet{Type: Ack, Namespace: "/admin", ID: 13, Data: []byte(`["bar"]`)}, want: `3/admin,13["bar"]`},
		{name: "connect error", p: Packet{Type: ConnectError, Namespace: "/random", ID: NoID, Data: []byte(`{"message":"Invalid namespace"}`)}, want: `4/random,{"message":"Invalid namespace"}`},
		{name: "binary ack", p: Packet{Type: BinaryAck, Namespace: "/", ID: 789, Attachments: 2, Data: []byte(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}, want: `62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{name: "binary event ns", p: Packet{Type: BinaryEvent, Namespace: "/a", ID: NoID, Attachments: 12, Data: []byte(`["x"]`)}, want: `512-/a,["x"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("4")
			got := AppendEncode(prefix, &tc.p)
			if string(got) != "4"+tc.want {
				t.Fatalf("AppendEncode = %q, want %q", got, "4"+tc.want)
			}
		})
	}
}

// TestRoundTrip checks decode(encode(p)) == p for every valid example, and
// that encode(decode(x)) is canonical: it decodes to the same packet and
// encodes to itself.
func TestRoundTrip(t *testing.T) {
	for _, tc := range validPackets {
		t.Run(tc.name, func(t *testing.T) {
			enc := AppendEncode(nil, &tc.want)
			got, err := Decode(enc, 10)
			if err != nil {
				t.Fatalf("Decode(AppendEncode) of %q: %v", enc, err)
			}
			if !packetEqual(got, tc.want) {
				t.Fatalf("round trip of %q = %s, want %s", enc, dump(got), dump(tc.want))
			}
			if again := AppendEncode(nil, &got); !bytes.Equal(again, enc) {
				t.Fatalf("encoding not canonical: %q then %q", enc, again)
			}
		})
	}
}

// TestDecodePrefixes feeds every proper prefix of every valid packet: none
// may panic, and no prefix of an EVENT that cuts into its JSON may be
// accepted (a truncated message must never pass as a complete one).
func TestDecodePrefixes(t *testing.T) {
	for _, tc := range validPackets {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			dataStart := bytes.LastIndex(in, tc.want.Data)
			dataEnd := dataStart + len(tc.want.Data)
			for n := 0; n < len(in); n++ {
				p, err := Decode(in[:n], 10)
				if err == nil && tc.want.Type == Event && n > dataStart && n < dataEnd {
					t.Fatalf("prefix %q accepted as %s", in[:n], dump(p))
				}
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	if got := BinaryAck.String(); got != "BINARY_ACK" {
		t.Fatalf("BinaryAck.String() = %q", got)
	}
	if got := Type(9).String(); got != "Type(9)" {
		t.Fatalf("Type(9).String() = %q", got)
	}
}
