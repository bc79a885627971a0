package eio

import (
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/bytebufferpool"
)

// Polling responses are compressed as engine.io's httpCompression does: a
// body of at least Config.HTTPCompressionThreshold bytes (1024 by default)
// is sent gzip- or deflate-encoded when the request accepts either, gzip
// preferred at equal quality; smaller ones, and every other response, go
// as they are. WebSocket messages are not affected.

var (
	gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}
	zlibPool = sync.Pool{New: func() any { return zlib.NewWriter(io.Discard) }}
	zipBufs  bytebufferpool.Pool
)

// compressedPoll returns body encoded for x when that applies, with
// Content-Encoding set in h, and a buffer to give back to zipBufs once the
// body has been handed over (nil if body is returned as it is).
func (s *Server) compressedPoll(x Exchange, h http.Header, body []byte) ([]byte, *bytebufferpool.ByteBuffer) {
	if s.cfg.DisableHTTPCompression || len(body) < s.cfg.HTTPCompressionThreshold {
		return body, nil
	}
	enc := pickEncoding(x.Header("Accept-Encoding"))
	if enc == "" {
		return body, nil
	}
	b := zipBufs.Get()
	var err error
	if enc == "gzip" {
		w := gzipPool.Get().(*gzip.Writer)
		w.Reset(b)
		_, err = w.Write(body)
		if err == nil {
			err = w.Close()
		}
		gzipPool.Put(w)
	} else {
		w := zlibPool.Get().(*zlib.Writer)
		w.Reset(b)
		_, err = w.Write(body)
		if err == nil {
			err = w.Close()
		}
		zlibPool.Put(w)
	}
	if err != nil { // writing to memory does not fail; be safe anyway
		zipBufs.Put(b)
		return body, nil
	}
	h.Set("Content-Encoding", enc)
	return b.B, b
}

// pickEncoding chooses gzip or deflate from an Accept-Encoding value by
// quality (RFC 9110 §12.5.3), gzip first when they tie; "" when neither is
// acceptable.
func pickEncoding(accept string) string {
	gzipQ, deflateQ, anyQ := -1.0, -1.0, -1.0
	for _, part := range strings.Split(accept, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		switch name {
		case "gzip", "x-gzip":
			gzipQ = q
		case "deflate":
			deflateQ = q
		case "*":
			anyQ = q
		}
	}
	if gzipQ < 0 {
		gzipQ = anyQ
	}
	if deflateQ < 0 {
		deflateQ = anyQ
	}
	switch {
	case gzipQ > 0 && gzipQ >= deflateQ:
		return "gzip"
	case deflateQ > 0:
		return "deflate"
	}
	return ""
}
