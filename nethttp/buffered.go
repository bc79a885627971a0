package nethttp

import (
	"bytes"
	"io"
	"net/http"

	"github.com/sioloop/sioloop/eio"
)

// ServeBuffered runs h for x, a request an event loop read (which has no
// http.ResponseWriter), and sends h's response in one Respond once h
// returns. A panic in h answers 500 and is passed to onPanic with the
// request, unless it is http.ErrAbortHandler, as net/http does; it must
// not end the process, since the goroutine that runs h is the caller's,
// not net/http's.
func ServeBuffered(x eio.Exchange, h http.Handler, onPanic func(v any, r *http.Request)) {
	r := x.Request()
	r.Body = io.NopCloser(bytes.NewReader(x.Body()))
	w := &bufferedWriter{header: http.Header{}}
	defer func() {
		if v := recover(); v != nil {
			x.Respond(http.StatusInternalServerError, nil, []byte("internal server error\n"))
			if v != http.ErrAbortHandler {
				onPanic(v, r)
			}
		}
	}()
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.header.Get("Content-Type") == "" && w.body.Len() > 0 {
		w.header.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	body := w.body.Bytes()
	if r.Method == http.MethodHead {
		body = nil
	}
	x.Respond(w.status, w.header, body)
}

// bufferedWriter is the http.ResponseWriter of ServeBuffered: it keeps
// the status, the headers and the body until the handler returns.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header implements http.ResponseWriter.
func (w *bufferedWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter: the first status wins.
func (w *bufferedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// Write implements http.ResponseWriter.
func (w *bufferedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}
