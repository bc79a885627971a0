package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// Eventually polls cond every few milliseconds until it holds, and fails
// t if it does not within d. It is for states that no event announces
// (a count, a registry); where an event exists, wait for the event.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// FreeAddr returns a loopback address whose port, chosen by the kernel,
// was free a moment ago. The caller binds it soon after; a collision is
// possible but unlikely.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// FreeAddrIn is FreeAddr with a port drawn from [lo, hi), for processes
// that bind the address later than a moment after (a child process, a
// Node script): below the kernel's ephemeral range, the port is not
// handed out meanwhile to the outgoing connections of the machine.
func FreeAddrIn(t testing.TB, lo, hi int) string {
	t.Helper()
	for range 1000 {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+rand.IntN(hi-lo))))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return addr
	}
	t.Fatalf("no free port in [%d, %d)", lo, hi)
	return ""
}

// InCI reports whether the tests run under CI (.ci/run sets CI=true),
// where a missing tool (node, Chromium, an npm package, redis-server) is a
// broken set-up to fail on, not a reason to skip.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "0" && v != "false"
}
