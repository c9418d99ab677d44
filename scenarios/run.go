package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// Exit codes of a run, shared by every command of the CLI.
const (
	ExitPass     = 0 // every threshold held
	ExitFail     = 1 // a threshold failed (or a trigger did)
	ExitBadInput = 2 // the scenario or the command line is wrong
	ExitNotRun   = 3 // the run could not be carried out (or was interrupted)
)

// errInterrupted is why a run whose context was cancelled stopped.
var errInterrupted = errors.New("interrupted")

// Options tune a run.
type Options struct {
	Dir     string    // run directory; created, and must not hold an earlier run
	Log     io.Writer // one plain line per event; nil discards
	Version string    // tool version, recorded in meta.json
	Lab     string    // note for lab runs, shown in reports
	// Progress, when set, is called about four times a second with the
	// live figures, for a terminal display.
	Progress func(Progress)
	// Warn receives warnings (e.g. an insecure host-key opt-in); nil uses Log.
	Warn func(string)
}

// Progress is a live view of a run, for display only.
type Progress struct {
	Elapsed time.Duration
	Phase   string // baseline, triggers, settle, stopping
	Probes  []ProbeProgress
}

// ProbeProgress is one probe instance's live figures.
type ProbeProgress struct {
	Name, Address string
	Sent, Lost    int
	LastRTT       time.Duration
	GapFor        time.Duration // > 0 while the probe is in a gap
}

// Result is the outcome of Run.
type Result struct {
	Dir  string
	Run  *reports.Run // nil when not even a partial report could be made
	Exit int
	Err  error // why the run was not carried out, when Exit is ExitNotRun
}

// Run carries out a loaded scenario: preflight baseline, trigger timeline,
// settle, then analysis and reports. Cancelling ctx interrupts the run:
// triggers are cancelled, probes stop, and a partial report is written.
func Run(ctx context.Context, sc *Scenario, opt Options) Result {
	r := &runner{sc: sc, opt: opt, clock: probes.NewClock(), live: newLiveStats()}
	if r.opt.Log == nil {
		r.opt.Log = io.Discard
	}
	if r.opt.Warn == nil {
		r.opt.Warn = func(s string) { r.logf("WARNING: %s", s) }
	}
	return r.run(ctx)
}

type runner struct {
	sc    *Scenario
	opt   Options
	clock probes.Clock
	live  *liveStats

	logMu  sync.Mutex
	evMu   sync.Mutex
	events *reports.EventWriter
	// eventsF is the file under events, trimmed to whole rows if a
	// write fails.
	eventsF *rowFile
	phase   string
	// startLate starts the failover-address probes, once, with the first
	// trigger.
	startLate func()
}

func (r *runner) logf(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.opt.Log, "%8.3fs  %s\n", r.clock.Now().Seconds(), fmt.Sprintf(format, args...))
}

func (r *runner) run(parent context.Context) Result {
	res := Result{Dir: r.opt.Dir, Exit: ExitNotRun}
	files, err := r.openDir()
	if err != nil {
		res.Err = err
		return res
	}
	defer files.close()

	// Probes run on their own context: they must outlive the triggers and
	// the settle time, and stop only when the runner says so.
	probeCtx, stopProbes := context.WithCancel(context.Background())
	defer stopProbes()
	runCtx, abort := context.WithCancelCause(parent)
	defer abort(nil)

	samples := files.samples
	rec := newRecorder(samples.Write, r.live, func(err error) {
		// The failed row may be partly on disk: keep the file whole rows.
		if terr := files.samplesF.trim(); terr != nil {
			err = errors.Join(err, terr)
		}
		abort(fmt.Errorf("writing %s: %w", reports.SamplesFile, bareErr(err)))
	})

	insts, err := r.instances()
	if err != nil {
		rec.Close()
		res.Err = err
		return res
	}
	var wg sync.WaitGroup
	start := func(late bool) {
		for _, in := range insts {
			if in.late != late {
				continue
			}
			for _, m := range in.metas {
				r.live.register(m.Name, m.Address, m.Interval)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := in.probe.Run(probeCtx, rec.Emit); err != nil && probeCtx.Err() == nil {
					m := in.metas[0]
					abort(fmt.Errorf("probe %s could not run against %s (%s): %w", m.Name, m.Target, m.Address, err))
				}
			}()
		}
	}
	start(false)
	r.startLate = sync.OnceFunc(func() {
		for _, in := range insts {
			if in.late {
				r.logf("probing the failover addresses too")
				break
			}
		}
		start(true)
	})
	progressDone := r.startProgress()

	r.setPhase("baseline")
	r.logf("baseline: probing for %s before the first trigger", r.sc.Baseline)
	if r.sleepUntil(runCtx, r.sc.Baseline) {
		r.preflight(runCtx, insts, abort) // aborts the run, with the reason, if a target is silent
	}
	if runCtx.Err() == nil {
		r.setPhase("triggers")
		r.timeline(runCtx)
	}
	if runCtx.Err() == nil {
		r.setPhase("settle")
		r.logf("settle: probing for %s more", r.sc.Settle)
		r.sleepUntil(runCtx, r.clock.Now()+r.sc.Settle)
	}

	r.setPhase("stopping")
	stopProbes()
	wg.Wait()
	writeErr := rec.Close()
	close(progressDone)
	r.flushNotes()
	files.close()

	cause := context.Cause(runCtx)
	if errors.Is(cause, context.Canceled) && parent.Err() != nil {
		cause = errInterrupted // not "context canceled"
	}
	if writeErr != nil && cause == nil {
		cause = writeErr
	}
	run, err := reports.AnalyzeDir(r.opt.Dir)
	if err != nil {
		res.Err = errors.Join(cause, fmt.Errorf("reading the run back: %w", err))
		return res
	}
	if cause != nil {
		run.Partial = true
		run.Reason = cause.Error()
	}
	res.Run = run
	if err := reports.WriteReports(r.opt.Dir, run); err != nil {
		res.Err = errors.Join(cause, err)
		return res
	}
	switch {
	case cause != nil:
		res.Err = cause
	case run.Verdict.Pass:
		res.Exit = ExitPass
	default:
		res.Exit = ExitFail
	}
	return res
}

