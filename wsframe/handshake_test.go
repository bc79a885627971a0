package wsframe

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// headers is a case-insensitive header lookup, as CheckHandshake expects.
type headers map[string]string

func (h headers) get(name string) string { return h[strings.ToLower(name)] }

func goodHeaders() headers {
	return headers{
		"host":                     "localhost:3000",
		"upgrade":                  "websocket",
		"connection":               "Upgrade",
		"sec-websocket-key":        "dGhlIHNhbXBsZSBub25jZQ==",
		"sec-websocket-version":    "13",
		"sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
	}
}

func with(kv ...string) headers {
	h := goodHeaders()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<absent>" {
			delete(h, strings.ToLower(kv[i]))
		} else {
			h[strings.ToLower(kv[i])] = kv[i+1]
		}
	}
	return h
}

// TestCheckHandshake covers bad opening handshakes (cases C1-C6: the key,
// the version, the method, the Upgrade header, the extensions and the
// subprotocol ReDoS input), each with the answer of engine.io over ws, and
// the accepted variants real clients send.
func TestCheckHandshake(t *testing.T) {
	const (
		keyMsg     = "Missing or invalid Sec-WebSocket-Key header"
		versionMsg = "Missing or invalid Sec-WebSocket-Version header"
		upgradeMsg = "Invalid Upgrade header"
		connMsg    = "Missing or invalid Connection header"
		methodMsg  = "Bad handshake method"
		protoMsg   = "Invalid Sec-WebSocket-Protocol header"
	)
	tests := []struct {
		name    string
		method  string
		h       headers
		wantKey string
		wantMsg string // "" when accepted
	}{
		{name: "valid", h: goodHeaders(), wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},
		{name: "header values trimmed", h: with("Sec-WebSocket-Key", " dGhlIHNhbXBsZSBub25jZQ==\t", "Sec-WebSocket-Version", " 13 "),
			wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},
		{name: "Connection list with keep-alive", h: with("Connection", "keep-alive, Upgrade"), wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},
		{name: "tokens are case-insensitive", h: with("Connection", "UPGRADE", "Upgrade", "WebSocket"), wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},
		{name: "repeated Upgrade headers joined", h: with("Upgrade", "h2c, websocket"), wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},

		{name: "C1 missing key", h: with("Sec-WebSocket-Key", "<absent>"), wantMsg: keyMsg},
		{name: "C1 empty key", h: with("Sec-WebSocket-Key", ""), wantMsg: keyMsg},
		{name: "C1 key of 15 bytes", h: with("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"), wantMsg: keyMsg},
		{name: "C1 key of 17 bytes", h: with("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA="), wantMsg: keyMsg},
		{name: "C1 key not base64", h: with("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j*Q=="), wantMsg: keyMsg},
		{name: "C1 key without padding", h: with("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQAA"), wantMsg: keyMsg},
		{name: "C1 key with a space inside", h: with("Sec-WebSocket-Key", "dGhlIHNhbXBs ZSBub25jZQ=="), wantMsg: keyMsg},

		{name: "C2 version 8 accepted", h: with("Sec-WebSocket-Version", "8"), wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},
		{name: "C2 version 7", h: with("Sec-WebSocket-Version", "7"), wantMsg: versionMsg},
		{name: "C2 version 14", h: with("Sec-WebSocket-Version", "14"), wantMsg: versionMsg},
		{name: "C2 version missing", h: with("Sec-WebSocket-Version", "<absent>"), wantMsg: versionMsg},
		{name: "C2 version list", h: with("Sec-WebSocket-Version", "13, 8"), wantMsg: versionMsg},

		{name: "C3 POST", method: "POST", h: goodHeaders(), wantMsg: methodMsg},
		{name: "C3 PUT", method: "PUT", h: goodHeaders(), wantMsg: methodMsg},
		{name: "C3 lower-case get", method: "get", h: goodHeaders(), wantMsg: methodMsg},
		{name: "C3 method before anything else", method: "POST", h: with("Upgrade", "foo", "Sec-WebSocket-Key", ""), wantMsg: methodMsg},

		{name: "C4 Upgrade foo", h: with("Upgrade", "foo"), wantMsg: upgradeMsg},
		{name: "C4 Upgrade missing", h: with("Upgrade", "<absent>"), wantMsg: upgradeMsg},
		{name: "C4 Upgrade websocket2", h: with("Upgrade", "websocket2"), wantMsg: upgradeMsg},
		{name: "Connection missing", h: with("Connection", "<absent>"), wantMsg: connMsg},
		{name: "Connection keep-alive only", h: with("Connection", "keep-alive"), wantMsg: connMsg},

		{name: "C5 extensions constructor ignored", h: with("Sec-WebSocket-Extensions", "constructor"), wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},
		{name: "C5 malformed extensions ignored", h: with("Sec-WebSocket-Extensions", "permessage-deflate; =;;,,\x00"), wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},

		{name: "C6 protocol ReDoS input", h: with("Sec-WebSocket-Protocol", "b"+strings.Repeat(" ", 30000)+"x"), wantMsg: protoMsg},
		{name: "C6 protocol ReDoS input, 3 MB", h: with("Sec-WebSocket-Protocol", "b"+strings.Repeat(" ", 3_000_000)+"x"), wantMsg: protoMsg},
		{name: "protocol list accepted", h: with("Sec-WebSocket-Protocol", "chat, superchat ,v1.socket.io"), wantKey: "dGhlIHNhbXBsZSBub25jZQ=="},
		{name: "protocol empty element", h: with("Sec-WebSocket-Protocol", "chat,,x"), wantMsg: protoMsg},
		{name: "protocol trailing comma", h: with("Sec-WebSocket-Protocol", "chat,"), wantMsg: protoMsg},
		{name: "protocol with a separator", h: with("Sec-WebSocket-Protocol", "a/b"), wantMsg: protoMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			start := time.Now()
			key, err := CheckHandshake(method, tt.h.get)
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v: not linear time", d)
			}
			if tt.wantMsg == "" {
				if err != nil || key != tt.wantKey {
					t.Fatalf("got key %q, err %v; want %q", key, err, tt.wantKey)
				}
				return
			}
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("got key %q, err %v; want %q", key, err, tt.wantMsg)
			}
			if he.Status != http.StatusBadRequest || he.Message != tt.wantMsg || key != "" {
				t.Fatalf("got %d %q (key %q), want 400 %q", he.Status, he.Message, key, tt.wantMsg)
			}
			wantHeader := ""
			if tt.wantMsg == versionMsg {
				wantHeader = "Sec-WebSocket-Version: 13, 8"
			}
			if he.Header != wantHeader {
				t.Fatalf("Header %q, want %q", he.Header, wantHeader)
			}
		})
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 §1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
	// Lengths other than 24 take the slow path; the value is from Python's
	// base64.b64encode(hashlib.sha1(b"short" + GUID).digest()).
	if got, want := AcceptKey("short"), "JQHdhQRrQ3pd0VAHx7vMGlEiL+4="; got != want {
		t.Fatalf("AcceptKey(short) = %q, want %q", got, want)
	}
}

