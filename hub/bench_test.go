package hub

import (
	"strconv"
	"testing"
)

// fanoutSink is the per-group work of the fan-out benchmarks: one write per
// recipient into that group's counter, standing in for "queue the frame".
type fanoutSink struct {
	counts [4]int
}

func (s *fanoutSink) fn(g int, ms []*tm) {
	for _, m := range ms {
		s.counts[g] += m.id
	}
}

func benchFanout(b *testing.B, sel func(ms []*tm) *Selector[*tm], sizes []int) {
	for _, n := range sizes {
		b.Run("members="+strconv.Itoa(n), func(b *testing.B) {
			h := New(4, (*tm).Group)
			ms := newMembers(n, 4)
			for _, m := range ms {
				h.Join(m, "r")
			}
			s := sel(ms)
			var sink fanoutSink
			fn := sink.fn
			h.ForEachGroup(s, fn) // build the snapshot outside the timer
			b.ReportAllocs()
			for b.Loop() {
				h.ForEachGroup(s, fn)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
		})
	}
}

// BenchmarkFanout is a broadcast to one room over four groups
// (io.to(room).emit).
func BenchmarkFanout(b *testing.B) {
	benchFanout(b, func([]*tm) *Selector[*tm] {
		return &Selector[*tm]{Rooms: []string{"r"}}
	}, []int{1, 100, 10000})
}

// BenchmarkFanoutExceptSender is socket.broadcast.to(room).emit: the sender
// is excluded, which copies its group's share into scratch.
func BenchmarkFanoutExceptSender(b *testing.B) {
	benchFanout(b, func(ms []*tm) *Selector[*tm] {
		return &Selector[*tm]{Rooms: []string{"r"}, ExceptMember: ms[len(ms)/2], HasExceptMember: true}
	}, []int{100, 10000})
}

// BenchmarkJoin10k joins 10,000 members to one room one by one, then reads
// it once (the first read builds the snapshot).
func BenchmarkJoin10k(b *testing.B) {
	const n = 10000
	ms := newMembers(n, 4)
	sel := &Selector[*tm]{Rooms: []string{"r"}}
	b.ReportAllocs()
	for b.Loop() {
		h := New(4, (*tm).Group)
		for _, m := range ms {
			h.Join(m, "r")
		}
		if h.Count(sel) != n {
			b.Fatal("wrong count")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/join")
}

// BenchmarkJoin10kInterleaved reads the room after every join, as when
// subscribers arrive while broadcasts flow: each join extends the snapshot
// instead of forcing a rebuild.
func BenchmarkJoin10kInterleaved(b *testing.B) {
	const n = 10000
	ms := newMembers(n, 4)
	sel := &Selector[*tm]{Rooms: []string{"r"}}
	b.ReportAllocs()
	for b.Loop() {
		h := New(4, (*tm).Group)
		for i, m := range ms {
			h.Join(m, "r")
			if h.Count(sel) != i+1 {
				b.Fatal("wrong count")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/join")
}

// BenchmarkLeave10k disconnects 10,000 members of one shared room (plus the
// "all" set), then reads the room once.
func BenchmarkLeave10k(b *testing.B) {
	const n = 10000
	ms := newMembers(n, 4)
	sel := &Selector[*tm]{Rooms: []string{"r"}}
	extra := &tm{id: -1}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		h := New(4, (*tm).Group)
		h.Join(extra, "r")
		for _, m := range ms {
			h.Join(m, "r")
		}
		h.Count(sel)
		b.StartTimer()
		for _, m := range ms {
			h.LeaveAll(m)
		}
		if h.Count(sel) != 1 {
			b.Fatal("wrong count")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/leave")
}

// BenchmarkUnion broadcasts to three overlapping rooms of 1,000 members
// each (1,500 distinct recipients).
func BenchmarkUnion(b *testing.B) {
	h := New(4, (*tm).Group)
	ms := newMembers(1500, 4)
	for i, m := range ms {
		switch {
		case i < 500:
			h.Join(m, "a", "b")
		case i < 1000:
			h.Join(m, "b", "c")
		default:
			h.Join(m, "c", "a")
		}
	}
	sel := &Selector[*tm]{Rooms: []string{"a", "b", "c"}}
	if h.Count(sel) != 1500 {
		b.Fatal("wrong count")
	}
	var sink fanoutSink
	fn := sink.fn
	b.ReportAllocs()
	for b.Loop() {
		h.ForEachGroup(sel, fn)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1500, "ns/recipient")
}

// BenchmarkExceptRoom broadcasts to everyone (10,000) except a room of 1,000.
func BenchmarkExceptRoom(b *testing.B) {
	h := New(4, (*tm).Group)
	ms := newMembers(10000, 4)
	for i, m := range ms {
		if i%10 == 0 {
			h.Join(m, "muted")
		} else {
			h.Join(m)
		}
	}
	sel := &Selector[*tm]{Except: []string{"muted"}}
	if h.Count(sel) != 9000 {
		b.Fatal("wrong count")
	}
	var sink fanoutSink
	fn := sink.fn
	b.ReportAllocs()
	for b.Loop() {
		h.ForEachGroup(sel, fn)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/9000, "ns/recipient")
}

// BenchmarkJoinLeaveParallel is connect/disconnect churn from all Ps, each
// member joining its own room and a shared one.
func BenchmarkJoinLeaveParallel(b *testing.B) {
	h := New(4, (*tm).Group)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		m := &tm{id: 1}
		own := "own-" + strconv.Itoa(int(uintptr(0)))
		for pb.Next() {
			h.Join(m, own, "lobby")
			h.LeaveAll(m)
		}
	})
}
