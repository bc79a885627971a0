package redistest

import (
	"strings"
	"testing"
)

func TestServerKillRestart(t *testing.T) {
	s := Start(t)
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Do("GET", "k"); err != nil || v != "v" {
		t.Fatalf("GET: %q %v", v, err)
	}
	s.Kill()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	if v, err := s.Do("GET", "k"); err != nil || v != "" {
		t.Fatalf("GET after restart: %q %v, want nothing (persistence is off)", v, err)
	}
}

func TestCluster(t *testing.T) {
	c := StartCluster(t)
	if len(c.Addrs()) != 3 {
		t.Fatalf("%d nodes", len(c.Addrs()))
	}
	info, err := c.Nodes[0].Do("CLUSTER", "INFO")
	if err != nil || !strings.Contains(info, "cluster_known_nodes:3") {
		t.Fatalf("CLUSTER INFO: %q %v", info, err)
	}
	// SPUBLISH reaches the shard that owns the channel's slot: at least the
	// command is accepted by the right node (a MOVED error names it).
	if _, err := c.Nodes[0].Do("SPUBLISH", "x", "y"); err != nil && !strings.Contains(err.Error(), "MOVED") {
		t.Fatalf("SPUBLISH: %v", err)
	}
}
