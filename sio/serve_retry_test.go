package sio

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// A ListenAndServe that could not listen (its address in use) leaves the
// server able to ListenAndServe elsewhere, on loops of its own: the
// failed attempt's loops are forgotten.
func TestListenAndServeAgainAfterAddrInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	srv := NewServer(Config{Loops: 1})
	err = srv.ListenAndServe(taken.Addr().String(), nil)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("ListenAndServe on a port in use: %v", err)
	}
	if srv.executors.Load() != nil {
		t.Fatal("the failed attempt's loops are still the server's")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(addr, nil) }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		t.Fatalf("second ListenAndServe: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("second ListenAndServe not ready")
	}
	if srv.executors.Load() == nil {
		t.Fatal("the serving loops are not recorded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
