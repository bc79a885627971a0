package http1

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

const (
	tchars     = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pathChars  = "/abcXYZ019-._~!$&'()*+,;=:@%"
	valueChars = " \t!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\x80\xc3\xa9\xff"
)

type genRequest struct {
	wire    string
	want    result
	queries map[string]string // first value of each key
}

func randString(r *rand.Rand, alphabet string, minLen, maxLen int) string {
	n := minLen + r.IntN(maxLen-minLen+1)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// genValid builds a random valid request and, independently of the parser,
// the result Parse must report for it.
func genValid(r *rand.Rand) genRequest {
	g := genRequest{queries: map[string]string{}}
	method := randString(r, tchars, 1, 8)
	path := "/" + strings.ReplaceAll(randString(r, pathChars, 0, 20), "%", "%25")
	target := path
	var rawQuery string
	hasQuery := r.IntN(3) > 0
	if hasQuery {
		var pairs []string
		for range r.IntN(4) {
			k := randString(r, "abcEIO_ =&%+é", 1, 5)
			v := randString(r, "abc019 +&=%/?é", 0, 8)
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(v))
			if _, ok := g.queries[k]; !ok {
				g.queries[k] = v
			}
		}
		rawQuery = strings.Join(pairs, "&")
		target += "?" + rawQuery
	}
	minor := r.IntN(2)

	var (
		b                        strings.Builder
		headers                  [][2]string
		closeTok, keepTok, upTok bool
		upgradeHdr               bool
		contentLength            int64 = -1
		body                     string
	)
	if r.IntN(4) == 0 {
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.%d\r\n", method, target, minor)
	add := func(name, value string) {
		pad := func() string { return randString(r, " \t", 0, 2) }
		fmt.Fprintf(&b, "%s:%s%s%s\r\n", name, pad(), value, pad())
		headers = append(headers, [2]string{name, value})
	}
	for range r.IntN(12) {
		switch r.IntN(6) {
		case 0:
			toks := []string{"close", "Keep-Alive", "upgrade", "foo"}
			tok := toks[r.IntN(len(toks))]
			closeTok = closeTok || tok == "close"
			keepTok = keepTok || tok == "Keep-Alive"
			upTok = upTok || tok == "upgrade"
			add("Connection", "x, "+tok)
		case 1:
			v := randString(r, "websocket", 0, 3)
			upgradeHdr = upgradeHdr || v != ""
			add("upgrade", v)
		default:
			name := randString(r, tchars, 1, 10)
			switch strings.ToLower(name) {
			case "host", "content-length", "transfer-encoding", "connection", "upgrade":
				name = "X-" + name
			}
			v := strings.Trim(randString(r, valueChars, 0, 30), " \t")
			add(name, v)
		}
	}
	if r.IntN(2) == 0 {
		body = randString(r, valueChars+"\r\n\x00", 0, 40)
		contentLength = int64(len(body))
		add("Content-Length", fmt.Sprint(len(body)))
	}
	b.WriteString("\r\n")
	headLen := b.Len()
	b.WriteString(body)

	g.wire = b.String()
	g.want = result{
		N: b.Len(), Method: method, Target: target, Path: path, RawQuery: rawQuery, HasQuery: hasQuery,
		Major: 1, Minor: minor, Headers: headers, ContentLength: contentLength, HeaderLen: headLen,
		Body: body, HasBody: contentLength > 0,
	}
	if minor == 0 {
		g.want.KeepAlive = keepTok && !closeTok
	} else {
		g.want.KeepAlive = !closeTok
		g.want.Upgrade = upTok && upgradeHdr
	}
	return g
}

// TestRoundTripGenerated writes random valid requests, parses them back and
// requires exactly what was written, including decoded query values; pairs
// of them are also fed split at a random point.
func TestRoundTripGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		g := genValid(r)
		var req Request
		n, err := Parse([]byte(g.wire), &req, nil)
		if got := snap(n, err, &req); got.String() != g.want.String() {
			t.Fatalf("#%d %q\n got %v\nwant %v", i, g.wire, got, g.want)
		}
		for k, v := range g.queries {
			if got, ok := req.Query(k); !ok || got != v {
				t.Fatalf("#%d Query(%q) = (%q, %v), want %q; raw %q", i, k, got, ok, v, req.RawQuery)
			}
		}

		next := genValid(r)
		in := []byte(g.wire + next.wire)
		k := r.IntN(len(in) + 1)
		if got, rest := drive(splitAt(in, k), nil); !equalResults(got, []result{g.want, next.want}) || len(rest) != 0 {
			t.Fatalf("#%d split at %d of %q:\n got %v", i, k, in, got)
		}
	}
}
