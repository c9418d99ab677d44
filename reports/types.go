// Package reports turns the samples and events of a run into gaps, a verdict
// and the files a change review needs: CSV, JSON, Markdown and a PNG timeline.
//
// Everything here works from plain data (probes.Sample, triggers.Event and
// the run's Meta), so a report can be rebuilt from the files of a finished
// run.
package reports

import (
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// ProbeMeta describes one probe of a run: what analysis needs to know
// beyond its samples. For a group target there is one per member address.
type ProbeMeta struct {
	Name     string        `json:"name"`
	Kind     string        `json:"kind"`
	Target   string        `json:"target"`
	Address  string        `json:"address"`
	Interval time.Duration `json:"-"`
	Timeout  time.Duration `json:"-"`
	// Stall: an answer slower than this counts as a stall (session probes);
	// 0 means only lost attempts break the service.
	Stall time.Duration `json:"-"`
	// FailoverFor, on the probe of a target's failover_address, names the
	// primary address it stands in for: the analysis folds its answers
	// into the primary's result (a gap ends when either address answers).
	FailoverFor string `json:"failover_for,omitempty"`
}

// Threshold is the limits one probe must stay within. Zero values are unset.
type Threshold struct {
	MaxGap     time.Duration `json:"-"`
	MaxLost    *int          `json:"max_lost,omitempty"`
	MaxLossPct *float64      `json:"max_loss_pct,omitempty"`
	MaxStall   time.Duration `json:"-"`
	Survive    bool          `json:"survive,omitempty"`
	// MaxTimeToFailoverAddress limits the time from the start of the first
	// trigger until the failover address first answers (see Checks).
	MaxTimeToFailoverAddress time.Duration `json:"-"`
	// MaxHypervisorDowntime limits the downtime every event's hypervisor
	// reports.
	MaxHypervisorDowntime time.Duration `json:"-"`
}

// Meta is what a run directory knows about its run before the first sample:
// written at start (meta.json), so a killed run can still be reported.
type Meta struct {
	Scenario   string               `json:"scenario"`
	File       string               `json:"file"`
	Started    time.Time            `json:"started"`
	Probes     []ProbeMeta          `json:"probes"`
	Thresholds map[string]Threshold `json:"thresholds"` // by probe name
	Tool       string               `json:"tool"`       // version
	Host       string               `json:"host"`
	Lab        string               `json:"lab,omitempty"` // note for lab runs (e.g. "QEMU TCG")
	// For before/after comparisons: the kernel of the machine that probed,
	// and the SHA-256 of the scenario file (a copy is kept as scenario.yaml).
	Kernel       string `json:"kernel,omitempty"`
	ScenarioHash string `json:"scenario_sha256,omitempty"`
}

// Gap is one interruption seen by one probe: from the last good attempt
// before it to the first good one after it.
type Gap struct {
	Start    time.Duration // send time of the last good attempt before (or the first lost one, if open at the start)
	Began    time.Duration // send time of the first bad attempt: the outage began in (Start, Began]
	End      time.Duration // send time of the first good attempt after (or the last attempt, if open at the end)
	Bound    time.Duration // resolution: the outage lies in [Duration−Bound, Duration]; two intervals (one per edge) plus the scheduling lateness seen, plus the stall threshold for session probes
	Lost     int           // attempts lost or stalled within
	Open     bool          // the run started or ended inside the gap
	FirstSeq uint64        // first bad attempt
	LastSeq  uint64        // last bad attempt
}

// Duration is the reported length of the gap: End − Start.
func (g Gap) Duration() time.Duration { return g.End - g.Start }

// ProbeResult is the analysis of one probe (one address of it).
type ProbeResult struct {
	ProbeMeta
	Sent     int
	Received int
	Lost     int
	MaxGap   time.Duration
	Gaps     []Gap
	RTT      RTTStats
	// Session probes (ssh, tcp).
	Sessions int           // connection generations seen (1 = never reset)
	Survived bool          // the first session lasted the whole run
	Resets   []Reset       // each time a session was lost
	MaxStall time.Duration // longest stall of a live session
	// snmp: the agent's uptime went backwards, so the guest rebooted.
	RebootDetected bool
	// failover_address: run time of the first answer from the failover
	// address; negative when it never answered (or there is none).
	FailoverFirstAnswer time.Duration
	// FailoverAddress is the target's failover address folded into this
	// result, if any.
	FailoverAddress string
	// firstGoodSent is when the first good attempt of a failover address
	// was sent (−1 if none): where, by the gap rules, its silence ended.
	firstGoodSent time.Duration
	// Points are the attempts in Seq order, answered and lost, for the
	// timeline plot; Analyze fills them, possibly thinned by Decimate
	// (every lost attempt kept, the slowest answer per bucket kept).
	Points []Point `json:"-"`
}

// Point is one attempt as the timeline plots it.
type Point struct {
	Sent time.Duration // send time, offset from run start
	RTT  time.Duration // round trip of an answered attempt
	Lost bool          // no (good) answer
}

// Reset is one lost session and how long a new one took to open.
type Reset struct {
	At        time.Duration // when the session was declared lost
	Reconnect time.Duration // from At until a new session answered; negative if never
	Err       string
}

// RTTStats summarises the answered attempts.
type RTTStats struct {
	Min, Median, P95, Max time.Duration
}

// Verdict is the outcome against the thresholds.
type Verdict struct {
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures"`
}

// Run is a whole analysed run: the input of every writer.
type Run struct {
	Meta    Meta
	Probes  []ProbeResult
	Groups  []GroupResult // probes of group targets, summed up per group
	Events  []triggers.Event
	Verdict Verdict
	Partial bool   // interrupted, or rebuilt from a killed run
	Reason  string // why partial / why the run could not be carried out
}
