package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/downtime-lab/downtime/scenarios"
	"github.com/downtime-lab/downtime/scenarios/lab/calibrate"
)

const calibrateUsage = `usage: downtime lab calibrate [-quick] [-o DIR] [-kinds K,...] [-intervals D,...] [-outages D,...]

Checks downtime against ground truth, as root: builds a pair of network
namespaces (unique names, always removed), starts sshd, a TCP echo (socat)
and snmpd in one, and for each probe kind, interval and outage length runs
the probe from the other while netlink nftables rules cut the path for a
known time. Every measured gap is compared with the truth and its stated
bound.

flags:
  -quick           the CI matrix: intervals 10ms,100ms; outages 50ms,200ms,1s
  -o DIR           output directory (default runs/calibrate-<time>)
  -kinds LIST      probe kinds (default icmp,tcp,ssh,snmp)
  -intervals LIST  probe intervals (default 1ms,10ms,100ms,1s)
  -outages LIST    outage lengths (default 50ms,200ms,1s,5s)

writes calibration.csv and calibration.md to DIR and the table to stdout.
exit codes: 0 every error within its bound, 1 some not, 2 bad usage,
3 the calibration could not run
`

// childFlag makes this command the measuring half, inside the client
// namespace; Run passes it.
const childFlag = "-child"

// cmdCalibrate runs `downtime lab calibrate`.
func cmdCalibrate(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == childFlag {
		return calibrateChild(stdout, stderr)
	}
	fs := flag.NewFlagSet("lab calibrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, calibrateUsage) }
	quick := fs.Bool("quick", false, "")
	out := fs.String("o", "", "")
	kinds := fs.String("kinds", strings.Join(calibrate.Kinds, ","), "")
	intervals := fs.String("intervals", "", "")
	outages := fs.String("outages", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return scenarios.ExitBadInput
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "downtime lab calibrate: unexpected argument %q\n\n%s", fs.Arg(0), calibrateUsage)
		return scenarios.ExitBadInput
	}
	ivs, outs := calibrate.DefaultIntervals, calibrate.DefaultOutages
	if *quick {
		ivs, outs = calibrate.QuickIntervals, calibrate.QuickOutages
	}
	var err error
	if ivs, err = durationList("intervals", *intervals, ivs); err == nil {
		outs, err = durationList("outages", *outages, outs)
	}
	ks := strings.Split(*kinds, ",")
	for _, k := range ks {
		if !slices.Contains(calibrate.Kinds, k) && err == nil {
			err = fmt.Errorf("-kinds: unknown probe kind %q (want %s)", k, strings.Join(calibrate.Kinds, ", "))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "downtime lab calibrate: %v\n", err)
		return scenarios.ExitBadInput
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("runs", "calibrate-"+time.Now().Format("20060102-150405"))
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "downtime lab calibrate: %v\n", err)
		return scenarios.ExitNotRun
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cells, skipped := calibrate.Plan(ks, ivs, outs)
	fmt.Fprintf(stderr, "downtime lab calibrate: %d cells (%d skipped) into %s\n", len(cells), len(skipped), dir)
	rows, err := calibrate.Run(ctx, calibrate.Options{
		Cells: cells, ChildArgv: []string{self, "lab", "calibrate", childFlag}, Log: stderr,
	})
	rows = append(rows, skipped...)
	calibrate.Sort(rows)
	if werr := writeCalibration(dir, rows); werr != nil {
		err = errors.Join(err, werr)
	}
	if len(rows) > len(skipped) {
		_ = calibrate.WriteTable(stdout, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "downtime lab calibrate: %v\n", err)
		return scenarios.ExitNotRun
	}
	if n, m := calibrate.Tally(rows); n < m {
		return scenarios.ExitFail
	}
	return scenarios.ExitPass
}

// calibrateChild is the measuring half, run by calibrate.Run inside the
// client namespace: the job comes on stdin, rows go to stdout.
func calibrateChild(stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := calibrate.Child(ctx, os.Stdin, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "downtime lab calibrate: %v\n", err)
		return scenarios.ExitNotRun
	}
	return 0
}

// writeCalibration writes calibration.csv and calibration.md into dir.
func writeCalibration(dir string, rows []calibrate.Row) error {
	return writeFiles(dir,
		outFile{"calibration.csv", func(w io.Writer) error { return calibrate.WriteCSV(w, rows) }},
		outFile{"calibration.md", func(w io.Writer) error { return calibrate.WriteMarkdown(w, rows) }})
}

// durationList parses a comma-separated list of positive durations; an
// empty string keeps def.
func durationList(name, s string, def []time.Duration) ([]time.Duration, error) {
	if s == "" {
		return def, nil
	}
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("-%s: %q is not a positive duration", name, f)
		}
		out = append(out, d)
	}
	return out, nil
}
