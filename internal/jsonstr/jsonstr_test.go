package jsonstr

import "testing"

// AppendQuoted escapes ASCII itself and hands every non-ASCII byte's run
// to the rule, at the right offset, in strings long enough to take the
// 8-byte path and short enough not to.
func TestAppendQuoted(t *testing.T) {
	// The rule replaces "é" (0xc3 0xa9) with <e> and keeps other runes.
	rule := func(rest string) (int, string) {
		if len(rest) >= 2 && rest[0] == 0xc3 && rest[1] == 0xa9 {
			return 2, "<e>"
		}
		n := 1
		for n < len(rest) && rest[n]&0xc0 == 0x80 {
			n++
		}
		return n, ""
	}
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{"exactly8", `"exactly8"`},
		{"a \"quote\" and \\ back\x01slash\n", `"a \"quote\" and \\ back\u0001slash\n"`},
		{"café", `"caf<e>"`},
		{"0123456789é€ and é", `"0123456789<e>€ and <e>"`},
		{"€€€€€€€€ twelve chars", `"€€€€€€€€ twelve chars"`},
	} {
		if got := string(AppendQuoted([]byte("x"), c.in, rule)); got != "x"+c.want {
			t.Errorf("AppendQuoted(%q) = %s, want x%s", c.in, got, c.want)
		}
		if got := string(AppendQuoted(nil, []byte(c.in), func(rest []byte) (int, string) { return rule(string(rest)) })); got != c.want {
			t.Errorf("AppendQuoted([]byte %q) = %s, want %s", c.in, got, c.want)
		}
	}
}
