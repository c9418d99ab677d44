package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios"
)

// cmdReport rebuilds every report of a run directory from its files.
func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: downtime report DIR") }
	if err := fs.Parse(args); err != nil {
		return scenarios.ExitBadInput
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return scenarios.ExitBadInput
	}
	dir := fs.Arg(0)
	run, err := reports.LoadDir(dir)
	if err != nil {
		fmt.Fprintf(stderr, "downtime: %v\n", err)
		return scenarios.ExitBadInput
	}
	if err := reports.WriteReports(dir, run); err != nil {
		fmt.Fprintf(stderr, "downtime: %v\n", err)
		return scenarios.ExitNotRun
	}
	printSummary(stdout, run, dir)
	switch {
	case run.Partial:
		// The reports are rebuilt, but the run itself was not carried out.
		return scenarios.ExitNotRun
	case run.Verdict.Pass:
		return scenarios.ExitPass
	default:
		return scenarios.ExitFail
	}
}

// printSummary prints the per-probe table, the verdict and where the
// reports are.
func printSummary(w io.Writer, run *reports.Run, dir string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "probe\tkind\taddress\tinterval\tsent\tlost\tmax gap\tgaps\tsession")
	for _, p := range run.Probes {
		session := ""
		if p.Kind == "ssh" || p.Kind == "tcp" {
			session = "survived"
			if !p.Survived {
				session = fmt.Sprintf("%d reset(s)", len(p.Resets))
			}
		}
		if p.RebootDetected {
			session = "reboot detected"
		}
		bound := time.Duration(0)
		for _, g := range p.Gaps {
			if g.Duration() == p.MaxGap {
				bound = g.Bound
			}
		}
		maxGap := "-"
		if p.MaxGap > 0 {
			maxGap = fmt.Sprintf("%s ±%s", reports.FormatSeconds(p.MaxGap), reports.FormatSeconds(bound))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", p.Name, p.Kind, p.Address, p.Interval, p.Sent, p.Lost, maxGap, len(p.Gaps), session)
	}
	tw.Flush()
	verdict := "PASS"
	if !run.Verdict.Pass {
		verdict = "FAIL"
	}
	if run.Partial {
		verdict += " (partial run: " + run.Reason + ")"
	}
	fmt.Fprintf(w, "\nverdict: %s\n", verdict)
	for _, f := range run.Verdict.Failures {
		fmt.Fprintf(w, "  - %s\n", f)
	}
	fmt.Fprintf(w, "report: %s (and report.html)\ntimeline: %s\n", filepath.Join(dir, reports.ReportFile), filepath.Join(dir, reports.TimelineFile))
}
