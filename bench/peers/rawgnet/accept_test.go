package main

import "testing"

func TestAcceptRFCExample(t *testing.T) {
	got := string(appendAccept(nil, []byte("dGhlIHNhbXBsZSBub25jZQ==")))
	if got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %q", got)
	}
}
