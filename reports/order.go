package reports

import (
	"cmp"
	"slices"

	"github.com/downtime-lab/downtime/probes"
)

// view is the samples of one probe at one address in Seq order, as indexes
// into the run's sample slice: ordering a million samples moves 4-byte
// indexes, not 128-byte structs.
type view struct {
	s   []probes.Sample
	idx []int32
}

func (v view) len() int                { return len(v.idx) }
func (v view) at(i int) *probes.Sample { return &v.s[v.idx[i]] }

// orderBySeq puts idx (indexes into s, in arrival order) into Seq order and
// drops repeated Seqs, keeping a lost copy over an answered one so that a
// duplicate never closes a gap. It works in place and returns the shortened
// slice; slots is scratch space it may grow and reuse.
//
// Probes emit in completion order, so a lost attempt arrives after the
// answered ones sent after it: the input is nearly sorted and Seqs are dense.
// Dense Seqs are placed straight into slots by value, with no comparisons;
// sparse ones fall back to a stable sort.
func orderBySeq(s []probes.Sample, idx []int32, slots *[]int32) []int32 {
	if len(idx) < 2 {
		return idx
	}
	lo, hi, sorted := s[idx[0]].Seq, s[idx[0]].Seq, true
	for i := 1; i < len(idx); i++ {
		q := s[idx[i]].Seq
		if q <= s[idx[i-1]].Seq {
			sorted = false
		}
		lo, hi = min(lo, q), max(hi, q)
	}
	if sorted {
		return idx
	}
	span := hi - lo + 1
	if span < hi-lo || span > uint64(2*len(idx)+64) {
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(s[a].Seq, s[b].Seq) })
		return dedupe(s, idx)
	}
	var buf []int32
	if slots != nil {
		buf = *slots
	}
	if uint64(cap(buf)) < span {
		buf = make([]int32, span)
		if slots != nil {
			*slots = buf
		}
	}
	buf = buf[:span]
	for i := range buf {
		buf[i] = -1
	}
	for _, j := range idx {
		k := s[j].Seq - lo
		if prev := buf[k]; prev < 0 || (!s[prev].Lost && s[j].Lost) {
			buf[k] = j
		}
	}
	n := 0
	for _, j := range buf {
		if j >= 0 {
			idx[n] = j
			n++
		}
	}
	return idx[:n]
}

// dedupe drops repeated Seqs from idx (sorted by Seq), keeping a lost copy
// over an answered one.
func dedupe(s []probes.Sample, idx []int32) []int32 {
	n := 0
	for _, j := range idx {
		if n > 0 && s[idx[n-1]].Seq == s[j].Seq {
			if !s[idx[n-1]].Lost && s[j].Lost {
				idx[n-1] = j
			}
			continue
		}
		idx[n] = j
		n++
	}
	return idx[:n]
}
