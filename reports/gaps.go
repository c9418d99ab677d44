package reports

import (
	"strings"
	"time"

	"github.com/downtime-lab/downtime/probes"
)

// sessionLostPrefix starts the Err of a session probe's sample taken while
// its session is gone (a contract with the probes package: such samples are
// Lost and carry Session 0 until a new session opens).
const sessionLostPrefix = "session lost"

// isSessionKind reports whether probes of kind keep one long-lived session.
func isSessionKind(kind string) bool { return kind == "ssh" || kind == "tcp" }

// sessionLost reports whether s says the session it belonged to is gone.
func sessionLost(s *probes.Sample) bool { return strings.HasPrefix(s.Err, sessionLostPrefix) }

// good reports whether s shows the service working: answered within the
// timeout and, when the probe has a stall threshold, no slower than it.
func good(pm *ProbeMeta, s *probes.Sample) bool {
	return !s.Lost && (pm.Stall <= 0 || s.RTT <= pm.Stall)
}

// FindGaps returns the gaps of one probe at one address.
//
// samples are that probe's samples, meant to be sorted by Seq; FindGaps
// orders a private view of them if they are not (the slice itself is left
// alone), and a Seq seen twice counts once, as lost if either copy was.
// A gap open at the end runs to the last sample's Sent.
//
// A sample is good when it was answered within the timeout and, if
// pm.Stall is set, no slower than pm.Stall; a gap is a maximal run of bad
// samples in Seq order. It runs from the Sent of the last good sample before
// it to the Sent of the first good one after it.
//
// Bound is what the samples cannot tell: the outage began between the last
// good send and the first bad one, and ended between the last bad send and
// the first good one, so it lies in [Duration − Bound, Duration] with Bound
// the sum of those two spacings (plus pm.Stall). On schedule that is two
// intervals; lateness or a skipped slot at an edge widens it by exactly
// what it cost. One interval is not enough: an outage of 0.2 ms around a
// send costs one lost sample and a gap of two intervals. A gap with no good sample before it starts at its first bad
// sample, one with none after it ends at the last sample; both are Open.
func FindGaps(pm ProbeMeta, samples []probes.Sample) []Gap {
	if len(samples) == 0 {
		return nil
	}
	idx := make([]int32, len(samples))
	for i := range idx {
		idx[i] = int32(i)
	}
	v := view{s: samples, idx: orderBySeq(samples, idx, nil)}
	gaps, _ := scanGaps(&pm, v, 0, false)
	return gaps
}

// scanGaps finds the gaps of v (ordered by Seq, no duplicate Seq). A gap
// open at the end runs to the later of the last sample's Sent and end.
//
// With session set it also returns the longest gap of a live session: one
// whose samples, bounding ones included, all carry the same positive Session
// and none says the session was lost. Gaps across a reset are not stalls.
func scanGaps(pm *ProbeMeta, v view, end time.Duration, session bool) (gaps []Gap, maxStall time.Duration) {
	n := v.len()
	var (
		inGap    bool
		lastGood = -1 // position of the last good sample
		first    int  // position of the gap's first bad sample
		sess     int  // session of the sample opening the gap
		broken   bool // the gap crosses a session change or loss
	)
	// The outage began between the last good send and the first bad one,
	// and ended between the last bad send and the first good one: those
	// two spacings are the Bound. They hold the interval and any lateness
	// or skipped slot at the edges. An edge the run did not see (an open
	// gap) is charged one interval.
	edge := func(from, to int) time.Duration {
		if from < 0 || to >= n {
			return max(0, pm.Interval)
		}
		return v.at(to).Sent - v.at(from).Sent
	}
	closeGap := func(g Gap, last int, next int) {
		g.Bound = edge(lastGood, first) + edge(last, next) + max(0, pm.Stall)
		gaps = append(gaps, g)
		if session && !broken && g.Duration() > maxStall {
			maxStall = g.Duration()
		}
	}
	for i := 0; i < n; i++ {
		s := v.at(i)
		if good(pm, s) {
			if inGap {
				broken = broken || s.Session != sess
				g := Gap{Began: v.at(first).Sent, End: s.Sent, Lost: i - first, FirstSeq: v.at(first).Seq, LastSeq: v.at(i - 1).Seq}
				if lastGood >= 0 {
					g.Start = v.at(lastGood).Sent
				} else {
					g.Start, g.Open = v.at(first).Sent, true
				}
				closeGap(g, i-1, i)
				inGap = false
			}
			lastGood = i
			continue
		}
		if !inGap {
			inGap, first = true, i
			opener := s
			if lastGood >= 0 {
				opener = v.at(lastGood)
			}
			sess = opener.Session
			broken = sess <= 0 || sessionLost(opener)
		}
		broken = broken || s.Session != sess || sessionLost(s)
	}
	if inGap {
		last := v.at(n - 1)
		g := Gap{Began: v.at(first).Sent, End: max(last.Sent, end), Lost: n - first, Open: true, FirstSeq: v.at(first).Seq, LastSeq: last.Seq}
		if lastGood >= 0 {
			g.Start = v.at(lastGood).Sent
		} else {
			g.Start = v.at(first).Sent
		}
		closeGap(g, n-1, n)
	}
	return gaps, maxStall
}
