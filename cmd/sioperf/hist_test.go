package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
)

func TestHistBucketsCoverValues(t *testing.T) {
	// Every bucket's range maps back to that bucket and the ranges tile the
	// value space without gaps.
	for i := 0; i < histBuckets; i++ {
		lo, hi := histLower(i), histUpper(i)
		if histIndex(lo) != i || histIndex(hi) != i {
			t.Fatalf("bucket %d: [%d,%d] maps to %d,%d", i, lo, hi, histIndex(lo), histIndex(hi))
		}
		if i > 0 && histUpper(i-1)+1 != lo {
			t.Fatalf("gap before bucket %d: previous upper %d, lower %d", i, histUpper(i-1), lo)
		}
		if i >= histLinear {
			if width := hi - lo + 1; float64(width)/float64(lo) > 1.0/histSub+1e-12 {
				t.Fatalf("bucket %d too wide: %d at %d", i, width, lo)
			}
		}
	}
	if got := histIndex(math.MaxUint64); got != histBuckets-1 {
		t.Fatalf("huge value maps to %d, want last bucket %d", got, histBuckets-1)
	}
}

func TestHistExactSmallValues(t *testing.T) {
	h := newHist()
	for v := int64(1); v <= 100; v++ {
		h.Record(v)
	}
	tests := []struct {
		name string
		q    float64
		want uint64
	}{
		{name: "p50", q: 0.5, want: 50},
		{name: "p90", q: 0.9, want: 90},
		{name: "p99", q: 0.99, want: 99},
		{name: "p100", q: 1, want: 100},
		{name: "tiny", q: 0.0001, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.Percentile(tc.q); got != tc.want {
				t.Fatalf("Percentile(%v) = %d, want %d", tc.q, got, tc.want)
			}
		})
	}
	s := h.Summary()
	if s.Count != 100 || s.MeanUs != 50.5 || s.MaxUs != 100 {
		t.Fatalf("summary %+v", s)
	}
}

func TestHistEmptyAndNegative(t *testing.T) {
	h := newHist()
	if h.Percentile(0.99) != 0 || h.Summary().Count != 0 {
		t.Fatal("empty histogram should report zeros")
	}
	if s := h.Snapshot(); s.Min != 0 || s.Total != 0 {
		t.Fatalf("empty snapshot %+v", s)
	}
	h.Record(-5)
	if h.Percentile(1) != 0 || h.Count() != 1 {
		t.Fatal("negative values count as zero")
	}
}

func TestHistPercentileErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := newHist()
	vals := make([]uint64, 100000)
	for i := range vals {
		// Log-uniform over 1 µs .. 100 s, like real latencies.
		v := uint64(math.Exp(rng.Float64() * math.Log(1e8)))
		vals[i] = v
		h.Record(int64(v))
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Percentile(q)
		if got < exact || float64(got-exact) > float64(exact)/histSub+1 {
			t.Errorf("q=%v: got %d, exact %d (bound 1/%d)", q, got, exact, histSub)
		}
	}
	if h.Max() != vals[len(vals)-1] {
		t.Errorf("max %d, want %d", h.Max(), vals[len(vals)-1])
	}
}

func TestHistMergeEqualsCombined(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b, all := newHist(), newHist(), newHist()
	for i := 0; i < 5000; i++ {
		v := int64(rng.IntN(1 << 30))
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		all.Record(v)
	}
	// Through JSON, as between processes.
	var merged = newHist()
	for _, h := range []*Hist{a, b} {
		js, err := json.Marshal(h.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		var s HistSnapshot
		if err := json.Unmarshal(js, &s); err != nil {
			t.Fatal(err)
		}
		merged.Merge(s)
	}
	if merged.Summary() != all.Summary() {
		t.Fatalf("merged %+v != combined %+v", merged.Summary(), all.Summary())
	}
	ms, as := merged.Snapshot(), all.Snapshot()
	if len(ms.Buckets) != len(as.Buckets) || ms.Min != as.Min {
		t.Fatalf("snapshots differ")
	}
	// A corrupted bucket index is ignored, not a panic.
	merged.Merge(HistSnapshot{Buckets: [][2]uint64{{histBuckets + 5, 1}}, Total: 1, Max: 1})
}

func TestHistConcurrentRecord(t *testing.T) {
	h := newHist()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				h.Record(int64(g*10000 + i))
			}
		}()
	}
	wg.Wait()
	if h.Count() != 80000 || h.Max() != 79999 || h.Snapshot().Min != 0 {
		t.Fatalf("count %d max %d", h.Count(), h.Max())
	}
}

func BenchmarkHistRecord(b *testing.B) {
	h := newHist()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(int64(i & 0xfffff))
	}
}
