package sio_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/sioloop/sioloop/sio"
)

// clientNames are the files socket.io serves under its path.
var clientNames = []string{
	"socket.io.js", "socket.io.js.map",
	"socket.io.min.js", "socket.io.min.js.map",
	"socket.io.esm.min.js", "socket.io.esm.min.js.map",
	"socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawClient leaves compression to the tests and keeps connections alive, so
// a request after a HEAD reuses the connection.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// rawGet issues one request without the transport's transparent gzip.
func rawGet(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClientFiles serves the client from Config.ClientFiles with the
// embedded bundle's behaviour: content ETags, 304, gzip computed or taken
// from a sibling, a br sibling, HEAD, and 404 naming a missing file.
func TestClientFiles(t *testing.T) {
	files := fstest.MapFS{}
	content := map[string][]byte{}
	for _, n := range clientNames {
		if n == "socket.io.msgpack.min.js.map" {
			continue // missing on purpose
		}
		content[n] = []byte(strings.Repeat("/* "+n+" */\n", 50))
		files[n] = &fstest.MapFile{Data: content[n]}
	}
	files["socket.io.min.js.gz"] = &fstest.MapFile{Data: gzipBytes(t, content["socket.io.min.js"])}
	files["socket.io.min.js.br"] = &fstest.MapFile{Data: []byte("br bytes")}
	// A stale .gz sibling is not served: the file is compressed afresh.
	files["socket.io.js.gz"] = &fstest.MapFile{Data: gzipBytes(t, []byte("old"))}

	var logs syncBuffer
	srv := sio.NewServer(sio.Config{
		ClientFiles: files,
		Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
	})
	defer srv.Close()
	if !strings.Contains(logs.String(), "socket.io.msgpack.min.js.map") {
		t.Errorf("NewServer logged %q, want the missing file named", logs.String())
	}
	// The FS is read once: later changes do not show.
	files["socket.io.js"] = &fstest.MapFile{Data: []byte("changed")}

	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := ts.URL + "/socket.io/"

	etags := map[string]string{}
	for _, n := range clientNames[:7] {
		resp, body := rawGet(t, "GET", base+n, nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, content[n]) {
			t.Fatalf("%s: status %d body %q", n, resp.StatusCode, body)
		}
		wantType := "application/javascript; charset=utf-8"
		if strings.HasSuffix(n, ".map") {
			wantType = "application/json; charset=utf-8"
		}
		etag := resp.Header.Get("Etag")
		if resp.Header.Get("Content-Type") != wantType || resp.Header.Get("Cache-Control") != "public, max-age=0" ||
			resp.Header.Get("Vary") != "Accept-Encoding" || len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
			t.Fatalf("%s: headers %v", n, resp.Header)
		}
		if other, dup := etags[etag]; dup {
			t.Fatalf("%s and %s share ETag %s", n, other, etag)
		}
		etags[etag] = n

		resp, body = rawGet(t, "GET", base+n, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("Etag") != etag {
			t.Fatalf("%s If-None-Match: status %d, %d bytes, ETag %q", n, resp.StatusCode, len(body), resp.Header.Get("Etag"))
		}
		resp, _ = rawGet(t, "GET", base+n, map[string]string{"If-None-Match": `"other"`})
		if resp.StatusCode != 200 {
			t.Fatalf("%s stale If-None-Match: status %d", n, resp.StatusCode)
		}

		resp, body = rawGet(t, "GET", base+n, map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s gzip: status %d encoding %q", n, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, content[n]) {
			t.Fatalf("%s: gzip body decodes to %q, %v", n, plain, err)
		}
		if resp.Header.Get("Etag") != etag {
			t.Fatalf("%s: gzip ETag %q, identity %q", n, resp.Header.Get("Etag"), etag)
		}
	}

	t.Run("br sibling", func(t *testing.T) {
		resp, body := rawGet(t, "GET", base+"socket.io.min.js", map[string]string{"Accept-Encoding": "gzip, br"})
		if resp.Header.Get("Content-Encoding") != "br" || string(body) != "br bytes" {
			t.Fatalf("encoding %q body %q", resp.Header.Get("Content-Encoding"), body)
		}
		// Without a br sibling, br is never chosen.
		resp, _ = rawGet(t, "GET", base+"socket.io.js", map[string]string{"Accept-Encoding": "gzip, br"})
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("no br sibling: encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
		}
		resp, body = rawGet(t, "GET", base+"socket.io.js", map[string]string{"Accept-Encoding": "br"})
		if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, content["socket.io.js"]) {
			t.Fatalf("br only, no br sibling: encoding %q", resp.Header.Get("Content-Encoding"))
		}
	})

	t.Run("head", func(t *testing.T) {
		resp, body := rawGet(t, "HEAD", base+"socket.io.js", nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(content["socket.io.js"])) {
			t.Fatalf("status %d, %d body bytes, length %d", resp.StatusCode, len(body), resp.ContentLength)
		}
	})

	t.Run("event loops", func(t *testing.T) {
		srv := sio.NewServer(sio.Config{ClientFiles: files, Loops: 1})
		defer srv.Close()
		base := "http://" + listen(srv, nil) + "/socket.io/"
		want := content["socket.io.min.js"]
		resp, body := rawGet(t, "GET", base+"socket.io.min.js", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("GET: status %d, %d bytes", resp.StatusCode, len(body))
		}
		etag := resp.Header.Get("Etag")
		resp, body = rawGet(t, "HEAD", base+"socket.io.min.js", nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(want)) {
			t.Fatalf("HEAD: status %d, %d body bytes, length %d", resp.StatusCode, len(body), resp.ContentLength)
		}
		// The connection is still usable after the HEAD: nothing extra was sent.
		resp, body = rawGet(t, "GET", base+"socket.io.min.js", map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 304 || len(body) != 0 {
			t.Fatalf("If-None-Match: status %d", resp.StatusCode)
		}
	})

	t.Run("missing", func(t *testing.T) {
		resp, body := rawGet(t, "GET", base+"socket.io.msgpack.min.js.map", map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 404 || !strings.Contains(string(body), "socket.io.msgpack.min.js.map") ||
			!strings.Contains(string(body), "Config.ClientFiles") || resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("status %d encoding %q body %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
		}
	})

	t.Run("siblings not served", func(t *testing.T) {
		resp, _ := rawGet(t, "GET", base+"socket.io.min.js.gz", nil)
		if resp.StatusCode == 200 {
			t.Fatal("a .gz sibling was served as a file")
		}
	})
}

// TestClientFilesDisabled: DisableClientBundle wins over ClientFiles.
func TestClientFilesDisabled(t *testing.T) {
	srv := sio.NewServer(sio.Config{
		ClientFiles:         fstest.MapFS{"socket.io.js": {Data: []byte("x")}},
		DisableClientBundle: true,
	})
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	resp, body := rawGet(t, "GET", ts.URL+"/socket.io/socket.io.js", nil)
	if resp.StatusCode == 200 || string(body) == "x" {
		t.Fatalf("status %d body %q with DisableClientBundle", resp.StatusCode, body)
	}
}
