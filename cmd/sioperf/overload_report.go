package main

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
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

// overloadSVG draws the timeline of an overload run: delivered/s per second
// as grey bars (linear, scaled to the busiest second), the second's p99 as
// points on a log scale, the phases as bands and the p99 bound as a dashed
// line.
func overloadSVG(r *Result) []byte {
	const (
		W, H                 = 720, 420
		left, right, top, bt = 70, 70, 40, 50
	)
	o := r.Overload
	n := max(len(o.Seconds), 1)
	maxDel := 1.0
	ymin, ymax := math.Inf(1), math.Inf(-1)
	if o.P99BoundUs > 0 {
		ymin, ymax = float64(o.P99BoundUs), float64(o.P99BoundUs)
	}
	for _, s := range o.Seconds {
		maxDel = max(maxDel, float64(s.Delivered))
		if s.Delivered > 0 {
			v := max(float64(s.Latency.P99Us), 1)
			ymin, ymax = min(ymin, v), max(ymax, v)
		}
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 1, 10
	}
	ly0, ly1 := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
	if ly1 == ly0 {
		ly1++
	}
	slot := float64(W-left-right) / float64(n)
	px := func(sec float64) float64 { return left + sec*slot }
	py := func(us float64) float64 { return H - bt - (math.Log10(us)-ly0)/(ly1-ly0)*(H-top-bt) }
	pbar := func(d float64) float64 { return d / maxDel * (H - top - bt) }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	title := r.Scenario
	if r.Label != "" {
		title = r.Label + " — " + title
	}
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">%s: deliveries/s (bars) and p99 latency (points) per second</text>`+"\n", left, html.EscapeString(title))
	bands := map[string]string{phaseWarmup: "#f4f4f4", phaseOverload: "#fde8e8", phaseRecovery: "#e8f4e8", phaseDrain: "#f4f4f4"}
	for i, s := range o.Seconds {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n", px(float64(i)), top, slot, H-top-bt, bands[s.Phase], s.Phase)
		if h := pbar(float64(s.Delivered)); h > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#bbb"/>`+"\n", px(float64(i))+slot*0.15, H-bt-h, slot*0.7, h)
		}
	}
	for d := ly0; d <= ly1; d++ {
		y := py(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, W-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, fmtLat(uint64(math.Pow(10, d))))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">%s/s</text>`+"\n", W-right+4, top+4, fmtRate(maxDel))
	fmt.Fprintf(&b, `<text x="%d" y="%d">0/s</text>`+"\n", W-right+4, H-bt)
	for i := 0; i < n; i += max(1, n/12) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", px(float64(i)+0.5), H-bt+16, i)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">second</text>`+"\n", (W+left-right)/2, H-12)
	if o.P99BoundUs > 0 {
		y := py(float64(o.P99BoundUs))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999" stroke-dasharray="6 4"/>`+"\n", left, y, W-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#666">p99 bound %s</text>`+"\n", W-right-4, y-4, fmtLat(o.P99BoundUs))
	}
	for i, s := range o.Seconds {
		if s.Delivered == 0 {
			continue
		}
		v := max(float64(s.Latency.P99Us), 1)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="#36c"><title>second %d (%s): %s delivered, p99 %s</title></circle>`+"\n",
			px(float64(i)+0.5), py(v), i, s.Phase, fmtRate(float64(s.Delivered)), fmtLat(s.Latency.P99Us))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}
