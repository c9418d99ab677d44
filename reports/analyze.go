package reports

import (
	"cmp"
	"slices"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// Analyze groups samples by (probe, address), orders each group by Seq,
// computes every ProbeResult, then the verdict against meta.Thresholds.
//
// Results follow meta.Probes, one per entry, matched by name and address
// (or by name alone, when the probe reported another address than the one
// it was given, e.g. a resolved hostname); a probe with no samples gets an
// empty result. Groups that meta does not know follow, by name and address,
// with the interval inferred from their schedule.
//
// Per probe, Sent counts distinct Seqs, Received the answered ones (slow
// answers and stalls included), Lost the rest; RTT stats cover the answered
// ones. Session results are filled for kinds ssh and tcp, RebootDetected for
// snmp. The result of a failover address is folded into its primary's
// (see mergeFailover); FailoverFirstAnswer is −1 where there is none.
//
// A gap still open at the end of a probe's samples runs to the run's last
// known time: the latest Sent of any sample of the run.
//
// Analyze reads samples but never changes or keeps them, and allocates per
// group, not per sample.
func Analyze(meta Meta, samples []probes.Sample, events []triggers.Event) *Run {
	gs, order, end := groupSamples(samples)
	metas := matchMeta(meta.Probes, gs)

	var (
		slots []int32
		rtts  []float64
	)
	results := make([]ProbeResult, len(metas))
	for i, m := range metas {
		var idx []int32
		if m.group >= 0 {
			g := gs[m.group]
			idx = orderBySeq(samples, order[g.off:g.off+g.n], &slots)
		}
		results[i] = analyzeProbe(m.pm, view{s: samples, idx: idx}, end, &rtts)
	}
	mergeFailover(results)
	run := &Run{Meta: meta, Probes: results, Groups: Groups(results), Events: events}
	run.Verdict = Evaluate(run)
	return run
}

// group is the samples of one (probe, address) pair.
type group struct {
	probe, address, target string
	n, off                 int // count, and start of its indexes in the order
}

type groupKey struct{ probe, address string }

// groupSamples buckets the indexes of samples by (probe, address), keeping
// arrival order within each group, and returns the latest Sent seen.
func groupSamples(samples []probes.Sample) (gs []group, order []int32, end time.Duration) {
	ids := map[groupKey]int32{}
	gid := make([]int32, len(samples))
	last := int32(-1)
	for i := range samples {
		s := &samples[i]
		end = max(end, s.Sent)
		// Most runs have a handful of probes: try the previous group
		// before hashing.
		if last >= 0 && gs[last].probe == s.Probe && gs[last].address == s.Address {
			gid[i] = last
			gs[last].n++
			continue
		}
		id, ok := ids[groupKey{s.Probe, s.Address}]
		if !ok {
			id = int32(len(gs))
			ids[groupKey{s.Probe, s.Address}] = id
			gs = append(gs, group{probe: s.Probe, address: s.Address, target: s.Target})
		}
		gid[i], last = id, id
		gs[id].n++
	}
	off := 0
	for i := range gs {
		gs[i].off = off
		off += gs[i].n
	}
	// A counting sort by group: stable, so arrival order survives.
	order = make([]int32, len(samples))
	fill := make([]int, len(gs))
	for i, g := range gid {
		order[gs[g].off+fill[g]] = int32(i)
		fill[g]++
	}
	return gs, order, end
}

// metaGroup pairs a probe's description with its samples' group (or -1).
type metaGroup struct {
	pm    ProbeMeta
	group int
}

// matchMeta pairs meta's probes with the sample groups: first by name and
// address, then leftover groups by name alone; groups meta lacks are added.
func matchMeta(pms []ProbeMeta, gs []group) []metaGroup {
	out := make([]metaGroup, len(pms))
	used := make([]bool, len(gs))
	byKey := make(map[groupKey]int, len(gs))
	for i, g := range gs {
		byKey[groupKey{g.probe, g.address}] = i
	}
	for i, pm := range pms {
		out[i] = metaGroup{pm: pm, group: -1}
		if j, ok := byKey[groupKey{pm.Name, pm.Address}]; ok && !used[j] {
			out[i].group, used[j] = j, true
		}
	}
	for i := range out {
		if out[i].group >= 0 {
			continue
		}
		for j, g := range gs {
			if !used[j] && g.probe == out[i].pm.Name {
				out[i].group, used[j] = j, true
				out[i].pm.Address = g.address
				break
			}
		}
	}
	var extra []metaGroup
	for j, g := range gs {
		if !used[j] {
			extra = append(extra, metaGroup{pm: ProbeMeta{Name: g.probe, Target: g.target, Address: g.address}, group: j})
		}
	}
	slices.SortFunc(extra, func(a, b metaGroup) int {
		return cmp.Or(cmp.Compare(a.pm.Name, b.pm.Name), cmp.Compare(a.pm.Address, b.pm.Address))
	})
	return append(out, extra...)
}

// analyzeProbe computes one probe's result from its samples in Seq order.
// rtts is scratch space reused across probes.
func analyzeProbe(pm ProbeMeta, v view, end time.Duration, rtts *[]float64) ProbeResult {
	if pm.Interval <= 0 {
		pm.Interval = inferInterval(v)
	}
	r := ProbeResult{ProbeMeta: pm, Sent: v.len(), FailoverFirstAnswer: -1, firstGoodSent: -1}
	if v.len() == 0 {
		return r
	}
	session := isSessionKind(pm.Kind)
	r.Gaps, r.MaxStall = scanGaps(&pm, v, end, session)
	for _, g := range r.Gaps {
		r.MaxGap = max(r.MaxGap, g.Duration())
	}
	r.RTT, r.Received = rttStats(v, rtts)
	r.Lost = r.Sent - r.Received
	if session {
		r.Sessions, r.Survived, r.Resets = sessions(&pm, v)
	}
	if pm.Kind == "snmp" {
		r.RebootDetected = rebooted(v)
	}
	r.Points = points(v)
	if pm.FailoverFor != "" {
		r.firstGoodSent, r.FailoverFirstAnswer = firstGood(&pm, v)
	}
	return r
}

// maxPlotPoints bounds the points a timeline lane keeps per probe; every
// lost point is kept besides.
const maxPlotPoints = 4000

// points lists the attempts for the timeline, thinned to what a lane can
// show.
func points(v view) []Point {
	pts := make([]Point, v.len())
	for i := range pts {
		s := v.at(i)
		pts[i] = Point{Sent: s.Sent, RTT: s.RTT, Lost: s.Lost}
	}
	return Decimate(pts, maxPlotPoints)
}

// inferInterval estimates a probe's interval from its schedule, for samples
// whose run metadata is missing.
func inferInterval(v view) time.Duration {
	if v.len() < 2 {
		return 0
	}
	a, b := v.at(0), v.at(v.len()-1)
	if b.Seq <= a.Seq || b.Scheduled <= a.Scheduled {
		return 0
	}
	return (b.Scheduled - a.Scheduled) / time.Duration(b.Seq-a.Seq)
}
