//go:build !race

package http1

import "testing"

// TestAllocs pins the zero-allocation claims of the doc comments; the race
// detector allocates on its own, hence the build tag.
func TestAllocs(t *testing.T) {
	var req Request
	// Grow req.Headers once, as the first request on a connection would.
	if _, err := Parse([]byte(wsUpgrade), &req, nil); err != nil {
		t.Fatal(err)
	}
	get, upgrade, post := []byte(pollingGET), []byte(wsUpgrade), []byte(pollingPOST)
	partial, bad := upgrade[:100], []byte("GET / HTTP/1.1\r\nX: a\x00\r\n\r\n")
	scratch := make([]byte, 0, 128)
	dst := make([]byte, 0, 1024)
	vals := make([][]byte, 0, 4)
	head := Head(wsUpgrade)
	tests := []struct {
		name string
		fn   func()
	}{
		{name: "Parse polling GET", fn: func() { _, _ = Parse(get, &req, nil) }},
		{name: "Parse websocket upgrade", fn: func() { _, _ = Parse(upgrade, &req, nil) }},
		{name: "Parse polling POST", fn: func() { _, _ = Parse(post, &req, nil) }},
		{name: "Parse need more", fn: func() { _, _ = Parse(partial, &req, nil) }},
		{name: "Parse error", fn: func() { _, _ = Parse(bad, &req, nil) }},
		{name: "Get", fn: func() { _ = req.Get("sec-websocket-key") }},
		{name: "HasToken", fn: func() { _ = req.HasToken("Upgrade", "websocket") }},
		{name: "AppendValues", fn: func() { vals = req.AppendValues(vals[:0], "Connection") }},
		{name: "AppendQuery", fn: func() { scratch, _ = req.AppendQuery(scratch[:0], "sid") }},
		{name: "Head.Method", fn: func() { _ = head.Method() }},
		{name: "Head.Path", fn: func() { _ = head.Path() }},
		{name: "Head.Get", fn: func() { _, _ = head.Get("sec-websocket-key") }},
		{name: "Head.Combined single", fn: func() { _ = head.Combined("Connection") }},
		{name: "Head.Combined absent", fn: func() { _ = head.Combined("Cookie") }},
		{name: "Head.Query", fn: func() { _, _ = head.Query("transport") }},
		{name: "AppendResponse", fn: func() {
			dst = AppendResponse(dst[:0], 101, []string{"Upgrade", "websocket", "Connection", "Upgrade"}, nil, false)
		}},
		{name: "AppendError", fn: func() { dst = AppendError(dst[:0], ErrHeaderTooLarge) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tc.fn); got != 0 {
				t.Fatalf("%v allocs/op, want 0", got)
			}
		})
	}
}
