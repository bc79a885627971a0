package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// nginx in front of the nodes, with sticky sessions: found, configured
// from nginx.conf, started.

// findNginx resolves -nginx: "" when nginx is off or, with auto, missing.
func findNginx(flagValue string) (string, error) {
	switch flagValue {
	case "off":
		return "", nil
	case "auto":
		if p, err := exec.LookPath("nginx"); err == nil {
			return p, nil
		}
		// Debian installs nginx in /usr/sbin, which is not on every
		// user's PATH.
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", nil
	default:
		p, err := exec.LookPath(flagValue)
		if err != nil {
			return "", fmt.Errorf("-nginx %s: %w", flagValue, err)
		}
		return p, nil
	}
}

// startNginx renders nginx.conf into dir for these nodes and listen
// address, runs nginx in the foreground with it (its error log, warnings
// and worse, to w), and waits until it accepts connections.
func startNginx(ctx context.Context, bin, dir, listen string, nodes []string, w io.Writer) (*process, error) {
	// 0755: when run as root, nginx's workers run as an unprivileged user
	// and must reach the temp paths nginx creates for them here.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	// nginx would report a busy port only after waitListening took the
	// other program's answer for its own.
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("-addr %s: %w", listen, err)
	}
	if err := l.Close(); err != nil {
		return nil, err
	}
	temps, err := tempPaths(bin, dir)
	if err != nil {
		return nil, err
	}
	conf, err := renderNginxConf(nginxConf, siteLines(dir, listen, nodes, temps))
	if err != nil {
		return nil, fmt.Errorf("nginx.conf: %w", err)
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// -e: the error log used before the configuration is read (a build's
	// default may be a file only root can open).
	p, err := startProcess("nginx", exec.Command(bin, "-e", "stderr", "-c", confFile, "-g", "daemon off;"), w)
	if err != nil {
		return nil, err
	}
	dialAddr := listen
	if host, port, _ := net.SplitHostPort(listen); host == "" || host == "0.0.0.0" || host == "::" {
		dialAddr = net.JoinHostPort("127.0.0.1", port)
	}
	if err := waitListening(ctx, dialAddr, p); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// waitListening waits until addr accepts connections. nginx says nothing
// when it is ready; it binds its ports before it starts its workers.
func waitListening(ctx context.Context, addr string, p *process) error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited (%v): %s", p.name, p.waitErr, p.out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s within %v: %v", p.name, addr, startTimeout, err)
		}
	}
}

// siteLines are the replacements of nginx.conf's "[site]" lines: paths in
// dir, the listen address, one upstream server per node.
func siteLines(dir, listen string, nodes []string, tempPaths string) map[string]string {
	if strings.HasPrefix(listen, ":") {
		listen = listen[1:] // nginx: "listen 3000;" is every address
	}
	var upstream strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&upstream, "server %s;\n", n)
	}
	return map[string]string{
		"pid":        "pid " + filepath.Join(dir, "nginx.pid") + ";",
		"error_log":  "error_log stderr warn;",
		"access_log": "access_log off;",
		"temp_paths": tempPaths,
		"upstream":   upstream.String(),
		"listen":     "listen " + listen + ";",
	}
}

// tempPaths returns the *_temp_path directives that put nginx's temp files
// under dir, for the modules this nginx build has: a directive of a module
// built without is a configuration error.
func tempPaths(bin, dir string) (string, error) {
	out, err := exec.Command(bin, "-V").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("nginx -V: %v: %s", err, out)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "client_body_temp_path %s;\n", filepath.Join(dir, "body"))
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		if !bytes.Contains(out, []byte("--without-http_"+m+"_module")) {
			fmt.Fprintf(&b, "%s_temp_path %s;\n", m, filepath.Join(dir, m))
		}
	}
	return b.String(), nil
}

// siteMarker finds the "# [site] NAME" comment that marks a line of
// nginx.conf that depends on the machine.
var siteMarker = regexp.MustCompile(`#\s*\[site\]\s+(\S+)`)

// renderNginxConf replaces the marked lines of conf with lines[NAME],
// indented like the original: the first line marked NAME by all of it, the
// later ones (the upstream's servers) by nothing; an empty value drops the
// line. Every marker must have a replacement and every replacement a
// marker, so that the shipped file and this program cannot drift apart
// silently. Everything else is kept byte for byte.
func renderNginxConf(conf string, lines map[string]string) (string, error) {
	used := map[string]bool{}
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(conf))
	for sc.Scan() {
		line := sc.Text()
		m := siteMarker.FindStringSubmatch(line)
		if m == nil {
			out.WriteString(line + "\n")
			continue
		}
		name := m[1]
		repl, ok := lines[name]
		if !ok {
			return "", fmt.Errorf("marked line %q has no replacement", name)
		}
		if used[name] {
			continue
		}
		used[name] = true
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		for _, r := range strings.Split(repl, "\n") {
			if r != "" {
				out.WriteString(indent + r + "\n")
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	for name := range lines {
		if !used[name] {
			return "", fmt.Errorf("no line marked %q", name)
		}
	}
	return out.String(), nil
}