func TestAppendUpgradeResponse(t *testing.T) {
	resp := AppendUpgradeResponse([]byte("x"), "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: chat", "X-Evil: a\r\nSet-Cookie: b")
	want := "xHTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Protocol: chat\r\n" +
		"X-Evil: a  Set-Cookie: b\r\n" +
		"\r\n"
	if string(resp) != want {
		t.Fatalf("got\n%q\nwant\n%q", resp, want)
	}
	r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp[1:])), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 101 || r.Header.Get("Set-Cookie") != "" || r.Header.Get("Sec-WebSocket-Protocol") != "chat" {
		t.Fatalf("parsed %d %v", r.StatusCode, r.Header)
	}
}

func TestAppendHandshakeError(t *testing.T) {
	_, err := CheckHandshake("GET", with("Sec-WebSocket-Version", "7").get)
	he := err.(*HandshakeError)
	resp := AppendHandshakeError(nil, he)
	r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != 400 || string(body) != he.Message || r.Header.Get("Sec-WebSocket-Version") != "13, 8" || !r.Close {
		t.Fatalf("parsed %d %q %v", r.StatusCode, body, r.Header)
	}
}

func TestFirstSubprotocol(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "empty", in: "", want: ""},
		{name: "one", in: "chat", want: "chat"},
		{name: "list", in: " chat , superchat", want: "chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FirstSubprotocol(tt.in); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestInteropGobwasClient runs gobwas/ws's client against this package
// over an in-memory pipe: its handshake must accept our 101, and its
// frames (including a fragmented message and a ping) must decode, and our
// frames read back on its side.
func TestInteropGobwasClient(t *testing.T) {
	cli, srv := net.Pipe()
	defer cli.Close()
	serverErr := make(chan error, 1)
	go func() {
		defer srv.Close()
		serverErr <- echoServer(srv)
	}()

	u, _ := url.Parse("ws://example.test/socket.io/?EIO=4&transport=websocket")
	br, _, err := ws.Dialer{}.Upgrade(cli, u)
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if br != nil {
		t.Fatal("server sent bytes after the 101")
	}

	if err := wsutil.WriteClientText(cli, []byte("42[\"hello\"]")); err != nil {
		t.Fatal(err)
	}
	assertEcho(t, cli, ws.OpText, "42[\"hello\"]")

	w := wsutil.NewWriterSize(cli, ws.StateClientSide, ws.OpBinary, 16)
	long := bytes.Repeat([]byte("0123456789"), 20)
	if _, err := w.Write(long); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	assertEcho(t, cli, ws.OpBinary, string(long))

	if err := wsutil.WriteClientMessage(cli, ws.OpPing, []byte("are you there")); err != nil {
		t.Fatal(err)
	}
	assertEcho(t, cli, ws.OpPong, "are you there")

	if err := wsutil.WriteClientMessage(cli, ws.OpClose, ws.NewCloseFrameBody(1000, "")); err != nil {
		t.Fatal(err)
	}
	h, err := ws.ReadHeader(cli)
	if err != nil || h.OpCode != ws.OpClose || h.Length != 2 {
		t.Fatalf("close reply %+v, %v", h, err)
	}
	p := make([]byte, 2)
	if _, err := io.ReadFull(cli, p); err != nil || p[0] != 0x03 || p[1] != 0xE8 {
		t.Fatalf("close reply payload % x, %v", p, err)
	}
	if err := <-serverErr; err != nil {
		t.Fatal(err)
	}
}

func assertEcho(t *testing.T, c net.Conn, op ws.OpCode, want string) {
	t.Helper()
	h, err := ws.ReadHeader(c)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatal(err)
	}
	if h.OpCode != op || !h.Fin || h.Masked || string(p) != want {
		t.Fatalf("got %+v %q, want %v %q", h, p, op, want)
	}
}

