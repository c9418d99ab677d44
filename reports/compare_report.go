package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// mwuWhy says in a few words why the comparison uses the Mann–Whitney U
// test; the reports print it under the table.
const mwuWhy = "Significance: two-sided Mann–Whitney U test, p < 0.05 (exact up to 20 runs per side, ties included; " +
	"normal approximation with tie correction above). It compares ranks, so it assumes no normal distribution, " +
	"holds at 5 runs per side, and one outlier migration counts as the largest value and no more."

// compareRow is one metric as the Markdown and HTML tables show it.
type compareRow struct {
	Subject, Metric string
	BaseN, CandN    int
	Base, Cand      string // "min / p50 / p95 / max"
	Delta, P        string
	Change          Change
	Note            string
}

func compareRows(c *Comparison) []compareRow {
	rows := make([]compareRow, len(c.Metrics))
	for i, m := range c.Metrics {
		p := "–"
		if !math.IsNaN(m.P) {
			p = strconv.FormatFloat(m.P, 'f', 3, 64)
			if !m.Exact {
				p += " (approx.)"
			}
		}
		rows[i] = compareRow{
			Subject: m.Subject, Metric: m.Metric, BaseN: len(m.Base.Values), CandN: len(m.Cand.Values),
			Base: distText(m.Metric, m.Base), Cand: distText(m.Metric, m.Cand),
			Delta: deltaText(m), P: p, Change: m.Change, Note: m.Note,
		}
	}
	return rows
}

func distText(metric string, d Dist) string {
	if len(d.Values) == 0 {
		return "–"
	}
	return strings.Join([]string{metricText(metric, d.Min), metricText(metric, d.P50),
		metricText(metric, d.P95), metricText(metric, d.Max)}, " / ")
}

// metricText formats one value of metric: "52.3 ms", or a count.
func metricText(metric string, v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if metric == "lost" {
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	}
	return formatMS(v)
}

// deltaText is the change of the median, with its share of the base's.
func deltaText(m MetricComparison) string {
	if math.IsNaN(m.Delta) {
		return "–"
	}
	s := metricText(m.Metric, m.Delta)
	if m.Delta > 0 {
		s = "+" + s
	}
	if m.Base.P50 != 0 {
		s += fmt.Sprintf(" (%+.0f%%)", 100*m.Delta/m.Base.P50)
	}
	return s
}

// sideText describes one side: its directory and runs.
func sideText(set RunSet) string {
	runs := "1 run"
	if n := len(set.Runs); n != 1 {
		runs = strconv.Itoa(n) + " runs"
	}
	return fmt.Sprintf("%s (%s of %s)", set.Dir, runs, orDash(scenarioNames(set)))
}

func toleranceText(t Tolerance) string {
	if t.Abs > 0 {
		return t.String() + " (lost attempts: that time over the probe's interval)"
	}
	return t.String() + " of the base median"
}

func overall(c *Comparison) string {
	if c.Regressed() {
		return "REGRESSED"
	}
	return "NO REGRESSION"
}

// WriteCompareMarkdown writes c as compare.md: a table ready to paste into
// the change ticket.
func WriteCompareMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	b.WriteString("# downtime compare\n\n")
	fmt.Fprintf(&b, "- Base: `%s`\n- Candidate: `%s`\n- Tolerance: %s\n\n",
		mdCode(sideText(c.Base)), mdCode(sideText(c.Cand)), mdText(toleranceText(c.Tolerance)))
	fmt.Fprintf(&b, "## Verdict: %s\n\n", overall(c))
	for _, s := range c.Subjects {
		change := string(s.Change)
		if s.Change == Regressed || s.Change == Improved {
			change = "**" + change + "**"
		}
		fmt.Fprintf(&b, "- %s: %s\n", mdText(s.Subject), change)
	}
	b.WriteString("\n## Metrics\n\nBase and candidate as min / p50 / p95 / max over their runs.\n\n")
	b.WriteString("| subject | metric | base n | base | candidate n | candidate | Δ median | p | verdict |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|---|\n")
	var notes []string
	for _, r := range compareRows(c) {
		change := string(r.Change)
		if r.Note != "" {
			k := slices.Index(notes, r.Note)
			if k < 0 {
				notes, k = append(notes, r.Note), len(notes)
			}
			change += fmt.Sprintf(" (%d)", k+1)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %d | %s | %s | %s | %s |\n",
			mdText(r.Subject), r.Metric, r.BaseN, r.Base, r.CandN, r.Cand, r.Delta, r.P, change)
	}
	b.WriteString("\n")
	for i, n := range notes {
		fmt.Fprintf(&b, "(%d) %s  \n", i+1, mdText(n))
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("## Method\n\n" + mwuWhy + " A metric regressed when the candidate's median is worse than the base's " +
		"by more than the tolerance and p < 0.05; improved when it is better by more than the tolerance and p < 0.05.\n\n")
	if len(c.Notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "- %s\n", mdText(n))
		}
		b.WriteString("\n")
	}
	b.WriteString("![compare](" + ComparePlotFile + ")\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlCompare is what compare.html shows.
type htmlCompare struct {
	Base, Cand, Tolerance, Overall string
	Regressed                      bool
	Subjects                       []SubjectVerdict
	Rows                           []compareRow
	Method                         string
	Notes                          []string
	Plot                           template.URL
}

// WriteCompareHTML writes c as compare.html: one self-contained page, the
// plot embedded as a data: URI. plotPNG may be empty.
func WriteCompareHTML(w io.Writer, c *Comparison, plotPNG []byte) error {
	h := htmlCompare{
		Base: sideText(c.Base), Cand: sideText(c.Cand), Tolerance: toleranceText(c.Tolerance),
		Overall: overall(c), Regressed: c.Regressed(), Subjects: c.Subjects, Rows: compareRows(c),
		Method: mwuWhy, Notes: c.Notes,
	}
	if len(plotPNG) > 0 {
		h.Plot = pngDataURI(plotPNG)
	}
	return htmlTemplates.ExecuteTemplate(w, "compare", h)
}

// WriteCompareReports writes compare.md, compare.png and compare.html
// into dir, drawing the plot once for both the PNG and the page. Like
// WriteReports, each file appears whole or not at all; it tries every file
// and returns the first error.
func WriteCompareReports(dir string, c *Comparison) error {
	var plotPNG bytes.Buffer
	plotErr := WriteComparePlot(&plotPNG, c)
	if plotErr != nil {
		plotPNG.Reset()
	}
	var first error
	for _, wr := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{CompareFile, func(w io.Writer) error { return WriteCompareMarkdown(w, c) }},
		{ComparePlotFile, func(w io.Writer) error {
			if plotErr != nil {
				return plotErr
			}
			_, err := w.Write(plotPNG.Bytes())
			return err
		}},
		{CompareHTMLFile, func(w io.Writer) error { return WriteCompareHTML(w, c, plotPNG.Bytes()) }},
	} {
		if err := writeAtomic(filepath.Join(dir, wr.name), wr.write); err != nil && first == nil {
			first = fmt.Errorf("%s: %w", wr.name, err)
		}
	}
	return first
}
