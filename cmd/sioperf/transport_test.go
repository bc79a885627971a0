package main

import (
	"sync"
	"testing"

	"github.com/sioloop/sioloop/sio"
)

// transportServer is sioloop's scenario server in this process, counting
// the transport each socket connected over and each session opened with.
type transportServer struct {
	mu     sync.Mutex
	opened map[string]int // Engine.IO sessions by their first transport
	socket map[string]int // Socket.IO connections by the transport at connect
}

func startTransportServer(t *testing.T) (string, *transportServer) {
	t.Helper()
	ts := &transportServer{opened: map[string]int{}, socket: map[string]int{}}
	addr := startBenchServer(t, func(srv *sio.Server) {
		srv.OnEngineConnection(func(_, transport string) {
			ts.mu.Lock()
			ts.opened[transport]++
			ts.mu.Unlock()
		})
		srv.OnAnyConnection(func(s *sio.Socket) {
			ts.mu.Lock()
			ts.socket[s.Conn().Transport()]++
			ts.mu.Unlock()
		})
	})
	return addr, ts
}

func (ts *transportServer) counts() (opened, socket map[string]int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	cp := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return cp(ts.opened), cp(ts.socket)
}

// TestTransports runs fanout and echo over -transport upgrade and polling
// against sioloop's own server, and checks from the server's side that the
// clients used the transport asked for: upgrade opens over polling and
// connects its socket over the WebSocket; polling never leaves polling.
// The publisher always uses a WebSocket.
func TestTransports(t *testing.T) {
	const subs, clients = 40, 20
	for _, tc := range []struct {
		transport    string
		socketOver   string // the transport of the subscribers' sockets
		wantWSOpened int    // sessions opened directly over WebSocket
	}{
		{transportUpgrade, "websocket", 1},
		{transportPolling, "polling", 1},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			addr, ts := startTransportServer(t)
			res := runTool(t, append([]string{"fanout", "-addr", addr, "-transport", tc.transport, "-subs", "40", "-rates", "400"}, append(lax, quick...)...)...)
			if res.Error != "" {
				t.Fatalf("fanout: %s", res.Error)
			}
			for _, st := range res.Steps {
				if !st.Pass || st.Lost != 0 || st.Delivered == 0 || st.Delivered != st.Expected {
					t.Errorf("fanout step %+v", st)
				}
			}
			opened, socket := ts.counts()
			if opened["polling"] != subs || opened["websocket"] != tc.wantWSOpened {
				t.Errorf("sessions opened by transport %v, want %d polling and %d websocket", opened, subs, tc.wantWSOpened)
			}
			wantSockets := map[string]int{tc.socketOver: subs}
			wantSockets["websocket"] += 1 // the publisher
			for k, v := range wantSockets {
				if socket[k] != v {
					t.Errorf("sockets by transport at connect %v, want %v", socket, wantSockets)
					break
				}
			}

			res = runTool(t, "echo", "-addr", addr, "-transport", tc.transport, "-clients", "20", "-duration", "700ms")
			if res.Error != "" {
				t.Fatalf("echo: %s", res.Error)
			}
			if e := res.Echo; e.Completed < clients || e.Mismatched != 0 || e.Latency.Count != e.Completed {
				t.Fatalf("echo %+v", e)
			}
		})
	}
}