// echoServer is a minimal blocking stand-in for the loop: it answers the
// handshake, echoes data messages, answers pings, and echoes a close.
func echoServer(c net.Conn) error {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return err
	}
	key, err := CheckHandshake(req.Method, func(name string) string {
		return strings.Join(req.Header.Values(name), ", ")
	})
	if err != nil {
		return err
	}
	if _, err := c.Write(AppendUpgradeResponse(nil, key)); err != nil {
		return err
	}
	var d Decoder
	defer d.Release()
	var pending []byte
	buf := make([]byte, 512)
	for {
		n, m, ok, err := d.Decode(pending)
		if err != nil {
			return err
		}
		if n == 0 {
			k, err := br.Read(buf)
			if err != nil {
				return err
			}
			pending = append(pending, buf[:k]...)
			continue
		}
		pending = pending[n:]
		if !ok {
			continue
		}
		var out []byte
		switch m.Kind {
		case KindText:
			out = AppendFrame(nil, ws.OpText, m.Payload)
		case KindBinary:
			out = AppendFrame(nil, ws.OpBinary, m.Payload)
		case KindPing:
			out = AppendFrame(nil, ws.OpPong, m.Payload)
		case KindClose:
			_, err := c.Write(AppendClose(nil, m.CloseCode, ""))
			return err
		}
		if _, err := c.Write(out); err != nil {
			return err
		}
	}
}
