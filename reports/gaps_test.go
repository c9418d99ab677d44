package reports

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
)

const ms = time.Millisecond

// series makes one probe's samples from a pattern, one attempt per rune,
// sent on schedule every iv: '.' answered in 1 ms, 'x' lost, 's' answered
// slowly (80 ms).
func series(pattern string, iv time.Duration) []probes.Sample {
	out := make([]probes.Sample, 0, len(pattern))
	for i, c := range pattern {
		t := time.Duration(i) * iv
		s := probes.Sample{Probe: "p", Target: "t", Address: "192.0.2.1", Seq: uint64(i), Scheduled: t, Sent: t, RTT: ms}
		switch c {
		case 'x':
			s.Lost, s.RTT, s.Err = true, 0, "timeout"
		case 's':
			s.RTT = 80 * ms
		}
		out = append(out, s)
	}
	return out
}

func TestFindGaps(t *testing.T) {
	icmp := ProbeMeta{Name: "p", Kind: "icmp", Interval: 10 * ms, Timeout: 100 * ms}
	ssh := ProbeMeta{Name: "p", Kind: "ssh", Interval: 10 * ms, Timeout: 100 * ms, Stall: 50 * ms}
	icmpStall := ProbeMeta{Name: "p", Kind: "icmp", Interval: 10 * ms, Timeout: 100 * ms, Stall: 50 * ms}
	tests := []struct {
		name    string
		pm      ProbeMeta
		samples func() []probes.Sample
		want    []Gap
	}{
		{"no loss", icmp, func() []probes.Sample { return series(".....", 10*ms) }, nil},
		{"single loss", icmp, func() []probes.Sample { return series("..x..", 10*ms) },
			[]Gap{{Start: 10 * ms, Began: 20 * ms, End: 30 * ms, Bound: 20 * ms, Lost: 1, FirstSeq: 2, LastSeq: 2}}},
		{"loss at start", icmp, func() []probes.Sample { return series("xx...", 10*ms) },
			[]Gap{{Start: 0, End: 20 * ms, Bound: 20 * ms, Lost: 2, Open: true, FirstSeq: 0, LastSeq: 1}}},
		{"loss at end", icmp, func() []probes.Sample { return series("...xx", 10*ms) },
			[]Gap{{Start: 20 * ms, Began: 30 * ms, End: 40 * ms, Bound: 20 * ms, Lost: 2, Open: true, FirstSeq: 3, LastSeq: 4}}},
		{"all lost", icmp, func() []probes.Sample { return series("xxx", 10*ms) },
			[]Gap{{Start: 0, End: 20 * ms, Bound: 20 * ms, Lost: 3, Open: true, FirstSeq: 0, LastSeq: 2}}},
		{"reordering", icmp, func() []probes.Sample {
			s := series("..xxx...x.", 10*ms)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
			return s
		}, []Gap{
			{Start: 10 * ms, Began: 20 * ms, End: 50 * ms, Bound: 20 * ms, Lost: 3, FirstSeq: 2, LastSeq: 4},
			{Start: 70 * ms, Began: 80 * ms, End: 90 * ms, Bound: 20 * ms, Lost: 1, FirstSeq: 8, LastSeq: 8},
		}},
		{"late reply after the timeout", icmp, func() []probes.Sample {
			s := series("..x..", 10*ms)
			// The probe marks an answer after its timeout lost; a
			// duplicate answered copy of the same Seq must not close the
			// gap either.
			s[2].RTT, s[2].Err = 120*ms, "late reply"
			dup := s[2]
			dup.Lost, dup.Err = false, ""
			return append(s, dup)
		}, []Gap{{Start: 10 * ms, Began: 20 * ms, End: 30 * ms, Bound: 20 * ms, Lost: 1, FirstSeq: 2, LastSeq: 2}}},
		{"two gaps", icmp, func() []probes.Sample { return series(".x..xx.", 10*ms) }, []Gap{
			{Start: 0, Began: 10 * ms, End: 20 * ms, Bound: 20 * ms, Lost: 1, FirstSeq: 1, LastSeq: 1},
			{Start: 30 * ms, Began: 40 * ms, End: 60 * ms, Bound: 20 * ms, Lost: 2, FirstSeq: 4, LastSeq: 5},
		}},
		{"stall threshold for session probes", ssh, func() []probes.Sample { return series("..ss..", 10*ms) },
			[]Gap{{Start: 10 * ms, Began: 20 * ms, End: 40 * ms, Bound: 70 * ms, Lost: 2, FirstSeq: 2, LastSeq: 3}}},
		{"slow answers without a stall threshold", icmp, func() []probes.Sample { return series("..ss..", 10*ms) }, nil},
		// Requests an ARP queue held and answered late are part of the
		// outage once the icmp probe has a stall threshold.
		{"held requests with an icmp stall threshold", icmpStall, func() []probes.Sample { return series("..xxss..", 10*ms) },
			[]Gap{{Start: 10 * ms, Began: 20 * ms, End: 60 * ms, Bound: 70 * ms, Lost: 4, FirstSeq: 2, LastSeq: 5}}},
		// The outage began in (12, 20] and ended in (37, 43]: it lies in
		// [17, 31] ms, so the bound is the two edge spacings, 8 + 6 ms.
		{"late sends at the edges set the bound", icmp, func() []probes.Sample {
			s := series("..xx...", 10*ms)
			s[0].Sent += 9 * ms // before the gap: does not count
			s[1].Sent += 2 * ms // the last good send
			s[3].Sent += 7 * ms // the last bad send
			s[4].Sent += 3 * ms // the first good send
			return s
		}, []Gap{{Start: 12 * ms, Began: 20 * ms, End: 43 * ms, Bound: 14 * ms, Lost: 2, FirstSeq: 2, LastSeq: 3}}},
		{"a skipped slot at an edge widens the bound", icmp, func() []probes.Sample {
			s := series("..x..", 10*ms)
			s[2].Sent += 10 * ms // the ticker dropped a slot: 20 ms spacing
			s[3].Sent += 10 * ms
			s[4].Sent += 10 * ms
			return s
		}, []Gap{{Start: 10 * ms, Began: 30 * ms, End: 40 * ms, Bound: 30 * ms, Lost: 1, FirstSeq: 2, LastSeq: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples := tt.samples()
			in := slices.Clone(samples)
			got := FindGaps(tt.pm, samples)
			if !slices.Equal(got, tt.want) {
				t.Errorf("FindGaps:\n got %+v\nwant %+v", got, tt.want)
			}
			if !slices.EqualFunc(in, samples, func(a, b probes.Sample) bool { return a == b }) {
				t.Error("FindGaps changed its input")
			}
		})
	}
}

func TestFindGapsEmpty(t *testing.T) {
	if got := FindGaps(ProbeMeta{}, nil); got != nil {
		t.Errorf("FindGaps(nil) = %v", got)
	}
}

func TestGapDurationAndOpenEnd(t *testing.T) {
	pm := ProbeMeta{Interval: 10 * ms}
	s := series("..xx", 10*ms)
	idx := []int32{0, 1, 2, 3}
	// The run went on after this probe's last sample: the open gap runs
	// to the run's end.
	gaps, _ := scanGaps(&pm, view{s: s, idx: idx}, 95*ms, false)
	if len(gaps) != 1 || !gaps[0].Open || gaps[0].End != 95*ms || gaps[0].Duration() != 85*ms {
		t.Fatalf("gaps = %+v, want one open gap from 10 ms to 95 ms", gaps)
	}
	// An end before the last sample never shortens the gap.
	gaps, _ = scanGaps(&pm, view{s: s, idx: idx}, 5*ms, false)
	if gaps[0].End != 30*ms {
		t.Errorf("End = %v, want 30ms", gaps[0].End)
	}
}

func TestOrderBySeq(t *testing.T) {
	mk := func(seqs ...uint64) []probes.Sample {
		s := make([]probes.Sample, len(seqs))
		for i, q := range seqs {
			s[i].Seq = q
		}
		return s
	}
	seqs := func(s []probes.Sample, idx []int32) []uint64 {
		var out []uint64
		for _, j := range idx {
			out = append(out, s[j].Seq)
		}
		return out
	}
	tests := []struct {
		name string
		in   []uint64
		want []uint64
	}{
		{"sorted", []uint64{0, 1, 2}, []uint64{0, 1, 2}},
		{"dense shuffled", []uint64{3, 0, 2, 1}, []uint64{0, 1, 2, 3}},
		{"dense with a hole and a duplicate", []uint64{5, 2, 5, 4}, []uint64{2, 4, 5}},
		{"sparse", []uint64{1 << 40, 7, 1 << 62, 7}, []uint64{7, 1 << 40, 1 << 62}},
		{"extremes", []uint64{^uint64(0), 0}, []uint64{0, ^uint64(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mk(tt.in...)
			idx := make([]int32, len(s))
			for i := range idx {
				idx[i] = int32(i)
			}
			var slots []int32
			if got := seqs(s, orderBySeq(s, idx, &slots)); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDuplicateKeepsLostCopy(t *testing.T) {
	for _, sparse := range []bool{false, true} {
		s := series("..x", 10*ms)
		ok := s[2]
		ok.Lost = false
		s = append([]probes.Sample{ok}, s...) // answered copy arrives first
		if sparse {
			s = append(s, probes.Sample{Seq: 1 << 40})
		}
		idx := make([]int32, len(s))
		for i := range idx {
			idx[i] = int32(i)
		}
		idx = orderBySeq(s, idx, nil)
		if !s[idx[2]].Lost {
			t.Errorf("sparse=%v: seq 2 kept the answered copy", sparse)
		}
	}
}
