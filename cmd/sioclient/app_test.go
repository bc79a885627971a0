package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// appMain is the whole application of TestApplicationModule, as a new user
// writes it: the generated package and Config.ClientFiles. With
// APP_NO_CLIENT_FILES set it leaves ClientFiles unset, to see the 503 that
// a module download without the embedded bundle sends.
const appMain = `package main

import (
	"log"
	"os"

	"example.com/app/web/socketio"
	"github.com/sioloop/sioloop/sio"
)

func main() {
	cfg := sio.Config{ClientFiles: socketio.Files}
	if os.Getenv("APP_NO_CLIENT_FILES") != "" {
		cfg.ClientFiles = nil
	}
	srv := sio.NewServer(cfg)
	log.Fatal(srv.ListenAndServe(os.Args[1], nil))
}
`

// moduleCopy copies the files a module download of sioloop holds (the
// tracked and unignored files: internal/clientdist/dist has only its
// README.txt) into dir, and reports false when git cannot list them.
func moduleCopy(t *testing.T, dir string) bool {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		return false
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(repoRoot, filepath.FromSlash(rel))
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return true
}

// TestApplicationModule is the new user's path of issue 12: a module
// outside this repository that depends on sioloop (a copy with only what a
// module download holds, so without the embedded bundle), the tool run into
// it, go build, and the binary serving /socket.io/socket.io.js from its own
// embedded copy, with ETag, 304 and gzip; and without ClientFiles, the 503
// that says what to do.
func TestApplicationModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	files := npmFiles(t)
	tmp := t.TempDir()
	dep := filepath.Join(tmp, "sioloop")
	if !moduleCopy(t, dep) {
		t.Skip("git cannot list the module's files")
	}
	if _, err := os.Stat(filepath.Join(dep, "internal", "clientdist", "dist", "VERSION")); err == nil {
		t.Fatal("the module copy has a built bundle; a module download would not")
	}

	app := filepath.Join(tmp, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/app\n\ngo 1.26\n\nrequire github.com/sioloop/sioloop v0.0.0\n\nreplace github.com/sioloop/sioloop => " + dep + "\n"
	sum, err := os.ReadFile(filepath.Join(repoRoot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(appMain)} {
		if err := os.WriteFile(filepath.Join(app, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	tgz := tarball(t, npmEntries(files))
	reg := registry(t, tgz)
	if _, err := run(context.Background(), options{out: filepath.Join(app, "web", "socketio"), registry: reg.URL, integrity: integrityOf(tgz)}); err != nil {
		t.Fatal(err)
	}

	// The network is not needed: sioloop's dependencies are in the module
	// cache since this repository builds.
	bin := filepath.Join(tmp, "app.bin")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	build.Dir = app
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the application: %v\n%s", err, out)
	}

	want := files["package/dist/socket.io.js"]
	t.Run("ClientFiles", func(t *testing.T) {
		base := startApp(t, bin)
		resp, body := httpGet(t, base+"socket.io.js", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("status %d, %d bytes (want %d): %.200s", resp.StatusCode, len(body), len(want), body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/javascript; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		etag := resp.Header.Get("Etag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		resp, body = httpGet(t, base+"socket.io.js", map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 304 || len(body) != 0 {
			t.Fatalf("If-None-Match: status %d, %d bytes", resp.StatusCode, len(body))
		}
		resp, body = httpGet(t, base+"socket.io.js", map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("gzip: status %d, encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, want) {
			t.Fatalf("gzip body does not decode to socket.io.js (%v)", err)
		}
		resp, body = httpGet(t, base+"socket.io.msgpack.min.js.map", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, files["package/dist/socket.io.msgpack.min.js.map"]) {
			t.Fatalf("socket.io.msgpack.min.js.map: status %d", resp.StatusCode)
		}
	})
	t.Run("no ClientFiles", func(t *testing.T) {
		base := startApp(t, bin, "APP_NO_CLIENT_FILES=1")
		resp, body := httpGet(t, base+"socket.io.js", nil)
		if resp.StatusCode != 503 || !strings.Contains(string(body), "go run github.com/sioloop/sioloop/cmd/sioclient -out ") ||
			!strings.Contains(string(body), "ClientFiles") {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
	})
}

// startApp runs the built application on a free loopback port until the
// test ends, and returns its socket.io base URL once it answers.
func startApp(t *testing.T, bin string, env ...string) string {
	t.Helper()
start:
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, addr)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		base := "http://" + addr + "/socket.io/"
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				if attempt < 3 && strings.Contains(stderr.String(), "address already in use") {
					continue start // another process took the port
				}
				t.Fatalf("the application exited: %s", stderr.String())
			default:
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				return base
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		<-exited // stderr is complete
		t.Fatalf("the application did not listen on %s: %s", addr, stderr.String())
	}
}

// httpGet sends one GET, leaving compression to the caller.
func httpGet(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
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
