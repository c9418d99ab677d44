package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios"
)

// cmdRun carries out a scenario.
func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "run directory (default runs/NAME-YYYYmmdd-HHMMSS)")
	quiet := fs.Bool("q", false, "no live display; log lines only")
	repeat := fs.Int("repeat", 0, "run the timeline N times (overrides the scenario's repeat:)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: downtime run [-o DIR] [-q] FILE")
		fs.PrintDefaults()
	}
	// Flags may follow the file, as in "run FILE -o DIR".
	if err := parseInterspersed(fs, args); err != nil {
		return scenarios.ExitBadInput
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return scenarios.ExitBadInput
	}
	sc, err := scenarios.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return scenarios.ExitBadInput
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("runs", safeName(sc.Name)+"-"+time.Now().Format("20060102-150405"))
	}
	if sc.Netns != "" {
		in, err := inNetns(sc.Netns)
		if err != nil {
			fmt.Fprintf(stderr, "downtime: scenario wants the probes in network namespace %q: %v (is the lab up? try: downtime lab up)\n", sc.Netns, err)
			return scenarios.ExitNotRun
		}
		if !in {
			return reexecIn(sc.Netns, dir, args, stdout, stderr)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)
	go func() {
		stopping := false
		for s := range signals {
			// SIGHUP is the parent-death signal of a re-executed runner.
			// The kernel may send it once per exiting thread of the
			// parent, so it only ever means "stop", never "quit at once".
			if !stopping {
				fmt.Fprintf(stderr, "\ndowntime: %s: stopping; writing a partial report (again to quit at once)\n", s)
				stopping = true
				cancel()
				continue
			}
			if s == syscall.SIGHUP {
				continue
			}
			// Every row already written is a whole line: the file stays valid.
			fmt.Fprintln(stderr, "downtime: quitting at once; samples.csv holds every sample taken; rebuild the reports with: downtime report", dir)
			os.Exit(scenarios.ExitNotRun)
		}
	}()

	disp := newDisplay(stderr, !*quiet && isTerminal(stderr))
	opt := scenarios.Options{
		Dir: dir, Log: disp, Version: toolVersion(),
		Warn: func(s string) { disp.Warn(s) },
	}
	if disp.live {
		opt.Progress = disp.Update
	}
	for _, w := range sc.Warnings() {
		disp.Warn(w)
	}
	if *repeat > 0 {
		sc.Repeat = *repeat
	}
	if sc.Repeat > 1 {
		return runRepeats(ctx, sc, opt, disp, stdout, stderr)
	}
	fmt.Fprintf(stderr, "downtime %s: running %s (%s) into %s\n", toolVersion(), sc.Name, sc.File, dir)
	res := scenarios.Run(ctx, sc, opt)
	disp.Close()
	if res.Run != nil {
		printSummary(stdout, res.Run, dir)
	}
	if res.Err != nil {
		fmt.Fprintf(stderr, "downtime: the run was not carried out: %v\n", res.Err)
	}
	return res.Exit
}

// runRepeats runs the timeline sc.Repeat times, each into its own
// directory (DIR/r01, ...), with the cooldown between, then sums the
// repeats up in DIR/aggregate.json and DIR/aggregate.md.
func runRepeats(ctx context.Context, sc *scenarios.Scenario, opt scenarios.Options, disp *display, stdout, stderr io.Writer) int {
	top := opt.Dir
	var runs []*reports.Run
	var dirs []string
	exit := scenarios.ExitPass
	for i := 1; i <= sc.Repeat; i++ {
		if i > 1 && sc.Cooldown > 0 {
			fmt.Fprintf(stderr, "downtime: cooldown %s\n", sc.Cooldown)
			select {
			case <-time.After(sc.Cooldown):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			exit = scenarios.ExitNotRun
			break
		}
		rel := fmt.Sprintf("r%02d", i)
		opt.Dir = filepath.Join(top, rel)
		fmt.Fprintf(stderr, "downtime %s: repeat %d of %d of %s into %s\n", toolVersion(), i, sc.Repeat, sc.Name, opt.Dir)
		res := scenarios.Run(ctx, sc, opt)
		disp.Quiet(func() {
			if res.Run != nil {
				printSummary(stdout, res.Run, opt.Dir)
			}
		})
		if res.Run != nil {
			runs, dirs = append(runs, res.Run), append(dirs, rel)
		}
		if res.Err != nil {
			// A repeat that could not be carried out stops the series:
			// the next would meet the same silent target or full disk.
			fmt.Fprintf(stderr, "downtime: repeat %d was not carried out: %v\n", i, res.Err)
			exit = scenarios.ExitNotRun
			break
		}
	}
	disp.Close()
	if len(runs) == 0 {
		return scenarios.ExitNotRun
	}
	agg := reports.AggregateRuns(runs, dirs, sc.RepeatVerdict)
	if err := writeAggregate(top, agg); err != nil {
		fmt.Fprintf(stderr, "downtime: %v\n", err)
		return scenarios.ExitNotRun
	}
	verdict := "PASS"
	if !agg.Verdict.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(stdout, "\nover %d repeats (%s): %s\n", len(runs), agg.Verdict.Mode, verdict)
	for _, f := range agg.Verdict.Failures {
		fmt.Fprintf(stdout, "  - %s\n", f)
	}
	fmt.Fprintf(stdout, "aggregate: %s\n", filepath.Join(top, "aggregate.md"))
	if exit == scenarios.ExitPass && !agg.Verdict.Pass {
		exit = scenarios.ExitFail
	}
	return exit
}

func writeAggregate(dir string, a reports.Aggregate) error {
	return writeFiles(dir,
		outFile{"aggregate.json", func(w io.Writer) error { return reports.WriteAggregateJSON(w, a) }},
		outFile{"aggregate.md", func(w io.Writer) error { return reports.WriteAggregateMarkdown(w, a) }})
}

// parseInterspersed parses flags that may come before or after the
// positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(pos)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// inNetns reports whether this process already lives in the named network
// namespace, by comparing namespace inodes.
func inNetns(name string) (bool, error) {
	var want, have unix.Stat_t
	if err := unix.Stat(filepath.Join("/run/netns", name), &want); err != nil {
		return false, err
	}
	if err := unix.Stat("/proc/self/ns/net", &have); err != nil {
		return false, err
	}
	return want.Dev == have.Dev && want.Ino == have.Ino, nil
}

// reexecIn runs this same command inside the namespace: sockets belong to
// the namespace of the thread that opens them, so the whole process must
// live there, not just a goroutine.
func reexecIn(ns, dir string, args []string, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "downtime:", err)
		return scenarios.ExitNotRun
	}
	abs, _ := filepath.Abs(dir)
	argv := append([]string{"netns", "exec", ns, self, "run", "-o", abs}, args...)
	cmd := exec.Command("ip", argv...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	// The child has a process group of its own, so that a signal reaches
	// it once, forwarded from here, whether it was sent to this PID (kill,
	// a supervisor) or to the terminal's foreground group (Ctrl-C): two
	// would mean "quit at once". If this process dies, the child is told
	// to stop (SIGHUP) and still writes its partial report.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGHUP}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "downtime: entering namespace %s: %v\n", ns, err)
		return scenarios.ExitNotRun
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-signals:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Fprintf(stderr, "downtime: the run (pid %d) was killed by %s; samples.csv holds the samples written until then; rebuild the reports with: downtime report %s\n", cmd.Process.Pid, ws.Signal(), abs)
			return scenarios.ExitNotRun
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(stderr, "downtime: entering namespace %s: %v\n", ns, err)
		return scenarios.ExitNotRun
	}
	return 0
}
