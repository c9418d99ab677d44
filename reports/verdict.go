package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// Evaluate checks run against run.Meta.Thresholds and says why it failed,
// in words a reviewer understands.
//
// A probe's limits are Thresholds[its name], else Thresholds[its kind]; a
// probe with neither is not judged. It fails when its longest gap (an open
// one included) is over max_gap, its lost attempts over max_lost or
// max_loss_pct, its longest stall of a live session over max_stall, when
// survive is set and its session did not survive (session kinds only), and
// when it has limits but no samples. A trigger that failed or timed out
// fails the run too: its failure is measured, but not passed over.
func Evaluate(run *Run) Verdict {
	if run == nil {
		return Verdict{Failures: []string{"no run to evaluate"}}
	}
	failures := []string{}
	for _, ev := range run.Events {
		if msg := triggerFailure(ev); msg != "" {
			failures = append(failures, msg)
		}
	}
	names := make(map[string]int, len(run.Probes))
	for _, pr := range run.Probes {
		names[pr.Name]++
	}
	for i := range run.Probes {
		pr := &run.Probes[i]
		t, ok := run.Meta.Thresholds[pr.Name]
		if !ok {
			if t, ok = run.Meta.Thresholds[pr.Kind]; !ok {
				continue
			}
		}
		label := pr.Name
		if names[pr.Name] > 1 {
			label += " " + pr.Address // one result per member of a group
		}
		failures = append(failures, probeFailures(label, pr, t, run.Events)...)
	}
	return Verdict{Pass: len(failures) == 0, Failures: failures}
}

// probeFailures lists how pr breaks t.
func probeFailures(label string, pr *ProbeResult, t Threshold, events []triggers.Event) []string {
	if pr.Sent == 0 {
		return []string{label + ": no samples"}
	}
	var out []string
	if t.MaxGap > 0 && pr.MaxGap > t.MaxGap {
		g := longest(pr.Gaps, pr.MaxGap)
		open := ""
		if g.Open {
			open = " (open)"
		}
		out = append(out, fmt.Sprintf("%s: max gap %s%s > %s %s",
			label, FormatSeconds(g.Duration()), open, formatLimit(t.MaxGap), GapTrigger(events, g)))
	}
	if t.MaxLost != nil && pr.Lost > *t.MaxLost {
		out = append(out, fmt.Sprintf("%s: lost %d > %d", label, pr.Lost, *t.MaxLost))
	}
	if t.MaxLossPct != nil {
		if pct := 100 * float64(pr.Lost) / float64(pr.Sent); pct > *t.MaxLossPct {
			out = append(out, fmt.Sprintf("%s: loss %.2f%% > %s%%",
				label, pct, strconv.FormatFloat(*t.MaxLossPct, 'f', -1, 64)))
		}
	}
	if t.MaxStall > 0 && pr.MaxStall > t.MaxStall {
		g := longest(pr.Gaps, pr.MaxStall)
		out = append(out, fmt.Sprintf("%s: max stall %s > %s %s",
			label, FormatSeconds(pr.MaxStall), formatLimit(t.MaxStall), GapTrigger(events, g)))
	}
	if t.Survive && isSessionKind(pr.Kind) && !pr.Survived {
		out = append(out, fmt.Sprintf("%s: session did not survive (%s)", label, survival(pr, events)))
	}
	return out
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

// triggerFailure describes a trigger that failed or timed out, or returns "".
func triggerFailure(ev triggers.Event) string {
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

// GapTrigger names the trigger window g fell into, for reports: "during
// trigger NAME" for the event whose [Start, End] overlaps g the most (an
// event still running when the run ended overlaps everything after its
// start), else "after trigger NAME" for the latest event that started
// before g, else "before any trigger". Wait steps are not triggers here.
func GapTrigger(events []triggers.Event, g Gap) string {
	during, after := -1, -1
	var most time.Duration = -1
	for i, ev := range events {
		if ev.Kind == "wait" {
			continue
		}
		end := ev.End
		if ev.Status == triggers.StatusRunning || end < ev.Start {
			end = math.MaxInt64
		}
		if ev.Start <= g.End && end >= g.Start {
			if o := min(end, g.End) - max(ev.Start, g.Start); o > most {
				during, most = i, o
			}
		} else if ev.Start < g.Start && (after < 0 || ev.Start >= events[after].Start) {
			after = i
		}
	}
	switch {
	case during >= 0:
		return "during trigger " + eventName(events[during])
	case after >= 0:
		return "after trigger " + eventName(events[after])
	default:
		return "before any trigger"
	}
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
