package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ChromiumPath is where Debian's chromium package puts the browser the
// browser tests drive through playwright-core.
const ChromiumPath = "/usr/bin/chromium"

// Need is a file a test needs besides the browser, and what installs it.
type Need struct {
	Path    string // relative to the repository's root
	Install string // named in the message when Path is missing
}

// RequireBrowser returns the path of node for a test (named test in the
// message) that drives headless Chromium (ChromiumPath) with the
// playwright-core of root's node_modules. When node, Chromium,
// playwright-core or a file of more is missing, it skips the test on a
// developer machine and fails it under CI (InCI), naming what .ci/setup
// would install.
func RequireBrowser(t testing.TB, test, root string, more ...Need) string {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	needs := append([]Need{
		{ChromiumPath, ChromiumPath + " (apt-get install chromium)"},
		{filepath.Join("node_modules", "playwright-core", "package.json"), "node_modules/playwright-core (npm ci)"},
	}, more...)
	for _, n := range needs {
		p := n.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, n.Install)
		}
	}
	if len(missing) > 0 {
		msg := test + " needs " + strings.Join(missing, ", ") + "; .ci/setup installs them"
		if InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// BrowserEnv is the environment of a playwright script: this process's,
// with CHROMIUM_PATH telling the script which browser to launch.
func BrowserEnv() []string { return append(os.Environ(), "CHROMIUM_PATH="+ChromiumPath) }
