package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/downtime-lab/downtime/scenarios"
)

// cmdCheck validates scenario files without running anything.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: downtime check FILE...") }
	if err := fs.Parse(args); err != nil {
		return scenarios.ExitBadInput
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return scenarios.ExitBadInput
	}
	code := 0
	for _, path := range fs.Args() {
		sc, err := scenarios.Load(path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = scenarios.ExitBadInput
			continue
		}
		members := 0
		for _, t := range sc.Targets {
			members += len(t.Members)
		}
		fmt.Fprintf(stdout, "%s: ok: %q, %d target(s) (%d address(es)), %d probe(s), %d trigger(s), baseline %s, settle %s\n",
			path, sc.Name, len(sc.Targets), members, len(sc.Probes), len(sc.Triggers), sc.Baseline, sc.Settle)
		printTimeline(stdout, sc)
		for _, w := range sc.Warnings() {
			fmt.Fprintf(stderr, "%s: warning: %s\n", path, w)
		}
	}
	return code
}

// printTimeline lists the steps in the order a run fires them, with their
// offsets from the end of the baseline, so that a file whose order and
// offsets disagree shows it before anything runs.
func printTimeline(w io.Writer, sc *scenarios.Scenario) {
	steps := sc.Timeline()
	if len(steps) == 0 {
		return
	}
	width := 0
	for _, t := range steps {
		width = max(width, len(t.Name))
	}
	fmt.Fprintln(w, "  timeline (at: from the end of the baseline; each step waits for the ones before it unless parallel):")
	for _, t := range steps {
		var flags []string
		if t.Parallel {
			flags = append(flags, "parallel")
		}
		if t.Always {
			flags = append(flags, "always")
		}
		line := fmt.Sprintf("    at %-8s %-*s  %-5s", t.At, width, t.Name, t.Kind)
		if len(flags) > 0 {
			line += "  " + strings.Join(flags, ", ")
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}
