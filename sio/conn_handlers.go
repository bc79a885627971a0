package sio

import "sync"

// connHandlers is what runs when a socket connects: the middleware and the
// connection handlers of a Namespace, or of a ParentNamespace for all its
// children. A child runs its parent's before its own.
type connHandlers struct {
	mu     sync.RWMutex
	mws    []func(*Socket) error // guarded by mu
	onConn []func(*Socket)       // guarded by mu
}

func (h *connHandlers) use(f func(*Socket) error) {
	h.mu.Lock()
	h.mws = append(h.mws, f)
	h.mu.Unlock()
}

func (h *connHandlers) onConnection(f func(*Socket)) {
	h.mu.Lock()
	h.onConn = append(h.onConn, f)
	h.mu.Unlock()
}

// middlewares returns the middleware registered so far; the caller must
// not modify the slice.
func (h *connHandlers) middlewares() []func(*Socket) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.mws
}

// connectionHandlers returns the connection handlers registered so far;
// the caller must not modify the slice.
func (h *connHandlers) connectionHandlers() []func(*Socket) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.onConn
}

// runMiddlewares runs mws on s in order, up to the first refusal.
func runMiddlewares(mws []func(*Socket) error, s *Socket) error {
	for _, f := range mws {
		if err := f(s); err != nil {
			return err
		}
	}
	return nil
}

// fireConnection runs the connection handlers fs on s in order.
func fireConnection(fs []func(*Socket), s *Socket) {
	for _, f := range fs {
		f(s)
	}
}
