package sioloop_test

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayering is a statement of policy: imports point down only. gnet is
// imported by package loop alone (sio and nethttp reach the event loops only
// through loop); hub, eio, wsframe and nethttp never depend on the packages
// above them, even indirectly: nethttp is a transport provider beside loop,
// which sio uses for ServeHTTP.
func TestLayering(t *testing.T) {
	const mod = "github.com/sioloop/sioloop/"
	forbidden := map[string][]string{
		"wsframe": {"github.com/panjf2000/gnet", mod + "eio", mod + "sio", mod + "loop", mod + "hub"},
		"hub":     {"github.com/panjf2000/gnet", mod + "eio", mod + "sio", mod + "loop", mod + "wsframe"},
		"eio":     {"github.com/panjf2000/gnet", mod + "sio", mod + "loop", mod + "hub", mod + "nethttp"},
		"loop":    {mod + "sio", mod + "hub", mod + "nethttp"},
		"nethttp": {mod + "sio", mod + "hub"},
	}
	direct := map[string][]string{
		"sio":     {"github.com/panjf2000/gnet"},
		"hub":     {"github.com/panjf2000/gnet"},
		"client":  {"github.com/panjf2000/gnet"},
		"nethttp": {"github.com/panjf2000/gnet"},
	}
	for pkg, bad := range direct {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s imports %s directly", pkg, dep)
				}
			}
		}
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b+"/") {
					t.Errorf("%s imports %s (directly or not)", pkg, dep)
				}
			}
		}
	}
}

// TestSioReachesLoopsThroughExecutor: sio orders and delivers writes
// through its executor interface (sio/executor.go); package loop is named
// only where the server starts its loops and in the options it passes them.
func TestSioReachesLoopsThroughExecutor(t *testing.T) {
	allowed := map[string]bool{"serve.go": true, "server.go": true, "config.go": true}
	files, err := filepath.Glob("sio/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sio files: %v", err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || allowed[filepath.Base(f)] {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/sioloop/sioloop/loop" {
				t.Errorf("%s imports package loop; use the executor interface", f)
			}
		}
	}
}

// TestRedisClients: the Redis adapters sit on rueidis through
// internal/redisbus; go-redis, the client that lost the comparison in
// BENCHMARKS.md, is imported by its benchmark alone.
func TestRedisClients(t *testing.T) {
	const mod = "github.com/sioloop/sioloop/"
	allowed := map[string][]string{
		"github.com/redis/go-redis": {mod + "bench/redisclient"},
		"github.com/redis/rueidis":  {mod + "bench/redisclient", mod + "internal/redisbus"},
	}
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pkg := f[0]
		for _, dep := range f[1:] {
			for client, ok := range allowed {
				if dep != client && !strings.HasPrefix(dep, client+"/") {
					continue
				}
				found := false
				for _, p := range ok {
					found = found || p == pkg
				}
				if !found {
					t.Errorf("%s imports %s", pkg, dep)
				}
			}
		}
	}
}
