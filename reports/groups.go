package reports

import (
	"cmp"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"
)

// GroupResult sums up one probe over the members of a group target (seed
// 001: a cluster moves many VMs, queued, each at its own time): how their
// worst gaps are distributed, and which guests fared worst.
type GroupResult struct {
	Probe   string
	Target  string
	Members int
	// Distribution of the members' max gap.
	Min, P50, P95, Max time.Duration
	// Worst are the members with the longest max gap, worst first.
	Worst []Member
}

// Member is one guest of a group and its worst gap.
type Member struct {
	Address string
	MaxGap  time.Duration
	Lost    int
}

// worstShown is how many of a group's worst guests the reports name.
const worstShown = 10

// Groups sums up every probe whose target has more than one address.
func Groups(results []ProbeResult) []GroupResult {
	type key struct{ probe, target string }
	var order []key
	by := map[key][]*ProbeResult{}
	for i := range results {
		p := &results[i]
		if p.FailoverFor != "" {
			continue
		}
		k := key{p.Name, p.Target}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], p)
	}
	var out []GroupResult
	for _, k := range order {
		ms := by[k]
		if len(ms) < 2 {
			continue
		}
		gaps := make([]float64, len(ms))
		members := make([]Member, len(ms))
		for i, p := range ms {
			gaps[i] = float64(p.MaxGap)
			members[i] = Member{Address: p.Address, MaxGap: p.MaxGap, Lost: p.Lost}
		}
		slices.Sort(gaps)
		slices.SortStableFunc(members, func(a, b Member) int {
			return cmp.Or(cmp.Compare(b.MaxGap, a.MaxGap), cmp.Compare(b.Lost, a.Lost))
		})
		q := func(p float64) time.Duration { return time.Duration(stat.Quantile(p, stat.Empirical, gaps, nil)) }
		out = append(out, GroupResult{
			Probe: k.probe, Target: k.target, Members: len(ms),
			Min: time.Duration(gaps[0]), P50: q(0.5), P95: q(0.95), Max: time.Duration(gaps[len(gaps)-1]),
			Worst: members[:min(worstShown, len(members))],
		})
	}
	return out
}
