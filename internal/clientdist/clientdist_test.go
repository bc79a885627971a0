package clientdist

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"github.com/sioloop/sioloop/internal/testutil"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func inCI() bool { return testutil.InCI() }

// npmDist is where `npm ci` puts the pinned socket.io-client.
var npmDist = filepath.Join("..", "..", "node_modules", "socket.io-client")

// requireNPM skips (developer machine) or fails (CI) when the pinned npm
// package is not installed, and returns its version otherwise.
func requireNPM(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(npmDist, "package.json"))
	if err != nil {
		if inCI() {
			t.Fatalf("socket.io-client is not installed under CI (.ci/setup runs npm ci): %v", err)
		}
		t.Skipf("socket.io-client not installed (run `make bundle`): %v", err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("node_modules/socket.io-client/package.json: %v", err)
	}
	if !Available() {
		t.Fatalf("node_modules has socket.io-client %s but the bundle is not embedded: run `make bundle` (or node internal/clientdist/build.mjs)", pkg.Version)
	}
	return pkg.Version
}

// get issues one request with compression left to the test: the default
// transport would add Accept-Encoding: gzip and decode behind our back.
func get(t *testing.T, url, method string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := c.Do(req)
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

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unbrotli decodes with Node's zlib: the standard library has no brotli
// reader, and Node is what produced the file, so this checks the stream
// rather than our own copy of it.
func unbrotli(t *testing.T, b []byte) []byte {
	t.Helper()
	cmd := exec.Command("node", "-e",
		`const z=require("zlib");const c=[];process.stdin.on("data",d=>c.push(d)).on("end",()=>process.stdout.write(z.brotliDecompressSync(Buffer.concat(c))))`)
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node brotli decode: %v: %s", err, stderr.String())
	}
	return out
}

// TestServedFilesMatchNPM is the acceptance check of issue 3: every file
// served under /socket.io/ is byte-identical to the pinned npm package's,
// in every encoding, with socket.io's headers.
func TestServedFilesMatchNPM(t *testing.T) {
	version := requireNPM(t)
	if Version() != version {
		t.Fatalf("embedded bundle is socket.io-client %s, node_modules has %s: run `make bundle`", Version(), version)
	}
	_, nodeErr := exec.LookPath("node")
	srv := httptest.NewServer(Handler("/socket.io/"))
	defer srv.Close()
	wantETag := `"` + version + `"`

	for _, name := range fileNames {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(npmDist, "dist", name))
			if err != nil {
				t.Fatal(err)
			}
			wantType := "application/javascript; charset=utf-8"
			if strings.HasSuffix(name, ".map") {
				wantType = "application/json; charset=utf-8"
			}
			for _, tc := range []struct {
				name           string
				acceptEncoding string
				wantEncoding   string
			}{
				{name: "identity", acceptEncoding: "", wantEncoding: ""},
				{name: "gzip", acceptEncoding: "gzip", wantEncoding: "gzip"},
				{name: "br", acceptEncoding: "br", wantEncoding: "br"},
				{name: "chrome", acceptEncoding: "gzip, deflate, br, zstd", wantEncoding: "br"},
				{name: "gzip preferred by q", acceptEncoding: "br;q=0.5, gzip", wantEncoding: "gzip"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp, body := get(t, srv.URL+"/socket.io/"+name, "GET", map[string]string{"Accept-Encoding": tc.acceptEncoding})
					if resp.StatusCode != 200 {
						t.Fatalf("status %d, body %q", resp.StatusCode, body)
					}
					for k, v := range map[string]string{
						"Etag":             wantETag,
						"Cache-Control":    "public, max-age=0",
						"Content-Type":     wantType,
						"Content-Encoding": tc.wantEncoding,
					} {
						if got := resp.Header.Get(k); got != v {
							t.Errorf("%s = %q, want %q", k, got, v)
						}
					}
					switch tc.wantEncoding {
					case "gzip":
						body = gunzip(t, body)
					case "br":
						if nodeErr != nil {
							t.Fatalf("node is needed to decode brotli: %v", nodeErr)
						}
						body = unbrotli(t, body)
					}
					if !bytes.Equal(body, want) {
						t.Fatalf("decoded body (%d bytes) differs from node_modules/socket.io-client/dist/%s (%d bytes)", len(body), name, len(want))
					}
				})
			}
		})
	}

	t.Run("304", func(t *testing.T) {
		for _, inm := range []string{wantETag, "W/" + wantETag, `"0.0.0", ` + wantETag, "*"} {
			resp, body := get(t, srv.URL+"/socket.io/socket.io.js", "GET", map[string]string{"If-None-Match": inm, "Accept-Encoding": "gzip"})
			if resp.StatusCode != 304 || len(body) != 0 {
				t.Errorf("If-None-Match %s: status %d with %d body bytes, want 304 and none", inm, resp.StatusCode, len(body))
			}
			if got := resp.Header.Get("Etag"); got != wantETag {
				t.Errorf("If-None-Match %s: 304 ETag = %q, want %q", inm, got, wantETag)
			}
		}
		resp, _ := get(t, srv.URL+"/socket.io/socket.io.js", "GET", map[string]string{"If-None-Match": `"0.0.1"`})
		if resp.StatusCode != 200 {
			t.Errorf("stale If-None-Match: status %d, want 200", resp.StatusCode)
		}
	})

	t.Run("query string ignored", func(t *testing.T) {
		resp, _ := get(t, srv.URL+"/socket.io/socket.io.min.js?v=1", "GET", nil)
		if resp.StatusCode != 200 {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
	})
}

