package http1

import "fmt"

// Typical requests, shaped after what Chrome and engine.io-client send.
const (
	pollingGET = "GET /socket.io/?EIO=4&transport=polling&t=PZx1a2b&sid=h_8VLE9a5XlomRuHAACk HTTP/1.1\r\n" +
		"Host: localhost:3000\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
		"Accept: */*\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n" +
		"Connection: keep-alive\r\n" +
		"Cookie: io=h_8VLE9a5XlomRuHAACk\r\n" +
		"Origin: http://localhost:3000\r\n" +
		"Referer: http://localhost:3000/\r\n" +
		"\r\n"
	wsUpgrade = "GET /socket.io/?EIO=4&transport=websocket&sid=h_8VLE9a5XlomRuHAACk HTTP/1.1\r\n" +
		"Host: localhost:3000\r\n" +
		"Connection: Upgrade\r\n" +
		"Pragma: no-cache\r\n" +
		"Cache-Control: no-cache\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
		"Upgrade: websocket\r\n" +
		"Origin: http://localhost:3000\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"\r\n"
	pollingPOST = "POST /socket.io/?EIO=4&transport=polling&sid=h_8VLE9a5XlomRuHAACk HTTP/1.1\r\n" +
		"Host: localhost:3000\r\n" +
		"Content-Type: text/plain;charset=UTF-8\r\n" +
		"Content-Length: 18\r\n" +
		"\r\n" +
		`42["message","hi"]`
)

// result is an owned snapshot of one Parse call, comparable with ==-like
// deep equality after the input buffer has changed.
type result struct {
	N             int
	Err           error
	Method        string
	Target        string
	Path          string
	RawQuery      string
	HasQuery      bool
	Major, Minor  int
	Headers       [][2]string
	ContentLength int64
	Chunked       bool
	KeepAlive     bool
	Upgrade       bool
	HeaderLen     int
	Body          string
	HasBody       bool
}

// snap copies what Parse reported. After an error or "need more" only N and
// Err are meaningful, so the rest is left zero.
func snap(n int, err error, r *Request) result {
	if err != nil || n == 0 {
		return result{N: n, Err: err}
	}
	res := result{
		N:             n,
		Method:        string(r.Method),
		Target:        string(r.Target),
		Path:          string(r.Path),
		RawQuery:      string(r.RawQuery),
		HasQuery:      r.RawQuery != nil,
		Major:         r.Major,
		Minor:         r.Minor,
		ContentLength: r.ContentLength,
		Chunked:       r.Chunked,
		KeepAlive:     r.KeepAlive,
		Upgrade:       r.Upgrade,
		HeaderLen:     r.HeaderLen,
		Body:          string(r.Body),
		HasBody:       r.Body != nil,
	}
	for _, h := range r.Headers {
		res.Headers = append(res.Headers, [2]string{string(h.Name), string(h.Value)})
	}
	return res
}

func (r result) String() string {
	if r.Err != nil {
		return fmt.Sprintf("error %v", r.Err)
	}
	type plain result // drops the String method
	return fmt.Sprintf("%+v", plain(r))
}

func equalResults(a, b []result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() || a[i].Err != b[i].Err {
			return false
		}
	}
	return true
}

// drive plays the caller in loop/: it appends each chunk to a connection
// buffer, parses as many requests as are complete, consumes them, and stops
// at the first error. It returns the successful results followed by the
// error, if any, and the bytes left over. It runs in time linear in the
// input, however many requests it holds.
func drive(chunks [][]byte, lim *Limits) (out []result, rest []byte) {
	var (
		buf []byte
		off int // start of the unconsumed bytes in buf
		req Request
	)
	for _, c := range chunks {
		// Compact as a ring buffer would; only the unconsumed tail moves.
		buf = append(buf[:0], buf[off:]...)
		off = 0
		buf = append(buf, c...)
		for {
			n, err := Parse(buf[off:], &req, lim)
			if err != nil {
				return append(out, snap(n, err, &req)), buf[off:]
			}
			if n == 0 {
				break
			}
			if n > len(buf)-off {
				panic("n beyond buffer")
			}
			out = append(out, snap(n, err, &req))
			// Poison the consumed bytes so a view that outlived its
			// request would show up as a mismatch.
			clear(buf[off : off+n])
			off += n
		}
	}
	return out, buf[off:]
}

// splitAt returns b cut into two chunks at k.
func splitAt(b []byte, k int) [][]byte { return [][]byte{b[:k:k], b[k:]} }

// bytewise returns b cut into one-byte chunks.
func bytewise(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}
