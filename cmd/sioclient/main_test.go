package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"go/format"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the sioloop checkout this package sits in.
var repoRoot = filepath.Join("..", "..")

// TestPinMatchesLockFile keeps the tool's pinned version and integrity equal
// to the socket.io-client that package-lock.json installs, which is the one
// the embedded bundle and the tests use.
func TestPinMatchesLockFile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct{ Version, Integrity string }
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatal(err)
	}
	p, ok := lock.Packages["node_modules/socket.io-client"]
	if !ok {
		t.Fatal("package-lock.json has no node_modules/socket.io-client")
	}
	if p.Version != clientVersion || p.Integrity != clientIntegrity {
		t.Fatalf("package-lock.json pins socket.io-client %s (%s); the tool pins %s (%s): update clientVersion and clientIntegrity",
			p.Version, p.Integrity, clientVersion, clientIntegrity)
	}
	raw, err = os.ReadFile(filepath.Join(repoRoot, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pj struct{ DevDependencies map[string]string }
	if err := json.Unmarshal(raw, &pj); err != nil {
		t.Fatal(err)
	}
	if v := pj.DevDependencies["socket.io-client"]; v != clientVersion {
		t.Fatalf("package.json asks for socket.io-client %q, the tool pins %s", v, clientVersion)
	}
}

// npmFiles returns the installed socket.io-client's package.json, LICENSE
// and dist files by tarball path, skipping (or failing under CI) when npm ci
// has not run.
func npmFiles(t *testing.T) map[string][]byte {
	t.Helper()
	dir := filepath.Join(repoRoot, "node_modules", "socket.io-client")
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		if v := os.Getenv("CI"); v != "" && v != "0" && v != "false" {
			t.Fatalf("socket.io-client is not installed under CI (.ci/setup runs npm ci): %v", err)
		}
		t.Skipf("socket.io-client not installed (run `make bundle`): %v", err)
	}
	files := map[string][]byte{}
	for _, rel := range append([]string{"package.json", "LICENSE"}, distPaths()...) {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		files["package/"+rel] = data
	}
	return files
}

func distPaths() []string {
	var p []string
	for _, n := range clientFiles {
		p = append(p, "dist/"+n)
	}
	return p
}

// entry is one tar entry of a test tarball.
type entry struct {
	name     string
	data     []byte
	typeflag byte
	linkname string
}

