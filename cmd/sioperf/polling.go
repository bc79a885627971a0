package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// transportPolling keeps a client on HTTP long-polling for its whole life,
// as socket.io-client does with transports: ["polling"] (or behind a proxy
// that refuses WebSocket): a GET always waits for the server's packets, and
// what the client sends goes in POSTs, one in flight at a time, the packets
// queued meanwhile joined into the next one.
const transportPolling = "polling"

// maxPollBody bounds one GET response the tool reads.
const maxPollBody = 8 << 20

// pollConn is the polling side of a conn (-transport polling). Its GET
// loop is the conn's reader: it alone runs onMessage. Sends from the reader
// or the echo driver queue in out; the sender goroutine posts them. Each
// direction keeps one HTTP/1.1 connection of its own, as a browser's
// polling transport does, and speaks HTTP on it directly: Go's http.Client
// costs the tool more per request than the servers under test spend.
type pollConn struct {
	c      *conn
	dialer *net.Dialer
	addr   string
	path   string // the request path, with the session id once known
	ctx    context.Context
	cancel context.CancelFunc

	gets, posts httpConn

	mu     sync.Mutex
	out    []byte     // packets waiting for the next POST, joined by 0x1e
	nconns []net.Conn // every connection dialed, for close; guarded by mu
	wake   chan struct{}
	closed bool
}

// httpConn is one keep-alive HTTP/1.1 connection used by one goroutine at
// a time.
type httpConn struct {
	nc  net.Conn
	br  *bufio.Reader
	req []byte // request scratch
	buf []byte // body scratch
}

// do sends one request and returns the response's status and body; the
// body is valid until the next call. A connection the server closed is
// dialed again once.
func (h *httpConn) do(pc *pollConn, method string, body []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		if h.nc == nil {
			nc, err := pc.dialer.DialContext(pc.ctx, "tcp", pc.addr)
			if err != nil {
				return 0, nil, err
			}
			if !pc.track(nc) {
				nc.Close()
				return 0, nil, errPoolClosing
			}
			h.nc, h.br = nc, bufio.NewReaderSize(nc, 16<<10)
		}
		h.req = append(h.req[:0], method...)
		h.req = append(h.req, ' ')
		h.req = append(h.req, pc.path...)
		h.req = append(h.req, " HTTP/1.1\r\nHost: "...)
		h.req = append(h.req, pc.addr...)
		if method == http.MethodPost {
			h.req = append(h.req, "\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
			h.req = strconv.AppendInt(h.req, int64(len(body)), 10)
		}
		h.req = append(h.req, "\r\n\r\n"...)
		h.req = append(h.req, body...)
		status, b, err := h.exchange(pc)
		if err == nil {
			return status, b, nil
		}
		h.close(pc)
		if attempt > 0 || pc.ctx.Err() != nil {
			return 0, nil, err
		}
	}
}

// exchange writes h.req and reads one response.
func (h *httpConn) exchange(pc *pollConn) (int, []byte, error) {
	if _, err := h.nc.Write(h.req); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	n := resp.ContentLength
	if n > maxPollBody {
		return 0, nil, fmt.Errorf("sioperf: polling response of %d bytes", n)
	}
	if n >= 0 {
		if int64(cap(h.buf)) < n {
			h.buf = make([]byte, n)
		}
		h.buf = h.buf[:n]
		if _, err := io.ReadFull(resp.Body, h.buf); err != nil {
			return 0, nil, err
		}
	} else {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody))
		if err != nil {
			return 0, nil, err
		}
		h.buf = b
	}
	if resp.Close {
		h.close(pc) // the body is read; dial again next time
	}
	return resp.StatusCode, h.buf, nil
}

// close closes the connection (its owner only).
func (h *httpConn) close(pc *pollConn) {
	if h.nc != nil {
		pc.untrack(h.nc)
		h.nc.Close()
		h.nc, h.br = nil, nil
	}
}

// errPollStatus reports a polling request the server answered with an
// error status.
var errPollStatus = errors.New("sioperf: polling request refused")

