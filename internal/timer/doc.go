// Package timer schedules many short callbacks (heartbeats, upgrade and
// connect timeouts, ack deadlines) without a runtime timer per connection.
//
// A Wheel is a min-heap of deadlines guarded by one mutex, backed by a single
// time.Timer armed for the earliest deadline. A server keeps a few wheels (one
// per event loop) and spreads sessions over them, so a million sessions cost a
// million heap entries and a handful of runtime timers. Callbacks run on the
// goroutine of the wheel's runtime timer, one after another: they must be
// short and must not block (post work to an event loop or take a session lock
// briefly).
package timer
