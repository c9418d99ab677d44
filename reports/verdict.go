package reports

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// Evaluate checks run against run.Meta.Thresholds and says why it failed,
// in words a reviewer understands.
//
// A probe's limits are Thresholds[its name], else Thresholds[its kind]; a
// probe with neither is not judged. Checks lists what is judged and how;
// a trigger that failed or timed out fails the run too: its failure is
// measured, but not passed over.
func Evaluate(run *Run) Verdict {
	if run == nil {
		return Verdict{Failures: []string{"no run to evaluate"}}
	}
	failures := []string{}
	for _, ev := range run.Events {
		if msg := TriggerFailure(ev); msg != "" {
			failures = append(failures, msg)
		}
	}
	for _, c := range Checks(run) {
		if c.Failure != "" {
			failures = append(failures, c.Failure)
		}
	}
	return Verdict{Pass: len(failures) == 0, Failures: failures}
}

// Check is one limit applied to one probe result: a test case of the run.
type Check struct {
	Probe   string // probe name
	Address string // the result's address
	Label   string // how failures name the result: the name, plus the address within a group
	Kind    string // which limit: max_gap, max_lost, ..., or "samples" for a probe that sent nothing
	Limit   string // the limit as a reviewer reads it: "max_gap <= 2 s"
	Failure string // why it failed, as in Verdict.Failures; "" when it passed
}

// Checks lists every limit of run.Meta.Thresholds applied to run's
// probes, in probe order and, per probe, in the order max_gap, max_lost,
// max_loss_pct, max_stall, survive, max_time_to_failover_address,
// max_hypervisor_downtime.
//
// A result fails max_gap when its longest gap (an open one included) is
// longer, max_lost or max_loss_pct when it lost more attempts, max_stall
// when the longest stall of a live session is longer, and survive when its
// session did not survive (session kinds only; others are not judged).
//
// max_time_to_failover_address is judged on a result with a failover
// address folded in (see mergeFailover), and on any result whose limits
// name it by its probe name: the time from the start of the first trigger
// (wait steps aside; the run start when there is none) to its
// FailoverFirstAnswer, 0 when it answered before. It fails when that is
// longer, or when the failover address never answered.
//
// max_hypervisor_downtime fails for every event whose hypervisor reported
// a longer downtime; events without hypervisor figures are not judged.
//
// The result of a failover address itself (FailoverFor set) is not
// judged: its answers count in its primary's result.
//
// A result with limits but no samples has the single check "samples",
// which fails.
func Checks(run *Run) []Check {
	if run == nil {
		return nil
	}
	names := make(map[string]int, len(run.Probes))
	for _, pr := range run.Probes {
		if pr.FailoverFor == "" {
			names[pr.Name]++
		}
	}
	var out []Check
	for i := range run.Probes {
		pr := &run.Probes[i]
		t, ok := ThresholdOf(run.Meta, pr.ProbeMeta)
		if !ok || pr.FailoverFor != "" {
			continue
		}
		label := pr.Name
		if names[pr.Name] > 1 {
			label += " " + pr.Address // one result per member of a group
		}
		_, byName := run.Meta.Thresholds[pr.Name]
		cs := probeChecks(label, pr, t, run.Events, byName || pr.FailoverAddress != "")
		for j := range cs {
			cs[j].Probe, cs[j].Address, cs[j].Label = pr.Name, pr.Address, label
		}
		out = append(out, cs...)
	}
	return out
}

// ThresholdOf returns the limits of probe pm: Thresholds[its name], else
// Thresholds[its kind], and whether there are any.
func ThresholdOf(m Meta, pm ProbeMeta) (Threshold, bool) {
	if t, ok := m.Thresholds[pm.Name]; ok {
		return t, true
	}
	t, ok := m.Thresholds[pm.Kind]
	return t, ok
}

