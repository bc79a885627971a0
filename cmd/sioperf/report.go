package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// fmtRate prints a rate compactly: 950, 12.3k, 4.38M.
func fmtRate(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// fmtLat prints microseconds as a short duration.
func fmtLat(us uint64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", float64(us)/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.1fms", float64(us)/1e3)
	default:
		return fmt.Sprintf("%dµs", us)
	}
}

func fmtBytes(b float64) string {
	switch a := math.Abs(b); {
	case a >= 1<<20:
		return fmt.Sprintf("%.1f MB", b/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.2f KB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}

// stepTable writes the ladder as a Markdown table.
func stepTable(w io.Writer, steps []StepResult) {
	fmt.Fprintln(w, "| step | phase | target/s | delivered/s | published | lost | p50 | p99 | p99.9 | max | server CPU | server µs/delivery | tool CPU | pass |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range steps {
		pass := "yes"
		if !s.Pass {
			pass = "no: " + s.Reason
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %d/%d | %d | %s | %s | %s | %s | %.0f%% | %.2f | %.0f%% | %s |\n",
			s.Step, s.Phase, fmtRate(s.TargetPerS), fmtRate(s.DeliveredPerS), s.Published, s.Planned, s.Lost,
			fmtLat(s.Latency.P50Us), fmtLat(s.Latency.P99Us), fmtLat(s.Latency.P999Us), fmtLat(s.Latency.MaxUs),
			s.ServerCPUPct, s.ServerUsPerOp, s.ToolCPUPct, pass)
	}
}

// writeMarkdown writes a human report of one run.
func writeMarkdown(w io.Writer, r *Result) {
	title := r.Scenario
	if r.Label != "" {
		title += " — " + r.Label
	}
	fmt.Fprintf(w, "## %s\n\n", title)
	fmt.Fprintf(w, "Server `%s` (%s), started %s, %.1f s.\n\n", r.Addr, r.Proto, r.Started.Format("2006-01-02 15:04:05"), r.ElapsedS)
	if r.Open != nil {
		o := r.Open
		fmt.Fprintf(w, "Connections: %d of %d opened in %.2f s (handshake p50 %s, p99 %s)", o.Opened, o.Wanted, o.Seconds, fmtLat(o.Handshake.P50Us), fmtLat(o.Handshake.P99Us))
		if o.Failed > 0 {
			fmt.Fprintf(w, ", %d failed: %s", o.Failed, strings.Join(o.Errors, "; "))
		}
		fmt.Fprint(w, ".\n\n")
	}
	if len(r.Steps) > 0 {
		stepTable(w, r.Steps)
		fmt.Fprintln(w)
		if m := r.MaxSustainable; m != nil {
			fmt.Fprintf(w, "**Max sustainable: %s deliveries/s** (step %d: p50 %s, p99 %s, max %s; server CPU %.0f%%, %.2f µs/delivery; tool CPU %.0f%%).\n",
				fmtRate(m.DeliveredPerS), m.Step, fmtLat(m.Latency.P50Us), fmtLat(m.Latency.P99Us), fmtLat(m.Latency.MaxUs), m.ServerCPUPct, m.ServerUsPerOp, m.ToolCPUPct)
		} else {
			fmt.Fprintln(w, "**No step passed.**")
		}
		fmt.Fprintf(w, "Peak throughput (best loss-free step, latency ignored): %s deliveries/s.\n\n", fmtRate(r.PeakThroughputPerS))
	}
	if e := r.Echo; e != nil {
		fmt.Fprintln(w, "| clients | round trips/s | p50 | p90 | p99 | max | server CPU | server µs/round trip | tool CPU | mismatched | disconnects |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %.0f%% | %.1f | %.0f%% | %d | %d |\n\n", e.Clients, fmtRate(e.RoundTripsPerS),
			fmtLat(e.Latency.P50Us), fmtLat(e.Latency.P90Us), fmtLat(e.Latency.P99Us), fmtLat(e.Latency.MaxUs),
			e.ServerCPUPct, e.ServerUsPerOp, e.ToolCPUPct, e.Mismatched, e.Disconnects)
	}
	if i := r.Idle; i != nil {
		fmt.Fprintln(w, "| connections | server RSS before | after | per connection | server CPU settled | disconnects |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		fmt.Fprintf(w, "| %d | %s | %s | %s | %.1f%% | %d |\n\n", i.Conns, fmtBytes(float64(i.RSSBefore)), fmtBytes(float64(i.RSSAfter)), fmtBytes(i.BytesPerConn), i.ServerCPUPct, i.Disconnects)
	}
	if o := r.Overload; o != nil {
		overloadMarkdown(w, o)
	}
	if c := r.Connect; c != nil {
		fmt.Fprintln(w, "| connections | conns/s | p50 | p90 | p99 | max | server µs/conn | tool CPU |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %.0f | %.0f%% |\n\n", c.Conns, fmtRate(c.PerS), fmtLat(c.Latency.P50Us), fmtLat(c.Latency.P90Us),
			fmtLat(c.Latency.P99Us), fmtLat(c.Latency.MaxUs), c.ServerUsPerOp, c.ToolCPUPct)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "Note: %s.\n\n", r.Note)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "**Error:** %s\n\n", r.Error)
	}
}

// writeText prints the human report on stdout when -json is not given.
func writeText(w io.Writer, r *Result) {
	writeMarkdown(w, r)
	if r.Headline.Name != "" && r.Error == "" {
		fmt.Fprintf(w, "%s: %s %s\n", r.Headline.Name, fmtRate(r.Headline.Value), r.Headline.Unit)
	}
}

// reportBase names a run's report files.
func reportBase(r *Result) string {
	name := r.Scenario
	if r.Label != "" {
		name = r.Label + "-" + name
	}
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			return c
		}
		return '_'
	}, name)
}

