package reports

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The files downtime compare writes.
const (
	CompareFile     = "compare.md"
	ComparePlotFile = "compare.png"
	CompareHTMLFile = "compare.html"
)

// RunSet is one side of a comparison: a run directory, or a directory of
// repeated runs (BASE/r01, r02, ...), each loaded and analysed.
type RunSet struct {
	Dir   string
	Runs  []*Run
	Names []string // of the runs, relative to Dir ("." for a single run)
}

// LoadRunSet loads dir as a single run when it holds meta.json, else every
// subdirectory that does, in name order. It fails when there is no run.
func LoadRunSet(dir string) (RunSet, error) {
	set := RunSet{Dir: dir}
	if _, err := os.Stat(filepath.Join(dir, MetaFile)); err == nil {
		run, err := LoadDir(dir)
		if err != nil {
			return set, err
		}
		set.Runs, set.Names = []*Run{run}, []string{"."}
		return set, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return set, err
	}
	for _, e := range entries { // ReadDir sorts by name
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, MetaFile)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		run, err := LoadDir(sub)
		if err != nil {
			return set, err
		}
		set.Runs, set.Names = append(set.Runs, run), append(set.Names, e.Name())
	}
	if len(set.Runs) == 0 {
		return set, fmt.Errorf("%s: no run here (no %s, nor subdirectories with one)", dir, MetaFile)
	}
	return set, nil
}

// Tolerance is how much worse a candidate may be before it counts as a
// regression: a share of the base median, or an absolute amount.
type Tolerance struct {
	Pct float64       // percent of the base median; used when Abs is 0
	Abs time.Duration // for durations; for lost attempts, divided by the probe's interval
}

// ParseTolerance reads "10%" or a duration such as "50ms".
func ParseTolerance(s string) (Tolerance, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return Tolerance{}, fmt.Errorf("tolerance %q: not a percentage", s)
		}
		return Tolerance{Pct: v}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Tolerance{}, fmt.Errorf("tolerance %q: want a percentage (10%%) or a duration (50ms)", s)
	}
	return Tolerance{Abs: d}, nil
}

func (t Tolerance) String() string {
	if t.Abs > 0 {
		return t.Abs.String()
	}
	return strconv.FormatFloat(t.Pct, 'f', -1, 64) + "%"
}

// Change is the verdict on one metric or subject.
type Change string

// The verdicts of a comparison.
const (
	Regressed   Change = "regressed"
	Improved    Change = "improved"
	NoChange    Change = "no significant change"
	NotCompared Change = "not compared" // measured on one side only
)

// Significance is the p-value below which a change counts.
const Significance = 0.05

// Dist is the values of one metric over the runs of one side.
type Dist struct {
	Values             []float64 // in run order
	Min, P50, P95, Max float64   // NaN without values
}

func newDist(v []float64) Dist {
	d := Dist{Values: v, Min: math.NaN(), P50: math.NaN(), P95: math.NaN(), Max: math.NaN()}
	if len(v) == 0 {
		return d
	}
	s := slices.Sorted(slices.Values(v))
	d.Min, d.P50, d.P95, d.Max = s[0], quantile7(s, 0.5), quantile7(s, 0.95), s[len(s)-1]
	return d
}

