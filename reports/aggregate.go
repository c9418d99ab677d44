package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Repeated runs of one scenario (`repeat: N`) are summed up here: per
// probe the distribution of its figures over the repeats, and a verdict
// over all of them.

// RepeatVerdict modes.
const (
	// RepeatAll passes only if every repeat passed.
	RepeatAll = "all"
	// RepeatP95 passes a limit when it held in at least 95 % of the
	// repeats: a p95 under the limit. With fewer than 20 repeats that is
	// every one of them, since 5 % of the runs is less than one run.
	RepeatP95 = "p95"
)

// Aggregate is the summary of repeated runs (aggregate.json).
type Aggregate struct {
	Scenario string           `json:"scenario"`
	Repeats  []RepeatSummary  `json:"repeats"`
	Probes   []AggregateProbe `json:"probes"`
	Events   []AggregateEvent `json:"events,omitempty"`
	Verdict  AggregateVerdict `json:"verdict"`
}

// RepeatSummary is one repeat's outcome.
type RepeatSummary struct {
	Dir     string `json:"dir"`
	Pass    bool   `json:"pass"`
	Partial bool   `json:"partial"`
}

// AggregateProbe is one probe (one address) over the repeats.
type AggregateProbe struct {
	Name       string           `json:"name"`
	Address    string           `json:"address"`
	MaxGapMS   QuantileSummary  `json:"max_gap_ms"`
	Lost       QuantileSummary  `json:"lost"`
	MaxStallMS *QuantileSummary `json:"max_stall_ms,omitempty"`
}

// AggregateEvent is one trigger's hypervisor downtime over the repeats.
type AggregateEvent struct {
	Name                 string          `json:"name"`
	HypervisorDowntimeMS QuantileSummary `json:"hypervisor_downtime_ms"`
}

// AggregateVerdict is the verdict over the repeats.
type AggregateVerdict struct {
	Mode     string   `json:"mode"`
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures"`
}

// quantiles sums up values in four figures, as compare does (R's type 7
// quantiles), so an aggregate and a comparison of the same runs agree.
func quantiles(v []float64) QuantileSummary {
	if len(v) == 0 {
		return QuantileSummary{}
	}
	d := newDist(v)
	return QuantileSummary{Min: d.Min, P50: d.P50, P95: d.P95, Max: d.Max}
}

// AggregateRuns sums up the repeats (in order) under mode.
func AggregateRuns(runs []*Run, dirs []string, mode string) Aggregate {
	if mode == "" {
		mode = RepeatAll
	}
	a := Aggregate{Verdict: AggregateVerdict{Mode: mode, Failures: []string{}}}
	type series struct{ gap, lost, stall []float64 }
	var order []string
	by := map[string]*series{}
	names := map[string][2]string{}
	var evOrder []string
	hyper := map[string][]float64{}
	failedChecks := map[string]int{}
	var checkOrder []string
	for i, run := range runs {
		if a.Scenario == "" {
			a.Scenario = run.Meta.Scenario
		}
		a.Repeats = append(a.Repeats, RepeatSummary{Dir: dirs[i], Pass: run.Verdict.Pass, Partial: run.Partial})
		for _, p := range run.Probes {
			if p.FailoverFor != "" {
				continue
			}
			k := p.Name + "\x00" + p.Address
			s := by[k]
			if s == nil {
				s = &series{}
				by[k] = s
				order = append(order, k)
				names[k] = [2]string{p.Name, p.Address}
			}
			s.gap = append(s.gap, msFloat(p.MaxGap))
			s.lost = append(s.lost, float64(p.Lost))
			if isSessionKind(p.Kind) {
				s.stall = append(s.stall, msFloat(p.MaxStall))
			}
		}
		for _, e := range run.Events {
			if e.Hypervisor == nil {
				continue
			}
			if _, ok := hyper[e.Name]; !ok {
				evOrder = append(evOrder, e.Name)
			}
			hyper[e.Name] = append(hyper[e.Name], e.Hypervisor.DowntimeMS)
		}
		// Every limit that failed in a repeat, counted once per repeat.
		var keys []string
		for _, ev := range run.Events {
			if TriggerFailure(ev) != "" {
				keys = append(keys, "trigger "+ev.Name+" did not succeed")
			}
		}
		for _, c := range Checks(run) {
			if c.Failure != "" {
				keys = append(keys, c.Label+": "+c.Limit)
			}
		}
		for _, key := range keys {
			if failedChecks[key] == 0 {
				checkOrder = append(checkOrder, key)
			}
			failedChecks[key]++
		}
		if run.Partial {
			a.Verdict.Failures = append(a.Verdict.Failures, fmt.Sprintf("repeat %d (%s) is partial: %s", i+1, dirs[i], run.Reason))
		}
	}
	for _, k := range order {
		s := by[k]
		ap := AggregateProbe{Name: names[k][0], Address: names[k][1], MaxGapMS: quantiles(s.gap), Lost: quantiles(s.lost)}
		if len(s.stall) > 0 {
			q := quantiles(s.stall)
			ap.MaxStallMS = &q
		}
		a.Probes = append(a.Probes, ap)
	}
	for _, name := range evOrder {
		a.Events = append(a.Events, AggregateEvent{Name: name, HypervisorDowntimeMS: quantiles(hyper[name])})
	}
	n := len(runs)
	for _, key := range checkOrder {
		failed := failedChecks[key]
		// p95: the limit may fail in at most 5 % of the repeats.
		if mode == RepeatAll || float64(failed) > 0.05*float64(n) {
			a.Verdict.Failures = append(a.Verdict.Failures, fmt.Sprintf("%s (failed in %d of %d repeats)", key, failed, n))
		}
	}
	a.Verdict.Pass = len(a.Verdict.Failures) == 0 && n > 0
	return a
}

