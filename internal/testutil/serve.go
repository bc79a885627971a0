package testutil

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// ListenAndServe runs listen (a server's ListenAndServe, given the address)
// on a goroutine of its own, on an address drawn by addr, and waits up to
// wait for ready, which the server closes once it listens. A port that
// another test process took between its draw and the listen ("address
// already in use") is drawn again, up to five times. It returns the
// address and the channel listen's result arrives on (see Returned).
func ListenAndServe(t testing.TB, addr func(testing.TB) string, ready <-chan struct{}, wait time.Duration,
	listen func(addr string) error) (string, <-chan error) {
	t.Helper()
	errc := make(chan error, 1)
	for attempt := 0; ; attempt++ {
		a := addr(t)
		go func() { errc <- listen(a) }()
		var err error
		select {
		case <-ready:
		case err = <-errc:
		case <-time.After(wait):
			t.Fatalf("ListenAndServe(%s) not ready within %v", a, wait)
		}
		if err == nil {
			return a, errc
		}
		if attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("ListenAndServe(%s): %v", a, err)
		}
	}
}

// Returned fails t unless the server run by ListenAndServe returns within
// d (of its Shutdown, say), with nil or closed, its error for a server
// closed on purpose.
func Returned(t testing.TB, errc <-chan error, d time.Duration, closed error) {
	t.Helper()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, closed) {
			t.Errorf("ListenAndServe returned %v", err)
		}
	case <-time.After(d):
		t.Errorf("ListenAndServe did not return within %v of Shutdown", d)
	}
}