// runPolling (-transport polling) opens the session with a GET, then reads
// until the session ends. Each client has its own connection pool, as each
// browser has: a long-poll GET holds one connection, a POST another.
func (c *conn) runPolling(parent context.Context) {
	p := c.p
	defer p.live.Done()
	ctx, cancel := context.WithCancel(parent)
	pc := &pollConn{c: c, dialer: p.dialers[c.idx%len(p.dialers)], addr: p.addrs[c.idx%len(p.addrs)],
		path: p.pollURL, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
	c.poll = pc
	defer pc.close()
	hs := time.AfterFunc(time.Until(c.start.Add(p.spec.HandshakeTimeout)), func() {
		if c.finish(errHandshakeTimeout) {
			pc.close()
		}
	})
	defer hs.Stop()
	body, err := pc.get()
	if err != nil {
		c.finish(err)
		return
	}
	sid, err := openSid(body)
	if err != nil {
		c.finish(err)
		return
	}
	pc.path += "&sid=" + sid
	p.mu.Lock()
	if p.closing.Load() {
		p.mu.Unlock()
		c.finish(errPoolClosing)
		return
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	go pc.sendLoop()
	c.state = stConnect
	pc.send([]byte("40"))
	for {
		body, err := pc.get()
		if err != nil {
			if c.phase.Load() == phHandshake {
				c.finish(fmt.Errorf("sioperf: handshake: %w", err))
			} else if !p.closing.Load() && ctx.Err() == nil {
				p.disconnects.Add(1)
			}
			return
		}
		nowUs := clockUs()
		for len(body) > 0 {
			pkt := body
			if i := bytes.IndexByte(body, 0x1e); i >= 0 {
				pkt, body = body[:i], body[i+1:]
			} else {
				body = nil
			}
			if err := c.onMessage(pkt, nowUs); err != nil {
				c.flushBatch(nowUs)
				if c.phase.Load() == phHandshake {
					c.finish(err)
				} else if !p.closing.Load() {
					p.protoErrors.Add(1)
				}
				return
			}
		}
		c.flushBatch(nowUs)
	}
}

// get performs one GET and returns its body, valid until the next get.
// Reader only.
func (pc *pollConn) get() ([]byte, error) {
	status, body, err := pc.gets.do(pc, http.MethodGet, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: GET status %d: %q", errPollStatus, status, body)
	}
	return body, nil
}

// send queues one packet for the next POST; it is copied.
func (pc *pollConn) send(pkt []byte) {
	pc.mu.Lock()
	if pc.closed {
		pc.mu.Unlock()
		return
	}
	if len(pc.out) > 0 {
		pc.out = append(pc.out, 0x1e)
	}
	pc.out = append(pc.out, pkt...)
	pc.mu.Unlock()
	select {
	case pc.wake <- struct{}{}:
	default:
	}
}

// sendLoop posts what send queued, one POST at a time, until the
// connection closes.
func (pc *pollConn) sendLoop() {
	var body []byte
	for {
		select {
		case <-pc.wake:
		case <-pc.ctx.Done():
			return
		}
		pc.mu.Lock()
		body, pc.out = pc.out, body[:0]
		pc.mu.Unlock()
		if len(body) == 0 {
			continue
		}
		if err := pc.post(body); err != nil {
			pc.close() // the GET loop then ends and counts the disconnect
			return
		}
	}
}

// post sends one payload. Sender only.
func (pc *pollConn) post(body []byte) error {
	status, _, err := pc.posts.do(pc, http.MethodPost, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%w: POST status %d", errPollStatus, status)
	}
	return nil
}

// close ends the GET loop and the sender and drops the idle connections.
func (pc *pollConn) close() {
	pc.mu.Lock()
	already := pc.closed
	pc.closed = true
	pc.mu.Unlock()
	if already {
		return
	}
	pc.cancel()
	// The connections' owners may be blocked on them: closing them ends
	// their requests with an error.
	pc.mu.Lock()
	conns := pc.nconns
	pc.nconns = nil
	pc.mu.Unlock()
	for _, nc := range conns {
		nc.Close()
	}
}

// track records a connection just dialed so that close can end it; false
// once closed.
func (pc *pollConn) track(nc net.Conn) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closed {
		return false
	}
	pc.nconns = append(pc.nconns, nc)
	return true
}

// untrack forgets a connection its owner closed.
func (pc *pollConn) untrack(nc net.Conn) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for i, c := range pc.nconns {
		if c == nc {
			pc.nconns = append(pc.nconns[:i], pc.nconns[i+1:]...)
			return
		}
	}
}
