//go:build !linux

package loop

import "github.com/panjf2000/gnet/v2"

// stopReading cannot take a connection out of gnet's poller on this
// system (see readpause_linux.go): gnet goes on reading, a paused
// connection only stops being processed, and the cap
// (Config.MaxPausedInputBytes) closes it once its buffered input passes
// the bound.
func (l *Loop) stopReading(gnet.Conn) bool { return false }

// startReading undoes stopReading; nothing to undo here.
func (l *Loop) startReading(gnet.Conn) {}