// probeChecks applies t to pr. withFailover says whether the failover
// limit applies to it.
func probeChecks(label string, pr *ProbeResult, t Threshold, events []triggers.Event, withFailover bool) []Check {
	if pr.Sent == 0 {
		return []Check{{Kind: "samples", Limit: "samples > 0", Failure: label + ": no samples"}}
	}
	var out []Check
	add := func(kind, limit, failure string) {
		out = append(out, Check{Kind: kind, Limit: kind + " <= " + limit, Failure: failure})
	}
	if t.MaxGap > 0 {
		var msg string
		if pr.MaxGap > t.MaxGap {
			g := longest(pr.Gaps, pr.MaxGap)
			open := ""
			if g.Open {
				open = " (open)"
			}
			msg = fmt.Sprintf("%s: max gap %s%s > %s %s",
				label, FormatSeconds(g.Duration()), open, formatLimit(t.MaxGap), GapTrigger(events, g))
		}
		add("max_gap", formatLimit(t.MaxGap), msg)
	}
	if t.MaxLost != nil {
		var msg string
		if pr.Lost > *t.MaxLost {
			msg = fmt.Sprintf("%s: lost %d > %d", label, pr.Lost, *t.MaxLost)
		}
		add("max_lost", strconv.Itoa(*t.MaxLost), msg)
	}
	if t.MaxLossPct != nil {
		var msg string
		limit := strconv.FormatFloat(*t.MaxLossPct, 'f', -1, 64) + "%"
		if pct := 100 * float64(pr.Lost) / float64(pr.Sent); pct > *t.MaxLossPct {
			msg = fmt.Sprintf("%s: loss %.2f%% > %s", label, pct, limit)
		}
		add("max_loss_pct", limit, msg)
	}
	if t.MaxStall > 0 {
		var msg string
		if pr.MaxStall > t.MaxStall {
			g := longest(pr.Gaps, pr.MaxStall)
			msg = fmt.Sprintf("%s: max stall %s > %s %s",
				label, FormatSeconds(pr.MaxStall), formatLimit(t.MaxStall), GapTrigger(events, g))
		}
		add("max_stall", formatLimit(t.MaxStall), msg)
	}
	if t.Survive && isSessionKind(pr.Kind) {
		var msg string
		if !pr.Survived {
			msg = fmt.Sprintf("%s: session did not survive (%s)", label, survival(pr, events))
		}
		out = append(out, Check{Kind: "survive", Limit: "session survives", Failure: msg})
	}
	if t.MaxTimeToFailoverAddress > 0 && withFailover {
		add("max_time_to_failover_address", formatLimit(t.MaxTimeToFailoverAddress),
			failoverFailure(label, pr.FailoverFirstAnswer, events, t.MaxTimeToFailoverAddress))
	}
	if t.MaxHypervisorDowntime > 0 {
		var msgs []string
		for _, ev := range events {
			h := ev.Hypervisor
			if h == nil || msDuration(h.DowntimeMS) <= t.MaxHypervisorDowntime {
				continue
			}
			msgs = append(msgs, fmt.Sprintf("%s: hypervisor downtime %s > %s during trigger %s",
				label, formatMS(h.DowntimeMS), formatLimit(t.MaxHypervisorDowntime), eventName(ev)))
		}
		if len(msgs) == 0 {
			msgs = []string{""}
		}
		for _, m := range msgs {
			add("max_hypervisor_downtime", formatLimit(t.MaxHypervisorDowntime), m)
		}
	}
	return out
}

// failoverFailure judges the time until the failover address first
// answered (at run time first, negative for never), or returns "".
func failoverFailure(label string, first time.Duration, events []triggers.Event, limit time.Duration) string {
	from, since := time.Duration(0), "the run start"
	for _, ev := range events {
		if ev.Kind != "wait" {
			from, since = ev.Start, "the start of trigger "+eventName(ev)
			break
		}
	}
	if first < 0 {
		return fmt.Sprintf("%s: failover address never answered (limit %s after %s)", label, formatLimit(limit), since)
	}
	if took := max(first-from, 0); took > limit {
		return fmt.Sprintf("%s: failover address answered %s after %s > %s", label, FormatSeconds(took), since, formatLimit(limit))
	}
	return ""
}

