package main

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// The histogram is log-linear in the manner of HdrHistogram: values below
// 2*histSub are counted exactly, and every power-of-two range above is split
// into histSub equal buckets. With histSubBits = 7 a reported value is at most
// 1/128 (0.8 %) above the true value, which is far below the run-to-run noise
// (±25 %) of the measurements it serves.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits // buckets per power of two
	histLinear  = 2 * histSub      // values below this are exact
	// histMaxBits bounds the trackable value: 2^40 µs is about 12.7 days, so
	// no latency a bounded run can observe is clamped.
	histMaxBits = 40
	histMax     = 1<<histMaxBits - 1
	histBuckets = histLinear + (histMaxBits-histSubBits-1)*histSub
)

// Hist is a concurrent log-linear histogram of non-negative integer values
// (microseconds in this tool). Record is safe from any goroutine and costs a
// few atomic adds, so subscriber readers can share one Hist per ladder step
// without a lock. The zero value is not ready: use newHist.
type Hist struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	sum    atomic.Uint64
	min    atomic.Uint64
	max    atomic.Uint64
}

func newHist() *Hist {
	h := &Hist{}
	h.min.Store(math.MaxUint64)
	return h
}

// histIndex maps a value to its bucket. Values above histMax are clamped.
func histIndex(v uint64) int {
	if v < histLinear {
		return int(v)
	}
	if v > histMax {
		v = histMax
	}
	e := bits.Len64(v) - (histSubBits + 1) // >= 1 here
	m := v >> uint(e)                      // in [histSub, 2*histSub)
	return histLinear + (e-1)*histSub + int(m-histSub)
}

// histUpper is the highest value that maps to bucket i.
func histUpper(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	e := (i-histLinear)/histSub + 1
	m := uint64((i-histLinear)%histSub + histSub)
	return (m+1)<<uint(e) - 1
}

// histLower is the lowest value that maps to bucket i.
func histLower(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	e := (i-histLinear)/histSub + 1
	m := uint64((i-histLinear)%histSub + histSub)
	return m << uint(e)
}

// Record adds one value. Negative values (clock steps between machines are
// impossible here, but a clock adjustment is not) are counted as zero.
func (h *Hist) Record(v int64) {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	h.counts[histIndex(u)].Add(1)
	h.total.Add(1)
	h.sum.Add(u)
	for {
		cur := h.max.Load()
		if u <= cur || h.max.CompareAndSwap(cur, u) {
			break
		}
	}
	for {
		cur := h.min.Load()
		if u >= cur || h.min.CompareAndSwap(cur, u) {
			break
		}
	}
}

// Count is the number of recorded values.
func (h *Hist) Count() uint64 { return h.total.Load() }

// Max is the largest recorded value, or 0 when empty.
func (h *Hist) Max() uint64 { return h.max.Load() }

// Percentile returns the value at quantile q (0 < q <= 1): the highest value
// equivalent to the bucket holding the ceil(q*count)-th smallest value,
// clamped to the recorded maximum. It returns 0 when empty. Readers racing
// with Record see a value that was true at some instant of the walk.
func (h *Hist) Percentile(q float64) uint64 {
	total := h.total.Load()
	if total == 0 {
		return 0
	}
	if q >= 1 {
		return h.max.Load()
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	mx := h.max.Load()
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			v := histUpper(i)
			if v > mx {
				v = mx
			}
			if lo := h.min.Load(); v < lo {
				v = lo
			}
			return v
		}
	}
	return mx
}

// HistSnapshot is the JSON form of a Hist, used to merge the histograms of
// worker processes. Buckets holds [index, count] pairs for non-empty buckets.
type HistSnapshot struct {
	Buckets [][2]uint64 `json:"b,omitempty"`
	Total   uint64      `json:"n"`
	Sum     uint64      `json:"sum"`
	Min     uint64      `json:"min"`
	Max     uint64      `json:"max"`
}

// Snapshot copies the histogram into its sparse JSON form.
func (h *Hist) Snapshot() HistSnapshot {
	s := HistSnapshot{Total: h.total.Load(), Sum: h.sum.Load(), Min: h.min.Load(), Max: h.max.Load()}
	if s.Total == 0 {
		s.Min = 0
	}
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			s.Buckets = append(s.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return s
}

// Merge adds a snapshot (from this or another process) into h. Bucket indexes
// out of range are ignored: they can only come from a corrupted pipe.
func (h *Hist) Merge(s HistSnapshot) {
	if s.Total == 0 {
		return
	}
	var n uint64
	for _, b := range s.Buckets {
		if b[0] >= histBuckets {
			continue
		}
		h.counts[b[0]].Add(b[1])
		n += b[1]
	}
	h.total.Add(n)
	h.sum.Add(s.Sum)
	for {
		cur := h.max.Load()
		if s.Max <= cur || h.max.CompareAndSwap(cur, s.Max) {
			break
		}
	}
	for {
		cur := h.min.Load()
		if s.Min >= cur || h.min.CompareAndSwap(cur, s.Min) {
			break
		}
	}
}

// Latency is the summary printed and written as JSON, in microseconds.
type Latency struct {
	Count  uint64  `json:"count"`
	MeanUs float64 `json:"mean_us"`
	P50Us  uint64  `json:"p50_us"`
	P90Us  uint64  `json:"p90_us"`
	P99Us  uint64  `json:"p99_us"`
	P999Us uint64  `json:"p999_us"`
	MaxUs  uint64  `json:"max_us"`
}

// Summary computes the reported percentiles.
func (h *Hist) Summary() Latency {
	n := h.total.Load()
	l := Latency{Count: n}
	if n == 0 {
		return l
	}
	l.MeanUs = float64(h.sum.Load()) / float64(n)
	l.P50Us = h.Percentile(0.50)
	l.P90Us = h.Percentile(0.90)
	l.P99Us = h.Percentile(0.99)
	l.P999Us = h.Percentile(0.999)
	l.MaxUs = h.max.Load()
	return l
}
