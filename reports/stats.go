package reports

import (
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"
)

// rttStats summarises the RTTs of the answered samples of v and counts them.
// buf is scratch space reused across probes.
func rttStats(v view, buf *[]float64) (st RTTStats, received int) {
	b := (*buf)[:0]
	for i := range v.len() {
		if s := v.at(i); !s.Lost {
			b = append(b, float64(s.RTT))
		}
	}
	*buf = b
	if len(b) == 0 {
		return st, 0
	}
	slices.Sort(b)
	// Empirical quantiles are always one of the measured RTTs.
	q := func(p float64) time.Duration {
		return time.Duration(math.Round(stat.Quantile(p, stat.Empirical, b, nil)))
	}
	st = RTTStats{
		Min:    time.Duration(b[0]),
		Median: q(0.5),
		P95:    q(0.95),
		Max:    time.Duration(b[len(b)-1]),
	}
	return st, len(b)
}

// sessions follows the connection generations of a session probe through v
// (in Seq order).
//
// A live session ends at the first sample that shows it gone: one whose Err
// says the session was lost, one with Session 0, or one of another Session.
// That sample's Sent is the Reset's At, and its Err the Reset's Err. The end
// of the first session is a Reset too, even when no new session follows.
// Reconnect runs from At to the first good sample of a later session, or is
// −1 if none came. A run that starts without a session has no Reset for it,
// but it did not survive either.
//
// count is the number of distinct positive Session values. survived means
// every sample belongs to one and the same session and none says it was
// lost.
func sessions(pm *ProbeMeta, v view) (count int, survived bool, resets []Reset) {
	var (
		seen       []int // distinct sessions; changes are rare
		prev       int
		live, dead int // the live session (0: none), the latest that ended
		unresolved int // first Reset still waiting for a reconnect
	)
	first := v.at(0).Session
	survived = first > 0
	for i := range v.len() {
		s := v.at(i)
		lost := sessionLost(s)
		if s.Session != first || lost {
			survived = false
		}
		if s.Session > 0 && s.Session != prev {
			if !slices.Contains(seen, s.Session) {
				seen = append(seen, s.Session)
			}
			prev = s.Session
		}
		if live > 0 && (lost || s.Session != live) {
			err := s.Err
			if err == "" {
				err = fmt.Sprintf("session %d replaced by session %d", live, s.Session)
			}
			resets = append(resets, Reset{At: s.Sent, Reconnect: -1, Err: err})
			live, dead = 0, live
		}
		if live == 0 && s.Session > dead && !lost {
			live = s.Session
		}
		if live > 0 && unresolved < len(resets) && good(pm, s) {
			for k := unresolved; k < len(resets); k++ {
				resets[k].Reconnect = s.Sent - resets[k].At
			}
			unresolved = len(resets)
		}
	}
	return len(seen), survived, resets
}

// rebooted reports whether the agent's uptime (Value, in sysUpTime ticks)
// went backwards between consecutive answered samples of v, in Seq order.
// sysUpTime is a 32-bit counter: a fall from near its top to near zero is
// a wrap after 497 days, not a reboot.
func rebooted(v view) bool {
	const wrapHigh, wrapLow = 0xF000_0000, 0x1000_0000
	var prev uint64
	have := false
	for i := range v.len() {
		s := v.at(i)
		if s.Lost {
			continue
		}
		cur, ok := leadingUint(s.Value)
		if !ok {
			continue
		}
		if have && cur < prev && !(prev >= wrapHigh && cur < wrapLow) {
			return true
		}
		prev, have = cur, true
	}
	return false
}

// leadingUint parses the decimal digits that start s ("12345" or
// "12345 ticks"), without allocating.
func leadingUint(s string) (uint64, bool) {
	var n uint64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, i > 0
}
