package http1

import (
	"bytes"
	"fmt"
	"testing"
)

// splitPoints returns every split position of an input of length n, thinned
// out past 512 bytes so the long CVE inputs stay quick under -race.
func splitPoints(n int) []int {
	var ks []int
	for k := 0; k <= n; k++ {
		if k <= 512 || k%97 == 0 || k >= n-16 {
			ks = append(ks, k)
		}
	}
	return ks
}

// checkSplits feeds in to drive as one chunk, as two chunks split at every
// position, and one byte at a time, and requires the same results every
// time, and the same unconsumed rest when the stream did not end in an error
// (after an error the connection is closed, so how much had arrived does not
// matter).
func checkSplits(t *testing.T, in []byte, lim *Limits, want []result) {
	t.Helper()
	whole, wholeRest := drive([][]byte{in}, lim)
	if !equalResults(whole, want) {
		t.Fatalf("one chunk:\n got %v\nwant %v", whole, want)
	}
	failed := want[len(want)-1].Err != nil
	check := func(how string, got []result, rest []byte) {
		t.Helper()
		if !equalResults(got, want) || (!failed && !bytes.Equal(rest, wholeRest)) {
			t.Fatalf("%s:\n got %v rest %.200q\nwant %v rest %.200q", how, got, rest, want, wholeRest)
		}
	}
	for _, k := range splitPoints(len(in)) {
		got, rest := drive(splitAt(in, k), lim)
		check(fmt.Sprintf("split at %d", k), got, rest)
	}
	if len(in) <= 4096 {
		got, rest := drive(bytewise(in), lim)
		check("byte by byte", got, rest)
	}
}

func TestSplitValid(t *testing.T) {
	for _, tc := range validCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkSplits(t, []byte(tc.in), tc.lim, []result{tc.want})
		})
	}
}

func TestSplitErrors(t *testing.T) {
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkSplits(t, []byte(tc.in), tc.lim, []result{{Err: tc.want}})
		})
	}
}

// TestSplitPipelined joins two requests in one stream, the way a client
// pipelines polling POSTs or sends its upgrade right behind a GET.
func TestSplitPipelined(t *testing.T) {
	var whole []validCase
	for _, tc := range validCases() {
		// Cases with their own limits or trailing bytes do not compose.
		if tc.lim == nil && tc.want.N == len(tc.in) {
			whole = append(whole, tc)
		}
	}
	// Every case goes before and after the POST, whose body boundary is
	// the interesting one; the cost is quadratic in length, so the long
	// GET and upgrade are paired only with each other.
	get, upgrade, post := whole[0], whole[1], whole[2]
	pairs := [][2]validCase{{get, upgrade}, {upgrade, get}}
	for _, a := range whole {
		pairs = append(pairs, [2]validCase{a, post}, [2]validCase{post, a})
	}
	for _, pair := range pairs {
		first, second := pair[0], pair[1]
		t.Run(first.name+" then "+second.name, func(t *testing.T) {
			in := []byte(first.in + second.in)
			checkSplits(t, in, nil, []result{first.want, second.want})
		})
	}
}

// TestSplitPipelinedError checks that a valid request ahead of a bad one is
// still served, then the error reported, wherever the stream is cut.
func TestSplitPipelinedError(t *testing.T) {
	post := validCases()[2]
	for _, tc := range errorCases() {
		if tc.lim != nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(post.in + tc.in)
			checkSplits(t, in, nil, []result{post.want, {Err: tc.want}})
		})
	}
}