// quantile7 is the p-quantile of sorted s, interpolated as R's default
// (type 7), so the median of an even count is the mean of the middle two.
func quantile7(s []float64, p float64) float64 {
	h := float64(len(s)-1) * p
	lo := int(math.Floor(h))
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// MetricComparison is one metric of one subject, base against candidate.
type MetricComparison struct {
	Subject string // a probe ("ping", "ping 10.0.0.3" in a group) or "trigger NAME"
	Metric  string // max_gap_ms, lost, max_stall_ms, hypervisor_downtime_ms
	Base    Dist
	Cand    Dist
	Delta   float64 // candidate median − base median; NaN when a side is missing
	Allowed float64 // the tolerance in the metric's unit
	P       float64 // two-sided Mann–Whitney p; NaN when no test was possible
	Exact   bool    // P is exact
	Change  Change
	Note    string // why there is no test, or why it cannot be significant
}

// SubjectVerdict sums up a subject: regressed when any metric regressed,
// improved when any improved and none regressed.
type SubjectVerdict struct {
	Subject string
	Change  Change
}

// Comparison is the outcome of downtime compare.
type Comparison struct {
	Base, Cand RunSet
	Tolerance  Tolerance
	Metrics    []MetricComparison
	Subjects   []SubjectVerdict
	Notes      []string
}

// Regressed reports whether any subject regressed.
func (c *Comparison) Regressed() bool {
	return slices.ContainsFunc(c.Subjects, func(s SubjectVerdict) bool { return s.Change == Regressed })
}

// The metrics compared, in report order. Larger is worse for every one.
var compareMetrics = []string{"max_gap_ms", "lost", "max_stall_ms", "hypervisor_downtime_ms"}

// seriesKey names one metric of one subject.
type seriesKey struct{ subject, metric string }

// metricSeries collects, per subject and metric, one value per run, and the
// probe interval per subject (to turn an absolute tolerance into attempts).
type metricSeries struct {
	values   map[seriesKey][]float64
	order    []seriesKey
	interval map[string]time.Duration
}

func (s *metricSeries) add(k seriesKey, v float64) {
	if _, ok := s.values[k]; !ok {
		s.order = append(s.order, k)
	}
	s.values[k] = append(s.values[k], v)
}

// collect gathers the metrics of every run of set: per probe result with
// samples (a failover address's own result aside: it counts in its
// primary's), and per trigger name the largest hypervisor downtime it
// reported in the run.
func collect(set RunSet) *metricSeries {
	s := &metricSeries{values: map[seriesKey][]float64{}, interval: map[string]time.Duration{}}
	for _, run := range set.Runs {
		names := map[string]int{}
		for _, p := range run.Probes {
			if p.FailoverFor == "" {
				names[p.Name]++
			}
		}
		for i := range run.Probes {
			p := &run.Probes[i]
			if p.FailoverFor != "" || p.Sent == 0 {
				continue
			}
			subj := p.Name
			if names[p.Name] > 1 {
				subj += " " + p.Address
			}
			s.interval[subj] = p.Interval
			s.add(seriesKey{subj, "max_gap_ms"}, msFloat(p.MaxGap))
			s.add(seriesKey{subj, "lost"}, float64(p.Lost))
			if isSessionKind(p.Kind) {
				s.add(seriesKey{subj, "max_stall_ms"}, msFloat(p.MaxStall))
			}
		}
		hv := map[string]float64{}
		var order []string
		for _, ev := range run.Events {
			if ev.Hypervisor == nil {
				continue
			}
			name := "trigger " + eventName(ev)
			if old, ok := hv[name]; !ok {
				order = append(order, name)
				hv[name] = ev.Hypervisor.DowntimeMS
			} else {
				hv[name] = max(old, ev.Hypervisor.DowntimeMS)
			}
		}
		for _, name := range order {
			s.add(seriesKey{name, "hypervisor_downtime_ms"}, hv[name])
		}
	}
	return s
}

// Compare compares every metric of base with cand, subject by subject.
//
// A metric regressed when the candidate's median is worse (larger) than
// the base's by more than the tolerance and the Mann–Whitney test gives
// p < 0.05; improved when it is better by more than the tolerance with
// p < 0.05; otherwise there is no significant change. With a single run on
// a side no test is possible: the medians are compared against the
// tolerance alone, and the note says so.
func Compare(base, cand RunSet, tol Tolerance) *Comparison {
	c := &Comparison{Base: base, Cand: cand, Tolerance: tol}
	bs, cs := collect(base), collect(cand)
	keys := slices.Clone(bs.order)
	for _, k := range cs.order {
		if _, ok := bs.values[k]; !ok {
			keys = append(keys, k)
		}
	}
	// Subjects in first-seen order, metrics in report order within each.
	rank := map[string]int{}
	for _, k := range keys {
		if _, ok := rank[k.subject]; !ok {
			rank[k.subject] = len(rank)
		}
	}
	slices.SortStableFunc(keys, func(a, b seriesKey) int {
		return cmp.Or(cmp.Compare(rank[a.subject], rank[b.subject]),
			cmp.Compare(slices.Index(compareMetrics, a.metric), slices.Index(compareMetrics, b.metric)))
	})
	verdicts := map[string]Change{}
	for _, k := range keys {
		interval := cmp.Or(cs.interval[k.subject], bs.interval[k.subject])
		mc := compareMetric(k, bs.values[k], cs.values[k], tol, interval)
		c.Metrics = append(c.Metrics, mc)
		verdicts[k.subject] = worse(verdicts[k.subject], mc.Change)
	}
	for s := range rank {
		c.Subjects = append(c.Subjects, SubjectVerdict{Subject: s, Change: verdicts[s]})
	}
	slices.SortFunc(c.Subjects, func(a, b SubjectVerdict) int { return cmp.Compare(rank[a.Subject], rank[b.Subject]) })

	for _, side := range []struct {
		label string
		set   RunSet
	}{{"base", base}, {"candidate", cand}} {
		for i, r := range side.set.Runs {
			if r.Partial {
				c.Notes = append(c.Notes, fmt.Sprintf("%s run %s is partial: %s; its figures cover only what was recorded",
					side.label, side.set.Names[i], orDefault(r.Reason, "the run did not finish")))
			}
		}
	}
	if b, a := scenarioNames(base), scenarioNames(cand); b != a {
		c.Notes = append(c.Notes, fmt.Sprintf("the sides ran different scenarios: base %s, candidate %s", b, a))
	}
	return c
}

func scenarioNames(set RunSet) string {
	var names []string
	for _, r := range set.Runs {
		if !slices.Contains(names, r.Meta.Scenario) {
			names = append(names, r.Meta.Scenario)
		}
	}
	return strings.Join(names, ", ")
}

// worse combines the verdicts of a subject's metrics.
func worse(a, b Change) Change {
	for _, c := range []Change{Regressed, Improved, NoChange, NotCompared} {
		if a == c || b == c {
			return c
		}
	}
	return b
}

// compareMetric judges one metric.
func compareMetric(k seriesKey, base, cand []float64, tol Tolerance, interval time.Duration) MetricComparison {
	mc := MetricComparison{Subject: k.subject, Metric: k.metric, Base: newDist(base), Cand: newDist(cand),
		Delta: math.NaN(), P: math.NaN()}
	if len(base) == 0 || len(cand) == 0 {
		side := "base"
		if len(base) == 0 {
			side = "candidate"
		}
		mc.Change, mc.Note = NotCompared, "measured in the "+side+" only"
		return mc
	}
	mc.Delta = mc.Cand.P50 - mc.Base.P50
	mc.Allowed = allowed(k.metric, mc.Base.P50, tol, interval)
	beyond := math.Abs(mc.Delta) > mc.Allowed
	direction := Regressed
	if mc.Delta < 0 {
		direction = Improved
	}
	if len(base) < 2 || len(cand) < 2 {
		mc.Note = "a single run: no significance test is possible, judged against the tolerance alone"
		mc.Change = NoChange
		if beyond {
			mc.Change = direction
		}
		return mc
	}
	_, mc.P, mc.Exact = MannWhitneyU(base, cand)
	if minP := minTwoSidedP(len(base), len(cand)); minP >= Significance {
		mc.Note = fmt.Sprintf("%d and %d runs: p cannot go below %.2f, so no change can be significant; repeat more (4 each at least)",
			len(base), len(cand), minP)
	}
	mc.Change = NoChange
	if beyond && mc.P < Significance {
		mc.Change = direction
	}
	return mc
}

// allowed is the tolerance for a metric whose base median is median: a
// share of it, or the absolute amount (in attempts, for lost: the amount
// over the probe's interval).
func allowed(metric string, median float64, tol Tolerance, interval time.Duration) float64 {
	if tol.Abs <= 0 {
		return math.Abs(median) * tol.Pct / 100
	}
	if metric == "lost" {
		if interval <= 0 {
			return 0
		}
		return math.Floor(float64(tol.Abs) / float64(interval))
	}
	return msFloat(tol.Abs)
}
