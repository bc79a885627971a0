package main

import (
	"fmt"
	"io"
	"strings"
)

// overloadMarkdown writes the phase summary and the per-second table of an
// overload run.
func overloadMarkdown(w io.Writer, o *OverloadResult) {
	fmt.Fprintf(w, "Overload: %d subscribers, sustainable %s deliveries/s (%s), overload ×%g, p99 bound %s.\n\n",
		o.Subs, fmtRate(o.SustainablePerS), o.SustainableFrom, o.Factor, fmtLat(o.P99BoundUs))
	fmt.Fprintln(w, "| phase | target/s | seconds | offered msgs | published msgs | delivered/s | of sustainable | p50 | p99 | max | silent seconds | max RSS | disconnects | server CPU | server µs/delivery | tool CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, p := range o.Phases {
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %d | %s | %.0f%% | %s | %s | %s | %d | %s | %d | %.0f%% | %.2f | %.0f%% |\n",
			p.Phase, fmtRate(p.TargetPerS), p.Seconds, p.Offered, p.Published, fmtRate(p.DeliveredPerS), 100*p.OfSustainable,
			fmtLat(p.Latency.P50Us), fmtLat(p.Latency.P99Us), fmtLat(p.Latency.MaxUs), p.SilentSeconds, fmtBytes(float64(p.MaxRSS)),
			p.Disconnects, p.ServerCPUPct, p.ServerUsPerOp, p.ToolCPUPct)
	}
	fmt.Fprintln(w)
	if o.Overload != nil {
		fmt.Fprintf(w, "**Under overload: %s deliveries/s, %.0f%% of sustainable, p99 %s, max RSS %s.** ",
			fmtRate(o.Overload.DeliveredPerS), 100*o.Overload.OfSustainable, fmtLat(o.Overload.Latency.P99Us), fmtBytes(float64(o.Overload.MaxRSS)))
	}
	if o.Recovery != nil {
		fmt.Fprintf(w, "Recovery: p99 %s; %s.\n", fmtLat(o.Recovery.Latency.P99Us), recoveryText(o.RecoveryS, o.P99BoundUs))
	}
	fmt.Fprintf(w, "Published %d messages (offered %.0f), %d of %d deliveries arrived, %d lost or later than the drain; %d disconnects.\n\n",
		o.Published, o.Offered, o.Delivered, o.Expected, o.Lost, o.Disconnects)
	if len(o.PublishErrs) > 0 {
		fmt.Fprintf(w, "Publisher errors: %s.\n\n", strings.Join(o.PublishErrs, "; "))
	}
	fmt.Fprintln(w, "| second | phase | offered msgs | published msgs | delivered/s | p50 | p99 | max | server RSS | disconnects |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range o.Seconds {
		fmt.Fprintf(w, "| %d | %s | %.0f | %d | %s | %s | %s | %s | %s | %d |\n", s.Second, s.Phase, s.Offered, s.Published,
			fmtRate(float64(s.Delivered)), fmtLat(s.Latency.P50Us), fmtLat(s.Latency.P99Us), fmtLat(s.Latency.MaxUs),
			fmtBytes(float64(s.ServerRSS)), s.Disconnects)
	}
	fmt.Fprintln(w)
}

// recoveryText says how long the recovery took.
func recoveryText(s int, boundUs uint64) string {
	if s < 0 {
		return fmt.Sprintf("p99 not back under %s by the end of the recovery phase", fmtLat(boundUs))
	}
	return fmt.Sprintf("p99 back under %s within %d s", fmtLat(boundUs), s)
}

// overloadSummary writes, for every overload case, one row per server with
// medians over repeats of the figures the headline does not show.
func overloadSummary(w io.Writer, cases, labels []string, group func(cs, label string) []*Result) {
	header := false
	for _, cs := range cases {
		for _, l := range labels {
			var frac, p99, silent, recP99, recS, lost, rss, disc []float64
			never := 0
			for _, r := range group(cs, l) {
				o := r.Overload
				if o == nil || o.Overload == nil || o.Recovery == nil {
					continue
				}
				frac = append(frac, 100*o.Overload.OfSustainable)
				p99 = append(p99, float64(o.Overload.Latency.P99Us))
				silent = append(silent, float64(o.Overload.SilentSeconds))
				recP99 = append(recP99, float64(o.Recovery.Latency.P99Us))
				if o.RecoveryS < 0 {
					never++
				} else {
					recS = append(recS, float64(o.RecoveryS))
				}
				if o.Expected > 0 {
					lost = append(lost, 100*float64(o.Lost)/float64(o.Expected))
				}
				rss = append(rss, float64(o.MaxRSS))
				disc = append(disc, float64(o.Disconnects))
			}
			if len(frac) == 0 {
				continue
			}
			if !header {
				header = true
				fmt.Fprintln(w)
				fmt.Fprintln(w, "| overload case | server | runs | delivered, % of sustainable | p99 under overload | silent seconds under overload | recovery p99 | seconds to p99 < bound | lost | max RSS | disconnects |")
				fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
			}
			med := func(vs []float64) float64 { m, _, _ := medianOf(vs); return m }
			recCell := "never"
			if len(recS) > 0 {
				recCell = fmt.Sprintf("%.0f", med(recS))
				if never > 0 {
					recCell += fmt.Sprintf(" (%d never)", never)
				}
			}
			lostCell := "–"
			if len(lost) > 0 {
				lostCell = fmt.Sprintf("%.1f%%", med(lost))
			}
			lab := l
			if lab == "" {
				lab = "(unlabelled)"
			}
			fmt.Fprintf(w, "| %s | %s | %d | %.0f%% | %s | %.0f | %s | %s | %s | %s | %.0f |\n", cs, lab, len(frac), med(frac),
				fmtLat(uint64(med(p99))), med(silent), fmtLat(uint64(med(recP99))), recCell, lostCell, fmtBytes(med(rss)), med(disc))
		}
	}
}
