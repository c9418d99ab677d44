package reports

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// WriteMarkdown writes run as report.md content: the story of the run in
// text, ready to paste into a change review.
func WriteMarkdown(w io.Writer, run *Run) error {
	var b strings.Builder
	m := run.Meta
	started := "start time unknown"
	if !m.Started.IsZero() {
		started = m.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	fmt.Fprintf(&b, "# downtime: %s, %s\n\n", mdText(orDash(m.Scenario)), started)
	if m.File != "" {
		fmt.Fprintf(&b, "Scenario file `%s`.\n\n", mdCode(m.File))
	}

	mdVerdict(&b, run)
	mdProbes(&b, run)
	mdGroups(&b, run)
	mdGaps(&b, run)
	mdEvents(&b, run)
	mdNotes(&b, run)

	b.WriteString("## Timeline\n\n![timeline](" + TimelineFile + ")\n\n")
	fmt.Fprintf(&b, "---\nMade by downtime %s on %s.\n", mdText(orDash(m.Tool)), mdText(orDash(m.Host)))
	_, err := io.WriteString(w, b.String())
	return err
}

func mdVerdict(b *strings.Builder, run *Run) {
	if run.Verdict.Pass {
		b.WriteString("## Verdict: PASS\n\n")
	} else {
		b.WriteString("## Verdict: FAIL\n\n")
	}
	for _, f := range run.Verdict.Failures {
		fmt.Fprintf(b, "- %s\n", mdText(f))
	}
	if len(run.Verdict.Failures) > 0 {
		b.WriteString("\n")
	}
	if run.Partial {
		reason := "the run did not finish"
		if run.Reason != "" {
			reason = run.Reason
		}
		fmt.Fprintf(b, "> **Partial run:** %s. The figures cover only what was recorded.\n\n", mdText(reason))
	}
}

func mdProbes(b *strings.Builder, run *Run) {
	b.WriteString("## Probes\n\n")
	if len(run.Probes) == 0 {
		b.WriteString("No probes.\n\n")
		return
	}
	b.WriteString("| probe | kind | target | address | interval | sent | lost | loss | max gap | survived / resets | RTT p50 | RTT p95 |\n")
	b.WriteString("|---|---|---|---|--:|--:|--:|--:|--:|---|--:|--:|\n")
	for i := range run.Probes {
		p := &run.Probes[i]
		session := "–"
		if isSessionKind(p.Kind) {
			session = "no"
			if p.Survived {
				session = "yes"
			}
			session += " / " + strconv.Itoa(len(p.Resets))
		}
		if p.Kind == "snmp" && p.RebootDetected {
			session = "guest rebooted"
		}
		maxGap := "–"
		if len(p.Gaps) > 0 {
			maxGap = FormatSeconds(p.MaxGap) + " ± " + FormatSeconds(maxGapBound(p))
		}
		addr := p.Address
		switch {
		case p.FailoverAddress != "":
			addr += " (or failover " + p.FailoverAddress + ")"
		case p.FailoverFor != "":
			addr += " (failover for " + p.FailoverFor + ")"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %d | %d | %s %% | %s | %s | %s | %s |\n",
			mdText(p.Name), mdText(p.Kind), mdText(p.Target), mdText(addr), exactSeconds(p.Interval),
			p.Sent, p.Lost, strconv.FormatFloat(lossPct(p), 'f', 2, 64), maxGap, session,
			rttMS(p, p.RTT.Median), rttMS(p, p.RTT.P95))
	}
	b.WriteString("\n")
}

func mdGaps(b *strings.Builder, run *Run) {
	b.WriteString("## Gaps\n\n")
	n := 0
	for i := range run.Probes {
		n += len(run.Probes[i].Gaps)
	}
	if n == 0 {
		b.WriteString("No gaps: every probe was answered throughout.\n\n")
		return
	}
	b.WriteString("| probe | address | start | end | duration | lost | open | trigger |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|---|---|\n")
	for i := range run.Probes {
		p := &run.Probes[i]
		for _, g := range p.Gaps {
			open := ""
			if g.Open {
				open = "open"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s ± %s | %d | %s | %s |\n",
				mdText(p.Name), mdText(p.Address), FormatSeconds(g.Start), FormatSeconds(g.End),
				FormatSeconds(g.Duration()), FormatSeconds(g.Bound), g.Lost, open,
				mdText(GapTrigger(run.Events, g)))
		}
	}
	b.WriteString("\n")
}

func mdEvents(b *strings.Builder, run *Run) {
	b.WriteString("## Events\n\n")
	if len(run.Events) == 0 {
		b.WriteString("No triggers fired.\n\n")
		return
	}
	b.WriteString("The hypervisor's figures and the probes' are shown side by side, never merged: " +
		"the network's share is the measured gap minus the hypervisor's downtime.\n\n")
	b.WriteString("| trigger | kind | start | end | status | exit code | hypervisor downtime | measured gap (network's share) |\n")
	b.WriteString("|---|---|--:|--:|---|--:|--:|---|\n")
	for _, e := range run.Events {
		end := "–"
		if e.Status != triggers.StatusRunning {
			end = FormatSeconds(e.End)
		}
		status := string(e.Status)
		if e.Error != "" {
			status += ": " + e.Error
		}
		exit := "–"
		if e.ExitCode >= 0 {
			exit = strconv.Itoa(e.ExitCode)
		}
		hv := "–"
		if h := e.Hypervisor; h != nil {
			hv = formatMS(h.DowntimeMS)
			if h.Source != "" {
				hv += " (" + h.Source + ")"
			}
		}
		var shares []string
		for _, txt := range shareTexts(e, run) {
			shares = append(shares, mdText(txt))
		}
		share := "no gap"
		if len(shares) > 0 {
			share = strings.Join(shares, "<br>")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			mdText(e.Name), mdText(e.Kind), FormatSeconds(e.Start), end, mdText(status), exit, mdText(hv), share)
	}
	b.WriteString("\n")
}

func mdNotes(b *strings.Builder, run *Run) {
	b.WriteString("## Notes\n\n")
	var intervals []string
	for i := range run.Probes {
		p := &run.Probes[i]
		s := mdText(p.Name) + " " + exactSeconds(p.Interval)
		if len(intervals) == 0 || intervals[len(intervals)-1] != s { // one per probe, not per address
			intervals = append(intervals, s)
		}
	}
	b.WriteString("- Resolution: each edge of a gap is known to within one probe interval")
	if len(intervals) > 0 {
		b.WriteString(" (" + strings.Join(intervals, ", ") + ")")
	}
	b.WriteString(", so a gap's bound is about two intervals, more where a send was late. The outage lies between duration − bound and duration.\n")
	for i := range run.Probes {
		p := &run.Probes[i]
		if p.FailoverAddress == "" {
			continue
		}
		when := "never answered"
		if p.FailoverFirstAnswer >= 0 {
			when = "first answered at " + FormatSeconds(p.FailoverFirstAnswer)
		}
		fmt.Fprintf(b, "- Failover: %s's failover address %s %s; its gaps count only while neither address answered.\n",
			mdText(p.Name), mdText(p.FailoverAddress), when)
	}
	if run.Meta.Lab != "" {
		fmt.Fprintf(b, "- Lab: %s\n", mdText(run.Meta.Lab))
	}
	b.WriteString("\n")
}

// rttMS formats an RTT figure in milliseconds, or a dash with no answers.
func rttMS(p *ProbeResult, d time.Duration) string {
	if p.Received == 0 {
		return "–"
	}
	return strconv.FormatFloat(msFloat(d), 'f', 2, 64) + " ms"
}

// formatMS formats a millisecond figure: "52.3 ms".
func formatMS(ms float64) string {
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}

// exactSeconds formats a configured duration without rounding: "0.01 s".
func exactSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// mdText makes s safe inside a Markdown table cell: one line, no stray
// pipes or markup characters that would change the layout.
func mdText(s string) string {
	if !strings.ContainsAny(s, "|\r\n<>*_`[]\\") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\r', '\n':
			b.WriteByte(' ')
		case '|', '<', '>', '*', '_', '`', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode makes s safe inside a code span.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
}

// mdGroups shows, for each group target, how the members' worst gaps are
// distributed and which guests fared worst.
func mdGroups(b *strings.Builder, run *Run) {
	if len(run.Groups) == 0 {
		return
	}
	b.WriteString("## Groups\n\n")
	b.WriteString("| probe | target | members | max gap: min | p50 | p95 | max | worst guests |\n|---|---|--:|--:|--:|--:|--:|---|\n")
	for _, g := range run.Groups {
		var worst []string
		for _, m := range g.Worst {
			if m.MaxGap > 0 {
				worst = append(worst, fmt.Sprintf("%s (%s)", m.Address, FormatSeconds(m.MaxGap)))
			}
		}
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %s | %s |\n", mdText(g.Probe), mdText(g.Target), g.Members,
			FormatSeconds(g.Min), FormatSeconds(g.P50), FormatSeconds(g.P95), FormatSeconds(g.Max), mdText(orDash(strings.Join(worst, ", "))))
	}
	b.WriteString("\n")
}
