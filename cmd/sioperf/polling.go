package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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
// or the echo driver queue in out; the sender goroutine posts them.
type pollConn struct {
	c      *conn
	url    string // the polling request URL, with the session id once known
	hc     *http.Client
	tr     *http.Transport
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	out    []byte // packets waiting for the next POST, joined by 0x1e
	wake   chan struct{}
	closed bool
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
	d := p.dialers[c.idx%len(p.dialers)]
	addr := p.addrs[c.idx%len(p.addrs)]
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: 2,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	ctx, cancel := context.WithCancel(parent)
	pc := &pollConn{c: c, url: "http://" + addr + p.pollURL, tr: tr,
		hc: &http.Client{Transport: tr}, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
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
	pc.url += "&sid=" + sid
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

// get performs one GET and returns its body.
func (pc *pollConn) get() ([]byte, error) {
	req, err := http.NewRequestWithContext(pc.ctx, http.MethodGet, pc.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := pc.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET status %d: %q", errPollStatus, resp.StatusCode, body)
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

func (pc *pollConn) post(body []byte) error {
	req, err := http.NewRequestWithContext(pc.ctx, http.MethodPost, pc.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := pc.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: POST status %d", errPollStatus, resp.StatusCode)
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
	pc.tr.CloseIdleConnections()
}
