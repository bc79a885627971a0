package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOverloadAgainstSioloop runs the overload scenario at a small size
// against sioloop's scenario server in this process: a short ladder finds
// the sustainable rate, then 2 s phases. It checks the mechanics (rows for
// every second of every phase, totals that add up), not the server's speed.
func TestOverloadAgainstSioloop(t *testing.T) {
	addr := startBenchServer(t, nil)
	dir := t.TempDir()
	res := runTool(t, "overload", "-addr", addr, "-subs", "200", "-start", "2000", "-max-steps", "2", "-bisect", "0",
		"-warmup", "500ms", "-step", "500ms", "-duration", "2s", "-recovery", "2s", "-drain", "2s", "-settle-max", "2s",
		"-p99", "30s", "-procs", "2", "-server-pid", strconv.Itoa(os.Getpid()), "-label", "sioloop", "-report", dir)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	o := res.Overload
	if o == nil || o.Overload == nil || o.Recovery == nil {
		t.Fatalf("overload result %+v", o)
	}
	if o.SustainableFrom != "ladder" || res.MaxSustainable == nil || o.SustainablePerS != res.MaxSustainable.TargetPerS {
		t.Fatalf("sustainable %v from %q, ladder %+v", o.SustainablePerS, o.SustainableFrom, res.MaxSustainable)
	}
	phases := map[string]int{}
	var delivered uint64
	var published int64
	var offered float64
	for i, s := range o.Seconds {
		if s.Second != i {
			t.Fatalf("row %d is second %d", i, s.Second)
		}
		phases[s.Phase]++
		delivered += s.Delivered
		published += s.Published
		offered += s.Offered
		if s.Delivered > 0 && (s.Latency.Count != s.Delivered || s.Latency.P99Us == 0 || s.Latency.MaxUs < s.Latency.P99Us) {
			t.Errorf("second %d: %d delivered, latency %+v", i, s.Delivered, s.Latency)
		}
		if s.ServerRSS <= 0 {
			t.Errorf("second %d: no server RSS", i)
		}
	}
	// The timeline starts half a second before the 0.5 s warm-up, so the
	// 2 s phases cover two whole rows each, and each of those rows offers
	// one second of its phase's rate.
	for name, want := range map[string]int{phaseWarmup: 1, phaseOverload: 2, phaseRecovery: 2} {
		if got := phases[name]; got != want {
			t.Errorf("%s: %d seconds, want %d (rows by phase %v)", name, got, want, phases)
		}
	}
	for _, s := range o.Seconds {
		var want float64
		switch s.Phase {
		case phaseOverload:
			want = o.Overload.PublishPerS
		case phaseRecovery:
			want = o.Recovery.PublishPerS
		default:
			continue
		}
		// 15%, or two messages at these low rates: a row's boundary is
		// sampled on a loaded machine up to a hundred ms or so off the
		// phase's (28.4 and 8.8 for 30 and 7.5 were seen with the full
		// test suite and a CPU hog running). The rows' sum is checked
		// exactly below.
		// Under -race with other packages' tests running, a boundary was
		// seen half a second off (11.5 for 7.5); a third of the gap
		// between the phases' rates still tells a row of one phase from a
		// row of the other.
		gap := o.Overload.PublishPerS - o.Recovery.PublishPerS
		if slack := max(want*0.15, 2, gap/3); s.Offered < want-slack || s.Offered > want+slack {
			t.Errorf("second %d (%s) offered %.1f messages, want %.1f: not aligned with the phase", s.Second, s.Phase, s.Offered, want)
		}
	}
	if delivered != o.Delivered || offered < o.Offered-0.5 || offered > o.Offered+0.5 {
		t.Errorf("rows sum to %d delivered, %.1f offered; totals %d, %.1f", delivered, offered, o.Delivered, o.Offered)
	}
	// The last sample is taken before the drain ends, so every write is in
	// some row.
	if published != o.Published || o.Published == 0 {
		t.Errorf("rows sum to %d published, total %d", published, o.Published)
	}
	if o.Expected != uint64(o.Published)*200 || o.Lost != int64(o.Expected)-int64(o.Delivered) || o.Lost < 0 {
		t.Errorf("expected %d lost %d for %d published, %d delivered", o.Expected, o.Lost, o.Published, o.Delivered)
	}
	// Offered: 0.5 s at the sustainable rate, 2 s at twice it, 2 s at
	// half, in messages (rate/subs).
	wantOffered := o.SustainablePerS / 200 * (0.5 + 2*2 + 0.5*2)
	if o.Offered < wantOffered*0.99 || o.Offered > wantOffered*1.01 {
		t.Errorf("offered %.1f messages, want %.1f", o.Offered, wantOffered)
	}
	if o.Overload.TargetPerS != 2*o.SustainablePerS || o.Recovery.TargetPerS != o.SustainablePerS/2 {
		t.Errorf("targets: overload %v recovery %v for sustainable %v", o.Overload.TargetPerS, o.Recovery.TargetPerS, o.SustainablePerS)
	}
	if o.Overload.Delivered == 0 || o.Overload.OfSustainable <= 0 || o.Overload.Latency.P99Us == 0 || o.MaxRSS <= 0 {
		t.Errorf("overload phase %+v", o.Overload)
	}
	if o.RecoveryS < 1 || o.RecoveryS > 2 {
		t.Errorf("recovery took %d s under a 30 s bound", o.RecoveryS)
	}
	if res.Headline.Value != o.Overload.DeliveredPerS {
		t.Errorf("headline %+v", res.Headline)
	}

	md, err := os.ReadFile(filepath.Join(dir, "sioloop-overload.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| second | phase |", "| overload |", "Under overload"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}

	// The timeline chart is well-formed XML with a point per second that
	// delivered.
	svg, err := os.ReadFile(filepath.Join(dir, "sioloop-overload-timeline.svg"))
	if err != nil {
		t.Fatal(err)
	}
	points, withDeliveries := 0, 0
	for d := xml.NewDecoder(bytes.NewReader(svg)); ; {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("timeline svg is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "circle" {
			points++
		}
	}
	for _, s := range o.Seconds {
		if s.Delivered > 0 {
			withDeliveries++
		}
	}
	if points != withDeliveries || points == 0 {
		t.Errorf("timeline has %d points for %d seconds with deliveries", points, withDeliveries)
	}

	// summarize reads the JSON line back and adds the overload table.
	line, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "overload.json"), append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := realMain([]string{"summarize", dir}, &out, &errb); code != 0 {
		t.Fatalf("summarize: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"| overload200 | sioloop | 1 |", "| overload case |", "deliveries/s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// TestOverloadShowsAStall runs overload against a test server that stops
// for 2.5 s at the first broadcast of the overload phase: the rows must show
// at least one whole second with no delivery, counted as silent, and every
// message must still arrive after the stall.
func TestOverloadShowsAStall(t *testing.T) {
	srv := newTestServer(t, false)
	srv.stallStep = 2 // warm-up is step 1, the overload phase step 2
	srv.stallFor = 2500 * time.Millisecond
	addr := srv.start()
	res := runTool(t, "overload", "-addr", addr, "-subs", "100", "-rate", "4000", "-warmup", "1s", "-duration", "3s",
		"-recovery", "2s", "-drain", "5s", "-settle-max", "2s", "-p99", "30s")
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	o := res.Overload
	if o == nil || o.Overload == nil || o.SustainableFrom != "rate" || len(res.Steps) != 0 {
		t.Fatalf("overload result %+v, %d ladder steps", o, len(res.Steps))
	}
	if !srv.stalled.Load() {
		t.Fatal("the server never saw the overload phase's step")
	}
	var silent int
	for _, s := range o.Seconds {
		if s.Phase == phaseOverload && s.Delivered == 0 {
			silent++
		}
	}
	if silent == 0 || o.Overload.SilentSeconds != silent {
		t.Errorf("%d silent overload rows, phase says %d: %+v", silent, o.Overload.SilentSeconds, o.Seconds)
	}
	if o.Lost != 0 || o.Delivered != uint64(o.Published)*100 {
		t.Errorf("lost %d: %d of %d delivered", o.Lost, o.Delivered, o.Expected)
	}
	if o.Overload.Latency.MaxUs < 1_000_000 {
		t.Errorf("a 2.5 s stall left the max latency at %s", fmtLat(o.Overload.Latency.MaxUs))
	}
}

func TestRecoverySeconds(t *testing.T) {
	const bound = 1000
	row := func(sec int, phase string, delivered, p99 uint64) OverloadSecond {
		return OverloadSecond{Second: sec, Phase: phase, Delivered: delivered, Latency: Latency{P99Us: p99}}
	}
	tests := []struct {
		name   string
		rows   []OverloadSecond
		startS float64
		want   int
	}{
		{name: "under from the first second", startS: 2.01, want: 1, rows: []OverloadSecond{
			row(1, phaseOverload, 10, 5000), row(2, phaseRecovery, 10, 10), row(3, phaseRecovery, 10, 10)}},
		{name: "under from the second second", startS: 2.01, want: 2, rows: []OverloadSecond{
			row(2, phaseRecovery, 10, 5000), row(3, phaseRecovery, 10, 10), row(4, phaseDrain, 10, 5000)}},
		{name: "back over later", startS: 2.01, want: 3, rows: []OverloadSecond{
			row(2, phaseRecovery, 10, 10), row(3, phaseRecovery, 10, 5000), row(4, phaseRecovery, 10, 10)}},
		{name: "a second without deliveries has not recovered", startS: 2.01, want: -1, rows: []OverloadSecond{
			row(2, phaseRecovery, 10, 10), row(3, phaseRecovery, 0, 0)}},
		{name: "never", startS: 2.01, want: -1, rows: []OverloadSecond{
			row(2, phaseRecovery, 10, 5000), row(3, phaseRecovery, 10, bound)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recoverySeconds(tt.rows, tt.startS, bound); got != tt.want {
				t.Errorf("recoverySeconds = %d, want %d", got, tt.want)
			}
		})
	}
}
