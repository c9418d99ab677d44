package main

import (
	"flag"
	"fmt"
	"io"

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
		for _, w := range sc.Warnings() {
			fmt.Fprintf(stderr, "%s: warning: %s\n", path, w)
		}
	}
	return code
}
