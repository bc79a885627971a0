package main

import (
	"reflect"
	"testing"
)

func TestMultiNodeFlags(t *testing.T) {
	cfg, err := parseConfig("fanout", []string{"-addr", "127.0.0.1:1,127.0.0.1:2", "-server-pid", "10,11"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.ServerPIDs, []int{10, 11}) || cfg.ServerPID != 10 {
		t.Fatalf("pids %v %d", cfg.ServerPIDs, cfg.ServerPID)
	}
	if got := firstAddr(cfg.Addr); got != "127.0.0.1:1" {
		t.Fatalf("firstAddr %q", got)
	}
	if _, err := parseConfig("fanout", []string{"-server-pid", "10,x"}); err == nil {
		t.Fatal("bad pid accepted")
	}
}