// instances builds every probe instance. Errors here are setup failures.
func (r *runner) instances() ([]instance, error) {
	var out []instance
	var group []reports.ProbeMeta // members of one ICMP probe to a group
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		spec := r.sc.probe(group[0].Name)
		p, err := groupICMP(spec, group, r.clock)
		if err != nil {
			return fmt.Errorf("probe %s (%d addresses of %s): %w", spec.Name, len(group), spec.Target, err)
		}
		out = append(out, instance{spec: spec, metas: group, probe: p})
		group = nil
		return nil
	}
	for _, m := range metaOf(r.sc) {
		spec := r.sc.probe(m.Name)
		if t := r.sc.target(spec.Target); spec.Kind == "icmp" && m.FailoverFor == "" && t != nil && len(t.Members) > 1 {
			if len(group) > 0 && group[0].Name != m.Name {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			group = append(group, m)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		p, err := buildProbe(spec, m.Address, r.clock, r.opt.Warn)
		if err != nil {
			return nil, fmt.Errorf("probe %s (%s): %w", m.Name, m.Address, err)
		}
		out = append(out, instance{spec: spec, metas: []reports.ProbeMeta{m}, probe: p, late: m.FailoverFor != ""})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// preflight refuses to fire any trigger at a target that has not answered:
// a trigger pointed at a VM you can't see measures nothing.
func (r *runner) preflight(ctx context.Context, insts []instance, abort context.CancelCauseFunc) {
	// Answers still in flight get one timeout to arrive.
	var grace time.Duration
	for _, in := range insts {
		grace = max(grace, in.metas[0].Timeout)
	}
	deadline := r.clock.Now() + min(grace, 5*time.Second)
	for {
		var silent []liveProbe
		for _, p := range r.live.snapshot() {
			if !p.Answered {
				silent = append(silent, p)
			}
		}
		if len(silent) == 0 {
			r.logf("baseline: every probe answered")
			return
		}
		if r.clock.Now() >= deadline || ctx.Err() != nil {
			p := silent[0]
			target := ""
			for _, in := range insts {
				for _, m := range in.metas {
					if m.Name == p.Name && m.Address == p.Address {
						target = m.Target
					}
				}
			}
			abort(fmt.Errorf("target %s (%s) did not answer probe %s during the %s baseline (%d sent, %d lost); no trigger was fired (%d of %d probe instances silent)",
				target, p.Address, p.Name, r.sc.Baseline, p.Sent, p.Lost, len(silent), len(insts)))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// timeline fires the triggers in order of their offsets, file order among
// equal ones (a step without an offset has the one above it: see
// checkTrigger). A step waits for every earlier step to end, unless it is
// marked parallel.
//
// Steps marked always run on a context the run's end does not cancel. When
// the run is cut short, the always steps not yet started run after the
// steps in flight have stopped, one by one, without waiting for their
// offsets, while the probes still measure: a link taken down comes back
// up. The second signal that quits at once is the way out of them.
func (r *runner) timeline(ctx context.Context) {
	steps := r.sc.Timeline()
	t0 := r.sc.Baseline
	var running sync.WaitGroup
	stepCtx := func(spec TriggerSpec) context.Context {
		if spec.Always {
			return context.WithoutCancel(ctx)
		}
		return ctx
	}
	next := 0
	for ; next < len(steps); next++ {
		spec := steps[next]
		if !spec.Parallel {
			running.Wait()
		}
		if !r.sleepUntil(ctx, t0+spec.At) {
			break
		}
		r.startLate()
		running.Add(1)
		go func(i int) {
			defer running.Done()
			r.fire(stepCtx(spec), i, spec)
		}(next)
	}
	running.Wait()
	var left []int
	for i := next; i < len(steps); i++ {
		if steps[i].Always {
			left = append(left, i)
		}
	}
	if len(left) == 0 {
		return
	}
	names := make([]string, len(left))
	for k, i := range left {
		names[k] = steps[i].Name
	}
	why := context.Cause(ctx)
	if errors.Is(why, context.Canceled) {
		why = errInterrupted
	}
	r.logf("run cut short (%v): running the always step(s) %s", why, strings.Join(names, ", "))
	for _, i := range left {
		r.fire(stepCtx(steps[i]), i, steps[i])
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fire runs one trigger under its timeout and records its event.
func (r *runner) fire(ctx context.Context, i int, spec TriggerSpec) {
	ev := triggers.Event{
		Name: spec.Name, Kind: spec.Kind, Status: triggers.StatusRunning, ExitCode: -1,
		Output: fmt.Sprintf("trigger-%02d-%s.log", i+1, unsafeName.ReplaceAllString(spec.Name, "_")),
	}
	out, err := os.OpenFile(filepath.Join(r.opt.Dir, ev.Output), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		ev.Start, ev.End = r.clock.Now(), r.clock.Now()
		ev.Status, ev.Error, ev.Output = triggers.StatusFailed, err.Error(), ""
		r.recordEvent(ev)
		return
	}
	defer out.Close()
	trig, err := buildTrigger(spec, nil, r.opt.Warn)
	ev.Start = r.clock.Now()
	r.recordEvent(ev)
	r.logf("trigger %s (%s) started", spec.Name, spec.Kind)
	var oc triggers.Outcome
	if err == nil {
		tctx, cancel := context.WithTimeout(ctx, spec.Timeout)
		oc, err = trig.Fire(tctx, out)
		if err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("timed out after %s: %w", spec.Timeout, context.DeadlineExceeded)
		}
		cancel()
	}
	ev.End = r.clock.Now()
	ev.ExitCode, ev.Hypervisor = oc.ExitCode, oc.Hypervisor
	switch {
	case err == nil:
		ev.Status = triggers.StatusOK
	case errors.Is(err, context.DeadlineExceeded):
		ev.Status, ev.Error = triggers.StatusTimeout, err.Error()
	case ctx.Err() != nil:
		ev.Status, ev.Error = triggers.StatusCancel, "run interrupted"
	default:
		ev.Status, ev.Error = triggers.StatusFailed, err.Error()
	}
	r.recordEvent(ev)
	msg := fmt.Sprintf("trigger %s %s after %.3f s", spec.Name, ev.Status, (ev.End - ev.Start).Seconds())
	if ev.Error != "" {
		msg += ": " + ev.Error
	}
	if h := ev.Hypervisor; h != nil {
		msg += fmt.Sprintf(" (%s: downtime %.0f ms)", h.Source, h.DowntimeMS)
	}
	r.logf("%s", msg)
}

func (r *runner) recordEvent(ev triggers.Event) {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	if err := r.events.Write(ev); err != nil {
		_ = r.eventsF.trim()
		r.logf("WARNING: writing %s: %v", reports.EventsFile, bareErr(err))
	}
}

// sleepUntil waits until the run offset at, or until ctx is done; it
// reports whether the time was reached.
func (r *runner) sleepUntil(ctx context.Context, at time.Duration) bool {
	d := at - r.clock.Now()
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *runner) setPhase(p string) {
	r.logMu.Lock()
	r.phase = p
	r.logMu.Unlock()
}

// startProgress logs gap transitions and feeds the live display until the
// returned channel is closed.
func (r *runner) startProgress() chan struct{} {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			r.live.tick(r.clock.Now())
			r.flushNotes()
			if r.opt.Progress != nil {
				r.opt.Progress(r.progress())
			}
		}
	}()
	return done
}

func (r *runner) flushNotes() {
	for _, n := range r.live.takeNotes() {
		r.logf("%s", n)
	}
}

func (r *runner) progress() Progress {
	r.logMu.Lock()
	phase := r.phase
	r.logMu.Unlock()
	p := Progress{Elapsed: r.clock.Now(), Phase: phase}
	for _, lp := range r.live.snapshot() {
		pp := ProbeProgress{Name: lp.Name, Address: lp.Address, Sent: lp.Sent, Lost: lp.Lost, LastRTT: lp.LastRTT}
		if lp.InGap {
			pp.GapFor = p.Elapsed - lp.lastSent
		}
		p.Probes = append(p.Probes, pp)
	}
	return p
}