// tarball builds an npm-style .tgz from entries, in order.
func tarball(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		tf := e.typeflag
		if tf == 0 {
			tf = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tf, Linkname: e.linkname}
		if tf != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if tf == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// npmEntries lists the installed package's files as tarball entries, with
// a file npm also ships (README.md) that the tool must ignore.
func npmEntries(files map[string][]byte) []entry {
	es := []entry{{name: "package/package.json", data: files["package/package.json"]}, {name: "package/README.md", data: []byte("readme")}}
	es = append(es, entry{name: "package/LICENSE", data: files["package/LICENSE"]})
	for _, p := range distPaths() {
		es = append(es, entry{name: "package/" + p, data: files["package/"+p]})
	}
	return es
}

func integrityOf(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// registry serves tgz where npm serves socket.io-client's tarball for the
// pinned version, and counts the requests.
func registry(t *testing.T, tgz []byte) *httptest.Server {
	t.Helper()
	want := "/socket.io-client/-/socket.io-client-" + clientVersion + ".tgz"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != want {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(tgz)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFetchAndWrite runs the tool against a registry serving a tarball made
// of the installed package and checks what it writes.
func TestFetchAndWrite(t *testing.T) {
	files := npmFiles(t)
	tgz := tarball(t, npmEntries(files))
	reg := registry(t, tgz)
	out := filepath.Join(t.TempDir(), "web", "socket.io")
	pkg, err := run(context.Background(), options{out: out, registry: reg.URL + "/", integrity: integrityOf(tgz)})
	if err != nil {
		t.Fatal(err)
	}
	if pkg != "socketio" {
		t.Errorf("package %q, want socketio (from the directory name)", pkg)
	}
	for _, p := range append(distPaths(), "LICENSE") {
		got, err := os.ReadFile(filepath.Join(out, filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, files["package/"+p]) {
			t.Errorf("%s differs from the package's", p)
		}
	}
	for _, n := range clientFiles {
		gz, err := os.ReadFile(filepath.Join(out, n+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s.gz: %v", n, err)
		}
		if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, files["package/dist/"+n]) {
			t.Fatalf("%s.gz does not decode to %s (%v)", n, n, err)
		}
	}
	for _, n := range []string{"README.md", "package.json"} {
		if _, err := os.Stat(filepath.Join(out, n)); err == nil {
			t.Errorf("%s was written", n)
		}
	}
	src, err := os.ReadFile(filepath.Join(out, generatedName))
	if err != nil {
		t.Fatal(err)
	}
	if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
		t.Fatalf("embed.go is not gofmt-clean (%v):\n%s", err, src)
	}
	for _, want := range []string{generatedHeader + "\n", "package socketio\n", "//go:embed *.js *.map *.gz LICENSE\nvar Files embed.FS\n", `const Version = "` + clientVersion + `"`} {
		if !strings.Contains(string(src), want) {
			t.Errorf("embed.go lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(string(src), "go:generate") {
		t.Error("embed.go has a go:generate line for a test registry")
	}
	// A second run replaces its own output.
	if _, err := run(context.Background(), options{out: out, pkg: "client", registry: reg.URL, integrity: integrityOf(tgz)}); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if src, _ := os.ReadFile(filepath.Join(out, generatedName)); !strings.Contains(string(src), "package client\n") {
		t.Error("-pkg was not used")
	}
	if s := string(generatedSource("socketio", clientVersion, clientIntegrity, true)); !strings.Contains(s, "//go:generate go run github.com/sioloop/sioloop/cmd/sioclient -out . -pkg socketio\n") {
		t.Errorf("no go:generate line for the default registry:\n%s", s)
	}
}

// TestRefused covers what the tool must not accept; in every case nothing
// is written.
func TestRefused(t *testing.T) {
	files := npmFiles(t)
	good := tarball(t, npmEntries(files))
	tampered := bytes.Clone(good)
	tampered[len(tampered)/2] ^= 1

	withEntries := func(extra ...entry) []byte {
		return tarball(t, append(npmEntries(files), extra...))
	}
	without := func(drop string) []byte {
		var es []entry
		for _, e := range npmEntries(files) {
			if e.name != drop {
				es = append(es, e)
			}
		}
		return tarball(t, es)
	}
	otherVersion := npmEntries(files)
	otherVersion[0].data = []byte(`{"name":"socket.io-client","version":"0.0.1"}`)

	tests := []struct {
		name      string
		tgz       []byte
		integrity string // "" means: the integrity of tgz
		want      string
	}{
		{name: "tampered tarball", tgz: tampered, integrity: integrityOf(good), want: "integrity check failed"},
		{name: "pinned integrity", tgz: good, integrity: clientIntegrity, want: "integrity check failed"},
		{name: "not sha512", tgz: good, integrity: "sha1-" + base64.StdEncoding.EncodeToString(make([]byte, 20)), want: "no sha512"},
		{name: "missing file", tgz: without("package/dist/socket.io.msgpack.min.js.map"), want: "no package/dist/socket.io.msgpack.min.js.map"},
		{name: "wrong version", tgz: tarball(t, otherVersion), want: "want socket.io-client " + clientVersion},
		{name: "symlink", tgz: tarball(t, append(npmEntries(files)[:3], entry{name: "package/dist/socket.io.js", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"})), want: "not a regular file"},
		{name: "duplicate", tgz: withEntries(entry{name: "package/dist/socket.io.js", data: []byte("x")}), want: "twice"},
		{name: "not gzip", tgz: []byte("plain"), want: "not a gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := registry(t, tc.tgz)
			integrity := tc.integrity
			if integrity == "" {
				integrity = integrityOf(tc.tgz)
			}
			out := filepath.Join(t.TempDir(), "out")
			_, err := run(context.Background(), options{out: out, registry: reg.URL, integrity: integrity})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("the output directory was created")
			}
		})
	}

	t.Run("traversal names are ignored", func(t *testing.T) {
		tgz := withEntries(
			entry{name: "package/dist/../../../evil.js", data: []byte("evil")},
			entry{name: "../evil.js", data: []byte("evil")},
			entry{name: "/tmp/evil.js", data: []byte("evil")},
			entry{name: "package/dist/sub/socket.io.js", data: []byte("evil")},
		)
		reg := registry(t, tgz)
		dir := t.TempDir()
		out := filepath.Join(dir, "a", "b")
		if _, err := run(context.Background(), options{out: out, registry: reg.URL, integrity: integrityOf(tgz)}); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, "socket.io.js"))
		if err != nil || !bytes.Equal(got, files["package/dist/socket.io.js"]) {
			t.Fatalf("socket.io.js: %v", err)
		}
		for _, p := range []string{filepath.Join(dir, "evil.js"), filepath.Join(dir, "a", "evil.js"), filepath.Join(out, "evil.js"), filepath.Join(out, "sub")} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s was written", p)
			}
		}
	})

	t.Run("registry error", func(t *testing.T) {
		reg := registry(t, good)
		_, err := run(context.Background(), options{out: t.TempDir(), registry: reg.URL + "/mirror", integrity: integrityOf(good)})
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("error %v, want the 404", err)
		}
	})

	t.Run("foreign embed.go", func(t *testing.T) {
		reg := registry(t, good)
		out := t.TempDir()
		mine := []byte("package web\n")
		if err := os.WriteFile(filepath.Join(out, generatedName), mine, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := run(context.Background(), options{out: out, registry: reg.URL, integrity: integrityOf(good)})
		if err == nil || !strings.Contains(err.Error(), "not written by sioclient") {
			t.Fatalf("error %v", err)
		}
		if got, _ := os.ReadFile(filepath.Join(out, generatedName)); !bytes.Equal(got, mine) {
			t.Fatal("embed.go was overwritten")
		}
		if _, err := os.Stat(filepath.Join(out, "socket.io.js")); err == nil {
			t.Fatal("files were written next to a foreign embed.go")
		}
	})

	t.Run("bad package name", func(t *testing.T) {
		_, err := run(context.Background(), options{out: t.TempDir(), pkg: "func", registry: "http://127.0.0.1:1"})
		if err == nil || !strings.Contains(err.Error(), "not a Go package name") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestDefaultPackage(t *testing.T) {
	for in, want := range map[string]string{
		"web/socketio":     "socketio",
		"static/socket.io": "socketio",
		"Client-Files":     "clientfiles",
		"3d":               "socketio",
		"type":             "socketio",
		"x/---":            "socketio",
	} {
		if got := defaultPackage(in); got != want {
			t.Errorf("defaultPackage(%q) = %q, want %q", in, got, want)
		}
	}
}