// WriteAggregateJSON writes aggregate.json content.
func WriteAggregateJSON(w io.Writer, a Aggregate) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

// WriteAggregateMarkdown writes aggregate.md: the repeats, the
// distributions and the verdict, ready for a change review.
func WriteAggregateMarkdown(w io.Writer, a Aggregate) error {
	var b strings.Builder
	verdict := "PASS"
	if !a.Verdict.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "# downtime: %s, %d repeats\n\n## Verdict over the repeats (%s): %s\n\n", mdText(a.Scenario), len(a.Repeats), a.Verdict.Mode, verdict)
	for _, f := range a.Verdict.Failures {
		fmt.Fprintf(&b, "- %s\n", mdText(f))
	}
	b.WriteString("\n## Per probe, over the repeats\n\n| probe | address | max gap min | p50 | p95 | max | lost min | p50 | p95 | max | max stall p50 | max |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, p := range a.Probes {
		stall := "– | –"
		if p.MaxStallMS != nil {
			stall = fmtMS(p.MaxStallMS.P50) + " | " + fmtMS(p.MaxStallMS.Max)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %s |\n", mdText(p.Name), mdText(p.Address),
			fmtMS(p.MaxGapMS.Min), fmtMS(p.MaxGapMS.P50), fmtMS(p.MaxGapMS.P95), fmtMS(p.MaxGapMS.Max),
			p.Lost.Min, p.Lost.P50, p.Lost.P95, p.Lost.Max, stall)
	}
	if len(a.Events) > 0 {
		b.WriteString("\n## Hypervisor downtime, over the repeats\n\n| trigger | min | p50 | p95 | max |\n|---|--:|--:|--:|--:|\n")
		for _, e := range a.Events {
			q := e.HypervisorDowntimeMS
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdText(e.Name), fmtMS(q.Min), fmtMS(q.P50), fmtMS(q.P95), fmtMS(q.Max))
		}
	}
	b.WriteString("\n## Repeats\n\n| # | run | verdict |\n|--:|---|---|\n")
	for i, r := range a.Repeats {
		v := "PASS"
		if !r.Pass {
			v = "FAIL"
		}
		if r.Partial {
			v += " (partial)"
		}
		fmt.Fprintf(&b, "| %d | [%s](%s/report.md) | %s |\n", i+1, mdText(r.Dir), r.Dir, v)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