// writeReport writes <base>.md and, for runs with steps, <base>.svg, and
// for overload runs <base>-timeline.svg.
func writeReport(dir string, r *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, reportBase(r))
	var md bytes.Buffer
	writeMarkdown(&md, r)
	if len(r.Steps) > 0 {
		fmt.Fprintf(&md, "![p99 latency against rate](%s.svg)\n", reportBase(r))
		if err := os.WriteFile(base+".svg", latencySVG(r), 0o644); err != nil {
			return err
		}
	}
	if r.Overload != nil && len(r.Overload.Seconds) > 0 {
		fmt.Fprintf(&md, "![deliveries and p99 latency per second](%s-timeline.svg)\n", reportBase(r))
		if err := os.WriteFile(base+"-timeline.svg", overloadSVG(r), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(base+".md", md.Bytes(), 0o644)
}

// latencySVG draws p99 latency (log scale) against delivered rate (log
// scale) for every step, passing steps in green and failing ones in red,
// with the p99 bound as a dashed line.
func latencySVG(r *Result) []byte {
	const (
		W, H                 = 720, 420
		left, right, top, bt = 70, 20, 40, 50
	)
	type pt struct {
		x, y float64
		pass bool
		step int
	}
	var pts []pt
	for _, s := range r.Steps {
		x := s.DeliveredPerS
		if x <= 0 {
			x = s.TargetPerS
		}
		y := float64(s.Latency.P99Us)
		if y < 1 {
			y = 1
		}
		if x > 0 {
			pts = append(pts, pt{x, y, s.Pass, s.Step})
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].x < pts[j].x })
	bound := 0.0
	if r.Config != nil {
		bound = float64(r.Config.P99.Microseconds())
	}
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		xmin, xmax = math.Min(xmin, p.x), math.Max(xmax, p.x)
		ymin, ymax = math.Min(ymin, p.y), math.Max(ymax, p.y)
	}
	if bound > 0 {
		ymin, ymax = math.Min(ymin, bound), math.Max(ymax, bound)
	}
	if len(pts) == 0 {
		xmin, xmax, ymin, ymax = 1, 10, 1, 10
	}
	// Whole decades around the data.
	lx0, lx1 := math.Floor(math.Log10(xmin)), math.Ceil(math.Log10(xmax))
	ly0, ly1 := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
	if lx1 == lx0 {
		lx1++
	}
	if ly1 == ly0 {
		ly1++
	}
	px := func(x float64) float64 { return left + (math.Log10(x)-lx0)/(lx1-lx0)*(W-left-right) }
	py := func(y float64) float64 { return H - bt - (math.Log10(y)-ly0)/(ly1-ly0)*(H-top-bt) }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	title := r.Scenario
	if r.Label != "" {
		title = r.Label + " — " + title
	}
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">%s: p99 latency against delivered rate</text>`+"\n", left, html.EscapeString(title))
	for d := lx0; d <= lx1; d++ {
		x := px(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, top, x, H-bt)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, H-bt+16, fmtRate(math.Pow(10, d)))
	}
	for d := ly0; d <= ly1; d++ {
		y := py(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, W-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, fmtLat(uint64(math.Pow(10, d))))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">delivered messages/s</text>`+"\n", (W+left)/2, H-12)
	fmt.Fprintf(&b, `<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">p99 latency</text>`+"\n", (H)/2, H/2)
	if bound > 0 {
		y := py(bound)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999" stroke-dasharray="6 4"/>`+"\n", left, y, W-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#666">p99 bound %s</text>`+"\n", W-right-4, y-4, fmtLat(uint64(bound)))
	}
	if len(pts) > 1 {
		b.WriteString(`<polyline fill="none" stroke="#36c" stroke-width="1.5" points="`)
		for _, p := range pts {
			fmt.Fprintf(&b, "%.1f,%.1f ", px(p.x), py(p.y))
		}
		b.WriteString("\"/>\n")
	}
	for _, p := range pts {
		color := "#2a2"
		if !p.pass {
			color = "#d33"
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>step %d: %s/s, p99 %s</title></circle>`+"\n",
			px(p.x), py(p.y), color, p.step, fmtRate(p.x), fmtLat(uint64(p.y)))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// caseName names a measurement for summaries: the scenario plus its size,
// e.g. fanout1k, fanout10k, echo1k, idle10k, connect10k.
func caseName(r *Result) string {
	if r.Config != nil && r.Config.Case != "" {
		return r.Config.Case
	}
	n := 0
	if c := r.Config; c != nil {
		switch r.Scenario {
		case "fanout", "chat", "overload":
			n = c.Subs
		case "echo":
			n = c.Clients
		case "idle", "connect":
			n = c.Conns
		}
	}
	switch {
	case n == 0:
		return r.Scenario
	case n%1000 == 0:
		return fmt.Sprintf("%s%dk", r.Scenario, n/1000)
	default:
		return fmt.Sprintf("%s%d", r.Scenario, n)
	}
}

// readResults loads every JSON result line from the given files and
// directories (*.json inside directories).
func readResults(paths []string) ([]*Result, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			m, _ := filepath.Glob(filepath.Join(p, "*.json"))
			files = append(files, m...)
		} else {
			files = append(files, p)
		}
	}
	sort.Strings(files)
	var out []*Result
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] != '{' {
				continue
			}
			var r Result
			if err := json.Unmarshal(line, &r); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			out = append(out, &r)
		}
	}
	return out, nil
}

// summarize writes, for every case, one row per server: the median and
// min–max of the headline over repeats, and medians of the secondary figures.
func summarize(w io.Writer, results []*Result) {
	type key struct{ cs, label string }
	groups := map[key][]*Result{}
	var cases, labels []string
	seenC, seenL := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		k := key{caseName(r), r.Label}
		groups[k] = append(groups[k], r)
		if !seenC[k.cs] {
			seenC[k.cs] = true
			cases = append(cases, k.cs)
		}
		if !seenL[k.label] {
			seenL[k.label] = true
			labels = append(labels, k.label)
		}
	}
	sort.Strings(cases)
	fmt.Fprintln(w, "| case | server | runs | headline: median (min–max) | p50 | p99 | server µs/op | server CPU | tool CPU | errors |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, cs := range cases {
		for _, l := range labels {
			rs := groups[key{cs, l}]
			if len(rs) == 0 {
				continue
			}
			var head, p50, p99, usop, scpu, tcpu []float64
			var errs []string
			unit := ""
			capped := false
			for _, r := range rs {
				if r.Note != "" && r.Overload == nil {
					capped = true // an overload run's headline is not its ladder's
				}
				if r.Error != "" {
					errs = append(errs, r.Error)
				}
				unit = r.Headline.Unit
				head = append(head, r.Headline.Value)
				switch {
				// Before max_sustainable: an overload run may hold its ladder's.
				case r.Overload != nil && r.Overload.Overload != nil:
					o := r.Overload.Overload
					p50 = append(p50, float64(o.Latency.P50Us))
					p99 = append(p99, float64(o.Latency.P99Us))
					usop = append(usop, o.ServerUsPerOp)
					scpu = append(scpu, o.ServerCPUPct)
					tcpu = append(tcpu, o.ToolCPUPct)
				case r.MaxSustainable != nil:
					m := r.MaxSustainable
					p50 = append(p50, float64(m.Latency.P50Us))
					p99 = append(p99, float64(m.Latency.P99Us))
					usop = append(usop, m.ServerUsPerOp)
					scpu = append(scpu, m.ServerCPUPct)
					tcpu = append(tcpu, m.ToolCPUPct)
				case r.Echo != nil:
					p50 = append(p50, float64(r.Echo.Latency.P50Us))
					p99 = append(p99, float64(r.Echo.Latency.P99Us))
					usop = append(usop, r.Echo.ServerUsPerOp)
					scpu = append(scpu, r.Echo.ServerCPUPct)
					tcpu = append(tcpu, r.Echo.ToolCPUPct)
				case r.Connect != nil:
					p50 = append(p50, float64(r.Connect.Latency.P50Us))
					p99 = append(p99, float64(r.Connect.Latency.P99Us))
					usop = append(usop, r.Connect.ServerUsPerOp)
					scpu = append(scpu, r.Connect.ServerCPUPct)
					tcpu = append(tcpu, r.Connect.ToolCPUPct)
				}
			}
			med, lo, hi := medianOf(head)
			headS := fmt.Sprintf("%s (%s–%s) %s", fmtRate(med), fmtRate(lo), fmtRate(hi), unit)
			if unit == "bytes/conn" {
				headS = fmt.Sprintf("%s (%s–%s) /conn", fmtBytes(med), fmtBytes(lo), fmtBytes(hi))
			}
			if capped {
				headS = "≥ " + headS // some ladder never failed
			}
			cell := func(vs []float64, f func(float64) string) string {
				if len(vs) == 0 {
					return "–"
				}
				m, _, _ := medianOf(vs)
				return f(m)
			}
			lat := func(v float64) string { return fmtLat(uint64(v)) }
			num := func(v float64) string { return fmt.Sprintf("%.2f", v) }
			pc := func(v float64) string { return fmt.Sprintf("%.0f%%", v) }
			errS := "–"
			if len(errs) > 0 {
				errS = fmt.Sprintf("%d: %s", len(errs), strings.ReplaceAll(errs[0], "|", "/"))
				if len(errS) > 120 {
					errS = errS[:120] + "…"
				}
			}
			lab := l
			if lab == "" {
				lab = "(unlabelled)"
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", cs, lab, len(rs), headS,
				cell(p50, lat), cell(p99, lat), cell(usop, num), cell(scpu, pc), cell(tcpu, pc), errS)
		}
	}
	overloadSummary(w, cases, labels, func(cs, label string) []*Result { return groups[key{cs, label}] })
}

func summarizeMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("summarize")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "summarize: give result files or directories")
		return 2
	}
	rs, err := readResults(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "summarize:", err)
		return 1
	}
	if len(rs) == 0 {
		fmt.Fprintln(stderr, "summarize: no results found")
		return 1
	}
	summarize(stdout, rs)
	return 0
}