// fakeBundle builds a dist/ tree with small distinct contents per file and
// encoding, so the tests below can tell which one was served without npm.
func fakeBundle(t testing.TB, omit string) *Bundle {
	t.Helper()
	fsys := fstest.MapFS{
		"dist/README.txt": {Data: []byte("readme")},
		"dist/VERSION":    {Data: []byte("9.8.7\n")},
	}
	for _, n := range fileNames {
		fsys["dist/"+n] = &fstest.MapFile{Data: []byte("id:" + n)}
		fsys["dist/"+n+".gz"] = &fstest.MapFile{Data: []byte("gz:" + n)}
		fsys["dist/"+n+".br"] = &fstest.MapFile{Data: []byte("br:" + n)}
	}
	delete(fsys, omit)
	return parse(fsys)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		fsys      fstest.MapFS
		available bool
	}{
		{name: "fresh clone", fsys: fstest.MapFS{"dist/README.txt": {Data: []byte("x")}}},
		{name: "bad version", fsys: fstest.MapFS{"dist/VERSION": {Data: []byte(`1"2`)}}},
		{name: "empty version", fsys: fstest.MapFS{"dist/VERSION": {Data: []byte("\n")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := parse(tc.fsys)
			if got := len(b.assets) != 0; got != tc.available {
				t.Fatalf("available = %v, want %v", got, tc.available)
			}
		})
	}
	if b := fakeBundle(t, ""); len(b.assets) != len(fileNames) || b.version != "9.8.7" || b.assets["socket.io.js"].etag != `"9.8.7"` {
		t.Fatalf("complete bundle: %d assets, version %q", len(b.assets), b.version)
	}
	// A half-finished build must not serve some files and 503 others.
	for _, missing := range []string{"dist/socket.io.min.js", "dist/socket.io.js.map.br", "dist/socket.io.esm.min.js.gz"} {
		if b := fakeBundle(t, missing); len(b.assets) != 0 {
			t.Errorf("without %s: bundle reports available", missing)
		}
	}
}

