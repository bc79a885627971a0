package loop

import (
	"os"
	"strconv"
	"syscall"

	"github.com/panjf2000/gnet/v2"
)

// Pausing reads on Linux.
//
// gnet v2.9.7 has no call that stops reading a connection: in its default
// level-triggered mode every EPOLLIN readiness reads up to 64 KiB (the
// loop's read buffer) and whatever OnTraffic leaves unconsumed is copied
// into the connection's inbound ring, which grows without limit. Merely
// not consuming input therefore buffers all the peer sends.
//
// So a paused connection is taken out of EPOLLIN by hand: its fd is
// modified (EPOLL_CTL_MOD) in the loop's epoll instance to EPOLLRDHUP, plus
// EPOLLOUT while gnet's outbound buffer holds bytes. The kernel then stops
// reporting input, gnet stops calling read(2), the socket's receive buffer
// fills and TCP flow control makes the peer wait. What stays armed keeps
// the rest working: EPOLLOUT lets gnet drain its outbound buffer; EPOLLERR
// and EPOLLHUP (always reported) and EPOLLRDHUP report a reset or a FIN,
// which gnet turns into a close. gnet treats a FIN as the end of the
// connection in any case; a paused peer that hangs up loses the input we
// had not read yet and, since gnet closes on a bare EPOLLRDHUP without
// writing, what was still queued for it (a peer that half-closes and
// waits for answers is not served while paused). The epoll_event is
// written as gnet writes it (data = the fd), so gnet's dispatch is
// unchanged.
//
// The loop's epoll fd is not exported by gnet. It is found once per Loop,
// on the first pause, among the process's anon_inode:[eventpoll]
// descriptors: an epoll item is keyed by (fd number, open file), and a
// connection's fd is registered in exactly one gnet poller, so
// EPOLL_CTL_MOD of that fd succeeds only in its own loop's epoll and fails
// with ENOENT, changing nothing, in every other one (another engine's
// loops, the Go runtime's netpoller).
//
// gnet re-arms EPOLLIN on its own whenever its write path calls ModRead or
// ModReadWrite: when a write leaves bytes in its outbound buffer (our
// flush, see flushPaused) and when it drains that buffer on EPOLLOUT. The
// first case is caught right after our write and the pause re-applied.
// The second is not visible to us until the read it lets through: that
// read reaches OnTraffic, which re-applies the pause without consuming
// anything. Each drain can thus let at most one read (64 KiB) into the
// inbound ring, and a peer that keeps reading our output while sending
// could repeat that; the hard cap bounds it. A paused connection whose
// buffered input passes Config.MaxPausedInputBytes is closed as abusive,
// so a paused connection never holds more than that cap plus one read
// (64 KiB) of input.
//
// Every epoll change is made on the connection's loop goroutine, between
// gnet's own changes, and only while gnet's OnClose has not run: after it
// the fd number may already belong to another connection.

// stopReading takes gc out of EPOLLIN. Loop-only. It reports whether the
// kernel will stop reporting input; false leaves gnet reading (the cap
// still applies).
func (l *Loop) stopReading(gc gnet.Conn) bool {
	ev := uint32(syscall.EPOLLRDHUP)
	if gc.OutboundBuffered() > 0 {
		ev |= syscall.EPOLLOUT
	}
	return l.epollMod(gc.Fd(), ev)
}

// startReading restores the events gnet itself sets in level-triggered
// mode: EPOLLIN|EPOLLPRI, plus EPOLLOUT while its outbound buffer holds
// bytes. Loop-only.
func (l *Loop) startReading(gc gnet.Conn) {
	ev := uint32(syscall.EPOLLIN | syscall.EPOLLPRI)
	if gc.OutboundBuffered() > 0 {
		ev |= syscall.EPOLLOUT
	}
	l.epollMod(gc.Fd(), ev)
}

// epollMod sets the events of fd in the loop's epoll, finding that epoll
// on the first call. Loop-only.
func (l *Loop) epollMod(fd int, events uint32) bool {
	ev := syscall.EpollEvent{Events: events, Fd: int32(fd)}
	if l.epfd > 0 {
		return syscall.EpollCtl(l.epfd-1, syscall.EPOLL_CTL_MOD, fd, &ev) == nil
	}
	if l.epollSearched {
		return false
	}
	l.epollSearched = true
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return false
	}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == fd {
			continue
		}
		if link, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || link != "anon_inode:[eventpoll]" {
			continue
		}
		if syscall.EpollCtl(n, syscall.EPOLL_CTL_MOD, fd, &ev) == nil {
			l.epfd = n + 1
			return true
		}
	}
	return false
}
