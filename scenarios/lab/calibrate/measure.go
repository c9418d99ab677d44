package calibrate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/probes/sshdial"
	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// Targets is what the child needs to reach the services.
type Targets struct {
	ServerNS     string     `json:"server_netns"` // where the outage is injected
	Addr         netip.Addr `json:"addr"`         // the server's address, probed and blocked
	SSHPort      int        `json:"ssh_port"`
	SSHUser      string     `json:"ssh_user"`
	IdentityFile string     `json:"identity_file"`
	KnownHosts   string     `json:"known_hosts"`
	EchoPort     int        `json:"echo_port"`
	SNMPPort     int        `json:"snmp_port"`
	// Community is a secret: it travels to the child on its standard
	// input, never on a command line, and is never printed.
	Community string `json:"community"`
}

// Job is what Run sends the child on its standard input.
type Job struct {
	Targets Targets `json:"targets"`
	Cells   []Cell  `json:"cells"`
}

// How many good answers a probe must give before the outage (its session
// is up, its path works) and after it (the gap is closed, with a margin).
const (
	goodBefore = 2
	goodAfter  = 2
)

// Child is the calibration's measuring half, run inside the client
// namespace: it reads a Job from in, measures its cells one after the
// other and writes each Row to out as one JSON line. Progress goes to log.
func Child(ctx context.Context, in io.Reader, out, log io.Writer) error {
	var job Job
	if err := json.NewDecoder(in).Decode(&job); err != nil {
		return fmt.Errorf("calibrate: reading the job: %w", err)
	}
	enc := json.NewEncoder(out)
	for _, c := range job.Cells {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := measure(ctx, job.Targets, c)
		fmt.Fprintf(log, "calibrate: %s: %s\n", c, r.summary())
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// collector keeps a probe's samples as they are emitted.
type collector struct {
	mu    sync.Mutex
	pm    reports.ProbeMeta
	all   []probes.Sample
	early error // set when Run returned before it was stopped
}

func (c *collector) add(s probes.Sample) {
	c.mu.Lock()
	c.all = append(c.all, s)
	c.mu.Unlock()
}

// goodSince counts good answers sent after from.
func (c *collector) goodSince(from time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i := range c.all {
		s := &c.all[i]
		if s.Sent > from && !s.Lost && (c.pm.Stall <= 0 || s.RTT <= c.pm.Stall) {
			n++
		}
	}
	return n
}

// waitGood waits until n good answers were sent after from, but no less
// than least and no longer than most (measured from now).
func (c *collector) waitGood(ctx context.Context, ran <-chan error, from time.Duration, n int, least, most time.Duration) error {
	begin := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if time.Since(begin) >= least && c.goodSince(from) >= n {
			return nil
		}
		if time.Since(begin) > most {
			return fmt.Errorf("fewer than %d good answers within %v", n, most)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-ran:
			if err == nil {
				err = errors.New("stopped early")
			}
			c.early = err
			return fmt.Errorf("probe: %w", err)
		case <-tick.C:
		}
	}
}

// newProbe builds the probe of a cell and the metadata analysis needs.
func newProbe(tg Targets, c Cell, clock probes.Clock) (probes.Probe, reports.ProbeMeta, error) {
	spec := probes.Spec{Name: c.Kind, Target: "server", Address: tg.Addr.String(), Interval: c.Interval, Clock: clock}
	pm := reports.ProbeMeta{Name: c.Kind, Kind: c.Kind, Target: "server", Address: spec.Address, Interval: c.Interval}
	var (
		p   probes.Probe
		err error
	)
	switch c.Kind {
	case "icmp":
		spec.Timeout = ICMPTimeout
		p, err = probes.NewICMP(spec, probes.ICMPConfig{})
	case "tcp":
		spec.Timeout, pm.Stall = SessionTimeout, sessionStall(c.Interval)
		p, err = probes.NewTCP(spec, tg.EchoPort)
	case "ssh":
		spec.Timeout, pm.Stall = SessionTimeout, sessionStall(c.Interval)
		p, err = probes.NewSSH(spec, sshdial.Config{
			Port: tg.SSHPort, User: tg.SSHUser, IdentityFile: tg.IdentityFile, KnownHosts: tg.KnownHosts,
		})
	case "snmp":
		spec.Timeout = snmpTimeout(c.Interval)
		p, err = probes.NewSNMP(spec, probes.SNMPConfig{Port: uint16(tg.SNMPPort), Community: tg.Community})
	default:
		err = fmt.Errorf("unknown probe kind %q", c.Kind)
	}
	pm.Timeout = spec.Timeout
	return p, pm, err
}

// measure runs one cell and judges it.
func measure(ctx context.Context, tg Targets, c Cell) Row {
	r := run(ctx, tg, c)
	r.judge()
	return r
}

// run runs one cell: baseline, outage, settle, then analysis.
func run(ctx context.Context, tg Targets, c Cell) Row {
	r := Row{Cell: c}
	fail := func(format string, args ...any) Row {
		r.Failed = fmt.Sprintf(format, args...)
		return r
	}
	clock := probes.NewClock()
	p, pm, err := newProbe(tg, c, clock)
	if err != nil {
		return fail("%v", err)
	}
	r.Stall = pm.Stall
	// The blocker's table and chains exist before the outage, so Block
	// and Unblock are one netlink round trip each.
	blk, err := netns.NewBlocker(tg.ServerNS, tg.Addr)
	if err != nil {
		return fail("%v", err)
	}
	defer blk.Close()

	col := &collector{pm: pm}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- p.Run(pctx, col.add) }()
	stopProbe := func() error {
		stop()
		if col.early != nil {
			return nil
		}
		return <-ran
	}

	// Baseline: the path works and a session probe's session is up.
	if err := col.waitGood(ctx, ran, 0, goodBefore, max(300*time.Millisecond, 2*c.Interval), 15*time.Second+3*c.Interval); err != nil {
		_ = stopProbe()
		return fail("baseline: %v", err)
	}
	call := time.Now()
	t0, err := blk.Block()
	if err != nil {
		_ = stopProbe()
		return fail("%v", err)
	}
	r.Inject = t0.Sub(call)
	time.Sleep(time.Until(t0.Add(c.Outage)))
	call = time.Now()
	t1, err := blk.Unblock()
	if err != nil {
		_ = stopProbe()
		return fail("%v", err)
	}
	r.Inject = max(r.Inject, t1.Sub(call))
	from, to := clock.Offset(t0), clock.Offset(t1)
	r.Truth = to - from
	// Settle: the gap closes, with a margin.
	settleErr := col.waitGood(ctx, ran, to, goodAfter, 2*c.Interval, 15*time.Second+3*c.Interval)
	if err := stopProbe(); err != nil && settleErr == nil {
		settleErr = err
	}
	if settleErr != nil {
		return fail("after the outage: %v", settleErr)
	}
	r.analyze(pm, col.all, from, to)
	return r
}