func TestResolve(t *testing.T) {
	b := fakeBundle(t, "")
	tests := []struct {
		name           string
		file           string
		acceptEncoding string
		ifNoneMatch    string
		wantStatus     int
		wantType       string
		wantEncoding   string
		wantBody       string
	}{
		{name: "identity", file: "socket.io.js", wantStatus: 200, wantType: typeJavaScript, wantBody: "id:socket.io.js"},
		{name: "map is json", file: "socket.io.min.js.map", wantStatus: 200, wantType: typeSourceMap, wantBody: "id:socket.io.min.js.map"},
		{name: "gzip", file: "socket.io.esm.min.js", acceptEncoding: "gzip", wantStatus: 200, wantType: typeJavaScript, wantEncoding: "gzip", wantBody: "gz:socket.io.esm.min.js"},
		{name: "br", file: "socket.io.msgpack.min.js", acceptEncoding: "deflate, br", wantStatus: 200, wantType: typeJavaScript, wantEncoding: "br", wantBody: "br:socket.io.msgpack.min.js"},
		{name: "deflate only", file: "socket.io.js", acceptEncoding: "deflate", wantStatus: 200, wantType: typeJavaScript, wantBody: "id:socket.io.js"},
		{name: "strong etag", file: "socket.io.js", ifNoneMatch: `"9.8.7"`, wantStatus: 304},
		{name: "weak etag", file: "socket.io.js.map", ifNoneMatch: `W/"9.8.7"`, wantStatus: 304},
		{name: "other etag", file: "socket.io.js", ifNoneMatch: `"9.8.6"`, wantStatus: 200, wantType: typeJavaScript, wantBody: "id:socket.io.js"},
		{name: "unquoted etag", file: "socket.io.js", ifNoneMatch: `9.8.7`, wantStatus: 200, wantType: typeJavaScript, wantBody: "id:socket.io.js"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.resolve(tc.file, tc.acceptEncoding, tc.ifNoneMatch)
			if r.Status != tc.wantStatus || r.ContentType != tc.wantType || r.ContentEncoding != tc.wantEncoding || string(r.Body) != tc.wantBody {
				t.Fatalf("got status %d type %q encoding %q body %q, want %d %q %q %q",
					r.Status, r.ContentType, r.ContentEncoding, r.Body, tc.wantStatus, tc.wantType, tc.wantEncoding, tc.wantBody)
			}
			if r.ETag != `"9.8.7"` || r.CacheControl != "public, max-age=0" || r.Vary != "Accept-Encoding" {
				t.Fatalf("got ETag %q Cache-Control %q Vary %q", r.ETag, r.CacheControl, r.Vary)
			}
		})
	}
	if _, ok := Resolve("socket.io.js.gz", "", ""); ok {
		t.Error("Resolve accepted a precompressed sibling as a client file")
	}
	if _, ok := Resolve("socket.io.js", "", ""); !ok {
		t.Error("Resolve rejected socket.io.js")
	}
}

func TestNotBuilt(t *testing.T) {
	b := parse(fstest.MapFS{"dist/README.txt": {Data: []byte("x")}})
	srv := httptest.NewServer(b.handler("/socket.io"))
	defer srv.Close()
	for _, name := range fileNames {
		resp, body := get(t, srv.URL+"/socket.io/"+name, "GET", map[string]string{"Accept-Encoding": "br, gzip"})
		if resp.StatusCode != 503 || string(body) != NotBuiltMessage || resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s: status %d encoding %q body %q", name, resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
		}
		for _, want := range []string{"make bundle", "go run github.com/sioloop/sioloop/cmd/sioclient -out ", "sio.Config{ClientFiles: socketio.Files}"} {
			if !strings.Contains(string(body), want) {
				t.Fatalf("the error does not say %q", want)
			}
		}
	}
}

func TestHandler(t *testing.T) {
	b := fakeBundle(t, "")
	srv := httptest.NewServer(b.handler("/socket.io/"))
	defer srv.Close()
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantBody   string
		wantLength string
	}{
		{name: "get", method: "GET", path: "/socket.io/socket.io.js", wantStatus: 200, wantBody: "id:socket.io.js", wantLength: "15"},
		{name: "head", method: "HEAD", path: "/socket.io/socket.io.js", wantStatus: 200, wantBody: "", wantLength: "15"},
		{name: "post like socket.io", method: "POST", path: "/socket.io/socket.io.min.js", wantStatus: 200, wantBody: "id:socket.io.min.js", wantLength: "19"},
		{name: "sibling not served", method: "GET", path: "/socket.io/socket.io.js.gz", wantStatus: 404},
		{name: "version not served", method: "GET", path: "/socket.io/VERSION", wantStatus: 404},
		{name: "nested", method: "GET", path: "/socket.io/x/socket.io.js", wantStatus: 404},
		{name: "outside prefix", method: "GET", path: "/socket.io.js", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+tc.path, tc.method, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus != 200 {
				return
			}
			if string(body) != tc.wantBody || resp.Header.Get("Content-Length") != tc.wantLength {
				t.Fatalf("body %q length %q, want %q %q", body, resp.Header.Get("Content-Length"), tc.wantBody, tc.wantLength)
			}
		})
	}
	t.Run("repeated Accept-Encoding lines", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/socket.io/socket.io.js", nil)
		req.Header.Add("Accept-Encoding", "identity")
		req.Header.Add("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		b.handler("/socket.io/").ServeHTTP(rec, req)
		if got := rec.Header().Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", got)
		}
	})
}

