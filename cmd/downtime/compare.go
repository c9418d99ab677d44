package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios"
)

const compareUsage = `usage: downtime compare [-tolerance 10%|50ms] [-o DIR] BASE CAND

BASE and CAND are run directories, or directories of repeated runs (r01,
r02, ...). Every probe's max gap, lost attempts and max stall, and every
trigger's hypervisor downtime, are compared with a Mann-Whitney U test.
A metric regressed when the candidate's median is worse by more than the
tolerance and p < 0.05. Writes compare.md, compare.png and compare.html
into DIR (default CAND).

exit codes: 0 no regression, 1 a regression, 2 bad input, 3 the reports could not be written
`

// cmdCompare compares a candidate run (or set of repeated runs) with a
// base one.
func cmdCompare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, compareUsage) }
	tolerance := fs.String("tolerance", "10%", "how much worse the candidate's median may be: a share of the base median (10%) or a duration (50ms)")
	out := fs.String("o", "", "directory for compare.md, compare.png and compare.html (default CAND)")
	if err := fs.Parse(args); err != nil {
		return scenarios.ExitBadInput
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return scenarios.ExitBadInput
	}
	tol, err := reports.ParseTolerance(*tolerance)
	if err != nil {
		fmt.Fprintf(stderr, "downtime: %v\n", err)
		return scenarios.ExitBadInput
	}
	var sets [2]reports.RunSet
	for i, dir := range fs.Args() {
		if sets[i], err = reports.LoadRunSet(dir); err != nil {
			fmt.Fprintf(stderr, "downtime: %v\n", err)
			return scenarios.ExitBadInput
		}
	}
	c := reports.Compare(sets[0], sets[1], tol)

	dir := *out
	if dir == "" {
		dir = fs.Arg(1)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "downtime: %v\n", err)
		return scenarios.ExitNotRun
	}
	if err := reports.WriteCompareReports(dir, c); err != nil {
		fmt.Fprintf(stderr, "downtime: %v\n", err)
		return scenarios.ExitNotRun
	}
	printComparison(stdout, c, dir)
	if c.Regressed() {
		return scenarios.ExitFail
	}
	return scenarios.ExitPass
}

// printComparison prints the medians and verdict of every metric, and
// where the reports are.
func printComparison(w io.Writer, c *reports.Comparison, dir string) {
	fmt.Fprintf(w, "base %s: %d run(s); candidate %s: %d run(s); tolerance %s\n\n",
		c.Base.Dir, len(c.Base.Runs), c.Cand.Dir, len(c.Cand.Runs), c.Tolerance)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "subject\tmetric\tbase p50\tcand p50\tp\tverdict")
	for _, m := range c.Metrics {
		p := "-"
		if !math.IsNaN(m.P) {
			p = strconv.FormatFloat(m.P, 'f', 3, 64)
		}
		verdict := string(m.Change)
		if m.Note != "" {
			verdict += " (" + m.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Subject, m.Metric, median(m.Base), median(m.Cand), p, verdict)
	}
	tw.Flush()
	verdict := "no regression"
	if c.Regressed() {
		verdict = "REGRESSED"
	}
	fmt.Fprintf(w, "\nverdict: %s\n", verdict)
	for _, n := range c.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "report: %s\nhtml: %s\n", filepath.Join(dir, reports.CompareFile), filepath.Join(dir, reports.CompareHTMLFile))
}

func median(d reports.Dist) string {
	if len(d.Values) == 0 {
		return "-"
	}
	return strconv.FormatFloat(d.P50, 'f', -1, 64)
}