// survival says why pr's session did not survive.
func survival(pr *ProbeResult, events []triggers.Event) string {
	switch {
	case len(pr.Resets) > 0:
		r := pr.Resets[0]
		s := "reset at " + FormatSeconds(r.At)
		if r.Reconnect >= 0 {
			s += ", reconnected after " + FormatSeconds(r.Reconnect)
		} else {
			s += ", never reconnected"
		}
		s += ", " + GapTrigger(events, Gap{Start: r.At, End: r.At})
		if len(pr.Resets) > 1 {
			s += fmt.Sprintf("; %d resets in all", len(pr.Resets))
		}
		return s
	case pr.Sessions == 0:
		return "no session was established"
	default:
		return "not connected at the start of the run"
	}
}

// longest returns the first gap lasting d, for naming its trigger window.
func longest(gaps []Gap, d time.Duration) Gap {
	for _, g := range gaps {
		if g.Duration() == d {
			return g
		}
	}
	return Gap{}
}

// TriggerFailure describes a trigger that failed or timed out, or returns "".
func TriggerFailure(ev triggers.Event) string {
	name := eventName(ev)
	detail := strings.TrimSpace(ev.Error)
	switch ev.Status {
	case triggers.StatusFailed:
		switch {
		case detail != "":
			return fmt.Sprintf("trigger %s failed: %s", name, detail)
		case ev.ExitCode > 0:
			return fmt.Sprintf("trigger %s failed (exit code %d)", name, ev.ExitCode)
		default:
			return fmt.Sprintf("trigger %s failed", name)
		}
	case triggers.StatusTimeout:
		msg := fmt.Sprintf("trigger %s timed out after %s", name, FormatSeconds(ev.End-ev.Start))
		if detail != "" {
			msg += ": " + detail
		}
		return msg
	}
	return ""
}

// GapTrigger names the trigger a gap follows, for reports: the step that
// started last before the outage could have begun (wait steps are not
// triggers here). The outage began between the last good send and the
// first bad one, or a little later for a request lost in flight, so steps
// up to one more such spacing after the first bad send count. It is "during
// trigger NAME" when that step still ran at the gap's start (or was still
// running when the run ended), "after trigger NAME" when it had ended: a
// link set down over QMP returns in a millisecond, and the bond notices a
// poll later. A gap that began before any trigger is "before any trigger".
// Every gap has one trigger, so the reports' per-event figures and the gap
// table agree.
func GapTrigger(events []triggers.Event, g Gap) string {
	if i := gapEvent(events, g); i >= 0 {
		ev := events[i]
		if ev.Status == triggers.StatusRunning || ev.End < ev.Start || ev.End >= g.Start {
			return "during trigger " + eventName(ev)
		}
		return "after trigger " + eventName(ev)
	}
	return "before any trigger"
}

// gapEvent is the index of the event GapTrigger names for g, -1 if none.
func gapEvent(events []triggers.Event, g Gap) int {
	began := max(g.Began, g.Start) // Began is 0 in gaps made without samples
	latest := began + (began - g.Start)
	best := -1
	for i, ev := range events {
		if ev.Kind == "wait" || ev.Start > latest {
			continue
		}
		if best < 0 || ev.Start >= events[best].Start {
			best = i
		}
	}
	return best
}

// eventName is how failures refer to ev.
func eventName(ev triggers.Event) string {
	if ev.Name != "" {
		return ev.Name
	}
	return ev.Kind
}

// FormatSeconds formats d in seconds with two decimals and the unit, as
// every report shows durations: "2.31 s".
func FormatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// formatLimit formats a threshold as briefly as the user would write it:
// "2 s", "0.5 s".
func formatLimit(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
