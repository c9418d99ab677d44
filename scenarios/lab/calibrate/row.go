package calibrate

import (
	"fmt"
	"time"
)

// Row is the outcome of one cell. Durations are on the monotonic clock of
// the process that both probed and injected, so they compare directly.
type Row struct {
	Cell
	// Skipped says why the cell was not measured; nothing else is set.
	Skipped string `json:"skipped,omitempty"`
	// Failed says why the measurement did not come off (no answer in the
	// baseline, a probe error); the row does not count as within.
	Failed string `json:"failed,omitempty"`

	Truth time.Duration `json:"truth"` // unblock − block, as the kernel acknowledged them
	// Inject is the longer of the two netlink calls (block, unblock): the
	// rule took effect somewhere within its call, so the truth is known to
	// within it.
	Inject time.Duration `json:"inject"`
	// Expected is what the probe should measure. For icmp and snmp it is
	// the truth. A session probe's gap is the span of send times whose
	// answers took longer than its stall threshold: truth + CaughtUp −
	// Stall (at least 0).
	Expected time.Duration `json:"expected"`
	Measured time.Duration `json:"measured"` // the gap overlapping the outage; 0 if none
	Bound    time.Duration `json:"bound"`    // the gap's stated bound: the outage lies in [Measured − Bound, Measured]
	Lost     int           `json:"lost"`     // attempts lost or stalled in that gap
	Seen     bool          `json:"seen"`     // a gap overlapped the outage
	Gaps     int           `json:"gaps"`     // gaps overlapping the outage (more than 1: split)
	// Spurious counts the gaps outside the outage: false alarms.
	Spurious int `json:"spurious"`
	// Retrans, for session probes, is TCP's retransmission delay: from the
	// unblock to the first answer that arrived after it. It is part of
	// what a session's user sees, but not of the network's outage.
	Retrans time.Duration `json:"retrans"`
	// CaughtUp, for session probes, is from the unblock to the answer of
	// the last attempt sent before it: when the session had answered
	// everything the outage held up (both directions' retransmissions,
	// and the probe's own queue). The stall ends there.
	CaughtUp time.Duration `json:"caught_up"`
	// Stall is the stall threshold of a session probe (answers slower
	// than this are bad), which the bound includes.
	Stall time.Duration `json:"stall,omitempty"`
	// Survived: a session probe kept its session through the outage.
	Survived bool `json:"survived,omitempty"`

	Within bool   `json:"within"`
	Note   string `json:"note,omitempty"`
}

// Diff is the error of the measurement: Measured − Truth.
func (r Row) Diff() time.Duration { return r.Measured - r.Truth }

// judge sets Expected, Within and Note from the measured figures.
//
// A seen gap is within when Expected lies in [Measured − Bound, Measured],
// widened on each side by InFlight and by the injection's uncertainty. An
// outage no gap overlaps is within when Expected was no longer than the
// spacing of the two attempts around it, which is then its bound: the
// probe could not have seen it.
func (r *Row) judge() {
	if r.Skipped != "" || r.Failed != "" {
		r.Within = false
		return
	}
	r.Expected = r.Truth
	if isSession(r.Kind) {
		r.Expected = max(0, r.Truth+r.CaughtUp-r.Stall)
	}
	slack := InFlight + r.Inject
	lo, hi := r.Measured-r.Bound-slack, r.Measured+slack
	if !r.Seen {
		lo, hi = 0, r.Bound+slack
		if isSession(r.Kind) && r.Expected == 0 {
			r.addNote("no gap: the stall stayed under the threshold")
		} else {
			r.addNote("no gap: no attempt fell into the outage")
		}
	}
	r.Within = r.Expected >= lo && r.Expected <= hi
	if r.Inject > time.Millisecond {
		r.addNote(fmt.Sprintf("a netlink call took %s ms", ms(r.Inject)))
	}
	if r.Spurious > 0 {
		r.addNote(fmt.Sprintf("%d gap(s) outside the outage", r.Spurious))
	}
	if r.Gaps > 1 {
		r.addNote("the outage split into several gaps")
	}
	if isSession(r.Kind) && !r.Survived {
		r.addNote("the session did not survive")
	}
}

func (r *Row) addNote(s string) {
	if r.Note != "" {
		r.Note += "; "
	}
	r.Note += s
}
