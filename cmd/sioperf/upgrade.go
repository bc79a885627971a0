package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Transports of the subscribers and echo clients (-transport).
const (
	// transportWebSocket opens a WebSocket at once, as the benchmark
	// contract's clients do (and socket.io-client with transports:
	// ["websocket"]).
	transportWebSocket = "websocket"
	// transportUpgrade does what io() does in a browser: an Engine.IO
	// handshake over HTTP long-polling on its own TCP connection, then a
	// WebSocket carrying the session's id, the probe ("2probe", "3probe")
	// and the upgrade ("5"), and then the Socket.IO connect over the
	// WebSocket.
	transportUpgrade = "upgrade"
)

// pollingPath turns the WebSocket request path of the spec into the
// Engine.IO polling handshake's.
func pollingPath(wsPath string) (string, error) {
	if !strings.Contains(wsPath, "transport=websocket") {
		return "", fmt.Errorf("sioperf: -transport %s needs a path with transport=websocket, not %q", transportUpgrade, wsPath)
	}
	return strings.Replace(wsPath, "transport=websocket", "transport=polling", 1), nil
}

// errNoSid reports a polling handshake whose answer is not an open packet.
var errNoSid = errors.New("sioperf: polling handshake: no open packet with a sid")

// pollingHandshake opens an Engine.IO session over long-polling on a TCP
// connection of its own (a browser's first request; a shared keep-alive
// connection would put every session on the server loop that accepted it)
// and returns the session id. The connection is closed afterwards.
func pollingHandshake(ctx context.Context, d *net.Dialer, addr, path string) (string, error) {
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		return "", fmt.Errorf("sioperf: polling handshake: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("sioperf: polling handshake: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sioperf: polling handshake: status %d: %q", resp.StatusCode, body)
	}
	return openSid(body)
}

// openSid reads the session id from an Engine.IO open packet ("0{...}"),
// the first packet of a polling payload.
func openSid(payload []byte) (string, error) {
	if i := strings.IndexByte(string(payload), 0x1e); i >= 0 {
		payload = payload[:i]
	}
	if len(payload) < 2 || payload[0] != '0' {
		return "", errNoSid
	}
	var open struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(payload[1:], &open); err != nil || open.Sid == "" {
		return "", errNoSid
	}
	return open.Sid, nil
}