// analyze finds the gap overlapping the outage [from, to] in samples.
func (r *Row) analyze(pm reports.ProbeMeta, samples []probes.Sample, from, to time.Duration) {
	var best reports.Gap
	for _, g := range reports.FindGaps(pm, samples) {
		if g.Start >= to || g.End <= from {
			r.Spurious++
			continue
		}
		r.Gaps++
		if g.Duration() > best.Duration() {
			best = g
		}
	}
	ss := slices.Clone(samples)
	slices.SortFunc(ss, func(a, b probes.Sample) int { return cmp.Compare(a.Seq, b.Seq) })
	if r.Gaps > 0 {
		r.Seen, r.Measured, r.Bound, r.Lost = true, best.Duration(), best.Bound, best.Lost
	} else {
		// Unseen: the spacing of the attempts around the outage is all the
		// probe could resolve.
		before, after := time.Duration(-1), time.Duration(-1)
		for _, s := range ss {
			if s.Sent <= from {
				before = s.Sent
			}
			if s.Sent >= to && after < 0 {
				after = s.Sent
			}
		}
		if before >= 0 && after >= 0 {
			r.Bound = after - before
		}
	}
	if !isSession(r.Kind) {
		return
	}
	r.Survived = true
	for _, s := range ss {
		if s.Session != 1 || strings.HasPrefix(s.Err, "session lost") {
			r.Survived = false
		}
	}
	// TCP's retransmission delay: the first answer to arrive after the
	// unblock, of those sent before it; caught up: the last of them.
	first, last := time.Duration(-1), time.Duration(-1)
	for _, s := range ss {
		if s.Lost || s.Sent >= to {
			continue
		}
		if at := s.Sent + s.RTT; at >= to {
			if first < 0 || at < first {
				first = at
			}
			last = max(last, at)
		}
	}
	if first >= 0 {
		r.Retrans, r.CaughtUp = first-to, last-to
	}
}

// summary is one log line about the row.
func (r Row) summary() string {
	if r.Failed != "" {
		return "FAILED: " + r.Failed
	}
	s := fmt.Sprintf("truth %v measured %v bound %v error %v lost %d", ms(r.Truth), ms(r.Measured), ms(r.Bound), ms(r.Diff()), r.Lost)
	if isSession(r.Kind) {
		s += fmt.Sprintf(" retrans %v caught up %v", ms(r.Retrans), ms(r.CaughtUp))
	}
	if !r.Within {
		s += " OUTSIDE"
	}
	return s
}