func TestAppendHeader(t *testing.T) {
	b := fakeBundle(t, "")
	r := b.resolve("socket.io.js", "gzip", "")
	got := string(r.AppendHeader([]byte("X: y\r\n")))
	want := "X: y\r\n" +
		"Content-Type: application/javascript; charset=utf-8\r\n" +
		"Content-Encoding: gzip\r\n" +
		"Cache-Control: public, max-age=0\r\n" +
		"ETag: \"9.8.7\"\r\n" +
		"Vary: Accept-Encoding\r\n" +
		"Content-Length: 15\r\n"
	if got != want {
		t.Fatalf("200 header:\n%q\nwant\n%q", got, want)
	}
	r = b.resolve("socket.io.js", "", `"9.8.7"`)
	got = string(r.AppendHeader(nil))
	want = "Cache-Control: public, max-age=0\r\n" +
		"ETag: \"9.8.7\"\r\n" +
		"Vary: Accept-Encoding\r\n"
	if got != want {
		t.Fatalf("304 header:\n%q\nwant\n%q", got, want)
	}
}

func TestFileName(t *testing.T) {
	tests := []struct {
		name, path, prefix, want string
		ok                       bool
	}{
		{name: "slash prefix", path: "/socket.io/socket.io.js", prefix: "/socket.io/", want: "socket.io.js", ok: true},
		{name: "bare prefix", path: "/socket.io/socket.io.js.map", prefix: "/socket.io", want: "socket.io.js.map", ok: true},
		{name: "custom path", path: "/rt/socket.io.esm.min.js", prefix: "/rt", want: "socket.io.esm.min.js", ok: true},
		{name: "no separator", path: "/socket.iosocket.io.js", prefix: "/socket.io", ok: false},
		{name: "engine request", path: "/socket.io/", prefix: "/socket.io/", ok: false},
		{name: "other prefix", path: "/static/socket.io.js", prefix: "/socket.io/", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FileName(tc.path, tc.prefix)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("FileName(%q, %q) = %q, %v; want %q, %v", tc.path, tc.prefix, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPickEncoding(t *testing.T) {
	tests := []struct{ name, header, want string }{
		{name: "none", header: "", want: ""},
		{name: "identity", header: "identity", want: ""},
		{name: "gzip", header: "gzip", want: "gzip"},
		{name: "x-gzip", header: "x-gzip", want: "gzip"},
		{name: "case", header: "GZip", want: "gzip"},
		{name: "br", header: "br", want: "br"},
		{name: "tie goes to br", header: "gzip, br", want: "br"},
		{name: "q order", header: "br;q=0.4, gzip;q=0.6", want: "gzip"},
		{name: "q spaces", header: "br ; q=0.4 , gzip ; q=0.6", want: "gzip"},
		{name: "refused", header: "br;q=0, gzip;q=0", want: ""},
		{name: "star", header: "*", want: "br"},
		{name: "star with refusal", header: "*, br;q=0", want: "gzip"},
		{name: "explicit beats star", header: "*;q=0.1, gzip", want: "gzip"},
		{name: "bad q", header: "br;q=x, gzip", want: "gzip"},
		{name: "q above one", header: "br;q=2, gzip;q=0.5", want: "gzip"},
		{name: "nan", header: "br;q=NaN, gzip;q=0.5", want: "gzip"},
		{name: "other params", header: "br;level=1;q=0.9, gzip;q=0.8", want: "br"},
		{name: "empty items", header: ",,gzip,,", want: "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pickEncoding(tc.header, true, true); got != tc.want {
				t.Fatalf("pickEncoding(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

func TestETagMatches(t *testing.T) {
	tests := []struct {
		name, header string
		want         bool
	}{
		{name: "strong", header: `"1.0.0"`, want: true},
		{name: "weak", header: `W/"1.0.0"`, want: true},
		{name: "list", header: `"a" , W/"1.0.0"`, want: true},
		{name: "star", header: `*`, want: true},
		{name: "other", header: `"1.0.1"`, want: false},
		{name: "unquoted", header: `1.0.0`, want: false},
		{name: "lowercase weak", header: `w/"1.0.0"`, want: false},
		{name: "empty", header: ``, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := etagMatches(tc.header, `"1.0.0"`); got != tc.want {
				t.Fatalf("etagMatches(%q) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

// FuzzPickEncoding checks properties that hold for every header: the choice
// is one of three codings, and a coding is chosen only if the header names
// it or "*".
func FuzzPickEncoding(f *testing.F) {
	for _, s := range []string{"", "gzip, deflate, br, zstd", "br;q=0.5, gzip", "*;q=0", "gzip;q=1.0, identity; q=0.5, *;q=0", ",;q=,", "br;q=1e-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := pickEncoding(h, true, true)
		lower := strings.ToLower(h)
		switch got {
		case "":
		case "br":
			if !strings.Contains(lower, "br") && !strings.Contains(h, "*") {
				t.Fatalf("picked br from %q", h)
			}
		case "gzip":
			if !strings.Contains(lower, "gzip") && !strings.Contains(h, "*") {
				t.Fatalf("picked gzip from %q", h)
			}
		default:
			t.Fatalf("picked %q from %q", got, h)
		}
		// Appending a refusal of everything else cannot turn a choice of
		// br into gzip: br's own q is unchanged by "*".
		if got == "br" && strings.Contains(lower, "br") && pickEncoding(h+", *;q=0", true, true) == "" {
			t.Fatalf("%q: adding *;q=0 dropped an explicit br", h)
		}
	})
}

// FuzzETagMatches checks that a header listing the ETag, in any position,
// strong or weak, always matches, and that one without it never does.
func FuzzETagMatches(f *testing.F) {
	f.Add(`"a", "b"`, "4.8.4")
	f.Add(``, "1.0.0")
	f.Add(`W/`, "x")
	f.Fuzz(func(t *testing.T, others, version string) {
		if !validVersion(version) {
			return
		}
		etag := `"` + version + `"`
		if !etagMatches(others+","+etag, etag) || !etagMatches("W/"+etag+","+others, etag) {
			t.Fatalf("list %q with %s did not match", others, etag)
		}
		if !strings.Contains(others, version) && !strings.Contains(others, "*") && etagMatches(others, etag) {
			t.Fatalf("%q matched %s", others, etag)
		}
	})
}

// benchBundle is the embedded bundle when it is built, so the numbers
// reflect real file sizes, and a fake one on a fresh clone.
func benchBundle(b *testing.B) *Bundle {
	if Available() {
		return loaded()
	}
	return fakeBundle(b, "")
}

func BenchmarkResolve(b *testing.B) {
	fb := benchBundle(b)
	b.ReportAllocs()
	for b.Loop() {
		r := fb.resolve("socket.io.min.js", "gzip, deflate, br, zstd", `W/"0.9.0"`)
		if r.Status != 200 {
			b.Fatal(r.Status)
		}
	}
}

func BenchmarkServeHTTP(b *testing.B) {
	fb := benchBundle(b)
	h := fb.handler("/socket.io/")
	req := httptest.NewRequest("GET", "/socket.io/socket.io.min.js", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	b.SetBytes(int64(len(fb.assets["socket.io.min.js"].br)))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
}

// TestLoad reads a bundle from an application's FS: content ETags per file,
// gzip made when no sibling exists, 404 naming a missing file.
func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, n := range fileNames[1:] {
		fsys[n] = &fstest.MapFile{Data: []byte("content of " + n)}
	}
	b, err := Load(fsys)
	if err == nil || !strings.Contains(err.Error(), fileNames[0]) {
		t.Fatalf("Load error %v, want one naming %s", err, fileNames[0])
	}
	r := b.resolve(fileNames[0], "gzip", "")
	if r.Status != 404 || !strings.Contains(string(r.Body), fileNames[0]) {
		t.Fatalf("missing file: status %d body %q", r.Status, r.Body)
	}
	r = b.resolve("socket.io.min.js", "gzip, br", "")
	if r.Status != 200 || r.ContentEncoding != "gzip" || string(gunzip(t, r.Body)) != "content of socket.io.min.js" {
		t.Fatalf("gzip: status %d encoding %q", r.Status, r.ContentEncoding)
	}
	if r2 := b.resolve("socket.io.min.js", "", r.ETag); r2.Status != 304 {
		t.Fatalf("If-None-Match %s: status %d", r.ETag, r2.Status)
	}
	if r2 := b.resolve("socket.io.esm.min.js", "", r.ETag); r2.Status != 200 {
		t.Fatalf("another file matched ETag %s: status %d", r.ETag, r2.Status)
	}
	fsys["big.js"] = &fstest.MapFile{Data: make([]byte, MaxFileSize+1)}
	if _, err := readFile(fsys, "big.js"); err == nil {
		t.Fatal("readFile accepted a file above MaxFileSize")
	}
}
