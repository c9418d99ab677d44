package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// Summary is the content of summary.json: the whole run in figures, for
// machines (CI gates, dashboards, compare). Durations are in milliseconds.
type Summary struct {
	Scenario string         `json:"scenario"`
	File     string         `json:"file,omitempty"`
	Started  time.Time      `json:"started"` // RFC 3339
	Partial  bool           `json:"partial"`
	Reason   string         `json:"reason"`
	Probes   []ProbeSummary `json:"probes"`
	Groups   []GroupSummary `json:"groups,omitempty"`
	Events   []EventSummary `json:"events"`
	Verdict  Verdict        `json:"verdict"`
	Tool     string         `json:"tool"`
	Kernel   string         `json:"kernel,omitempty"`
	// ScenarioHash is the SHA-256 of the scenario file, for before/after
	// comparisons; the hypervisor's version is on each event that read it.
	ScenarioHash string   `json:"scenario_sha256,omitempty"`
	Host         string   `json:"host"`
	Lab          string   `json:"lab,omitempty"`
	Files        []string `json:"files,omitempty"` // what the run directory holds
}

// GroupSummary is one probe over a group target: the distribution of its
// members' max gap, and the worst guests.
type GroupSummary struct {
	Probe    string          `json:"probe"`
	Target   string          `json:"target"`
	Members  int             `json:"members"`
	MaxGapMS QuantileSummary `json:"max_gap_ms"`
	Worst    []MemberSummary `json:"worst"`
}

// QuantileSummary is a distribution in four figures.
type QuantileSummary struct {
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// MemberSummary is one guest of a group.
type MemberSummary struct {
	Address  string  `json:"address"`
	MaxGapMS float64 `json:"max_gap_ms"`
	Lost     int     `json:"lost"`
}

// ProbeSummary is one probe result (one address of a probe).
type ProbeSummary struct {
	Name          string         `json:"name"`
	Kind          string         `json:"kind"`
	Target        string         `json:"target"`
	Address       string         `json:"address"`
	IntervalMS    float64        `json:"interval_ms"`
	TimeoutMS     float64        `json:"timeout_ms"`
	Sent          int            `json:"sent"`
	Received      int            `json:"received"`
	Lost          int            `json:"lost"`
	LossPct       float64        `json:"loss_pct"`
	MaxGapMS      float64        `json:"max_gap_ms"`
	MaxGapBoundMS float64        `json:"max_gap_bound_ms"` // ± of the longest gap
	RTTMS         RTTSummary     `json:"rtt_ms"`
	Gaps          []GapSummary   `json:"gaps"`
	Sessions      int            `json:"sessions,omitempty"`
	Survived      *bool          `json:"survived,omitempty"` // session probes only
	Resets        []ResetSummary `json:"resets"`
	MaxStallMS    *float64       `json:"max_stall_ms,omitempty"`    // session probes only
	Reboot        *bool          `json:"reboot_detected,omitempty"` // snmp only
	// FailoverAddress is the target's failover address, folded into this
	// result: a gap lasts only while neither address answers.
	FailoverAddress string `json:"failover_address,omitempty"`
	// FailoverFirstAnswerMS is when the failover address first answered;
	// negative when it never did. Absent without a failover address.
	FailoverFirstAnswerMS *float64 `json:"failover_first_answer_ms,omitempty"`
	// FailoverFor marks the failover address's own result, kept for the
	// record beside the primary address it stands in for.
	FailoverFor string `json:"failover_for,omitempty"`
}

// RTTSummary is the round trips of the answered attempts.
type RTTSummary struct {
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// GapSummary is one gap. The outage lies between DurationMS − BoundMS and
// DurationMS.
type GapSummary struct {
	StartMS    float64 `json:"start_ms"`
	EndMS      float64 `json:"end_ms"`
	DurationMS float64 `json:"duration_ms"`
	BoundMS    float64 `json:"bound_ms"`
	Lost       int     `json:"lost"`
	Open       bool    `json:"open"`
	Trigger    string  `json:"trigger"` // the trigger it is attributed to, if any
}

// ResetSummary is one lost session.
type ResetSummary struct {
	AtMS        float64 `json:"at_ms"`
	ReconnectMS float64 `json:"reconnect_ms"` // negative: never reconnected
	Error       string  `json:"error,omitempty"`
}

// EventSummary is one trigger firing, with the hypervisor's figures and,
// beside them, what each probe measured during it.
type EventSummary struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	StartMS  float64  `json:"start_ms"`
	EndMS    *float64 `json:"end_ms"` // null while running
	Status   string   `json:"status"`
	ExitCode int      `json:"exit_code"`
	Error    string   `json:"error,omitempty"`
	Output   string   `json:"output,omitempty"`

	HypervisorSource         string   `json:"hypervisor_source,omitempty"`
	HypervisorDowntimeMS     *float64 `json:"hypervisor_downtime_ms,omitempty"`
	DowntimeWithoutNetworkMS *float64 `json:"downtime_without_network_ms,omitempty"`
	TotalTimeMS              *float64 `json:"total_time_ms,omitempty"`
	SetupTimeMS              *float64 `json:"setup_time_ms,omitempty"`
	HypervisorVersion        string   `json:"hypervisor_version,omitempty"`

	NetworkShare []NetworkShare `json:"network_share"`
}

// NetworkShare is the longest gap one probe saw during an event, and how
// much of it the hypervisor's downtime does not explain.
type NetworkShare struct {
	Probe   string  `json:"probe"`
	Address string  `json:"address"`
	GapMS   float64 `json:"gap_ms"` // 0: no gap attributed to the event
	BoundMS float64 `json:"bound_ms"`
	// NetworkMS is GapMS minus the hypervisor downtime: present when both
	// are known.
	NetworkMS *float64 `json:"network_ms,omitempty"`
}

// Summarize builds the summary of run. files lists the run directory's
// files, when known.
func Summarize(run *Run, files []string) Summary {
	m := run.Meta
	s := Summary{
		Scenario: m.Scenario, File: m.File, Started: m.Started,
		Partial: run.Partial, Reason: run.Reason,
		Probes: make([]ProbeSummary, len(run.Probes)), Events: make([]EventSummary, len(run.Events)),
		Verdict: run.Verdict, Tool: m.Tool, Host: m.Host, Lab: m.Lab, Files: files,
		Kernel: m.Kernel, ScenarioHash: m.ScenarioHash,
	}
	if s.Verdict.Failures == nil {
		s.Verdict.Failures = []string{}
	}
	for i := range run.Probes {
		s.Probes[i] = summarizeProbe(&run.Probes[i], run.Events)
	}
	for i, e := range run.Events {
		s.Events[i] = summarizeEvent(e, run)
	}
	for _, g := range run.Groups {
		gs := GroupSummary{Probe: g.Probe, Target: g.Target, Members: g.Members,
			MaxGapMS: QuantileSummary{Min: msFloat(g.Min), P50: msFloat(g.P50), P95: msFloat(g.P95), Max: msFloat(g.Max)}}
		for _, m := range g.Worst {
			gs.Worst = append(gs.Worst, MemberSummary{Address: m.Address, MaxGapMS: msFloat(m.MaxGap), Lost: m.Lost})
		}
		s.Groups = append(s.Groups, gs)
	}
	return s
}

func ptrTo[T any](v T) *T { return &v }

func summarizeProbe(p *ProbeResult, events []triggers.Event) ProbeSummary {
	ps := ProbeSummary{
		Name: p.Name, Kind: p.Kind, Target: p.Target, Address: p.Address,
		IntervalMS: msFloat(p.Interval), TimeoutMS: msFloat(p.Timeout),
		Sent: p.Sent, Received: p.Received, Lost: p.Lost, LossPct: lossPct(p),
		MaxGapMS: msFloat(p.MaxGap), MaxGapBoundMS: msFloat(maxGapBound(p)),
		RTTMS:  RTTSummary{Min: msFloat(p.RTT.Min), P50: msFloat(p.RTT.Median), P95: msFloat(p.RTT.P95), Max: msFloat(p.RTT.Max)},
		Gaps:   make([]GapSummary, len(p.Gaps)),
		Resets: make([]ResetSummary, len(p.Resets)),
	}
	for i, g := range p.Gaps {
		ps.Gaps[i] = GapSummary{StartMS: msFloat(g.Start), EndMS: msFloat(g.End), DurationMS: msFloat(g.Duration()),
			BoundMS: msFloat(g.Bound), Lost: g.Lost, Open: g.Open, Trigger: GapTrigger(events, g)}
	}
	for i, r := range p.Resets {
		ps.Resets[i] = ResetSummary{AtMS: msFloat(r.At), ReconnectMS: msFloat(r.Reconnect), Error: r.Err}
	}
	if isSessionKind(p.Kind) {
		ps.Sessions = p.Sessions
		ps.Survived = ptrTo(p.Survived)
		ps.MaxStallMS = ptrTo(msFloat(p.MaxStall))
	}
	if p.Kind == "snmp" {
		ps.Reboot = ptrTo(p.RebootDetected)
	}
	if p.FailoverAddress != "" {
		ps.FailoverAddress = p.FailoverAddress
		ps.FailoverFirstAnswerMS = ptrTo(msFloat(max(p.FailoverFirstAnswer, -time.Millisecond)))
	}
	ps.FailoverFor = p.FailoverFor
	return ps
}

// lossPct is the share of attempts lost, in percent, to 3 decimals.
func lossPct(p *ProbeResult) float64 {
	if p.Sent == 0 {
		return 0
	}
	return math.Round(float64(p.Lost)/float64(p.Sent)*100*1000) / 1000
}

// maxGapBound is the bound of the longest gap.
func maxGapBound(p *ProbeResult) time.Duration {
	var best Gap
	for _, g := range p.Gaps {
		if g.Duration() > best.Duration() {
			best = g
		}
	}
	return best.Bound
}

func summarizeEvent(e triggers.Event, run *Run) EventSummary {
	es := EventSummary{
		Name: e.Name, Kind: e.Kind, StartMS: msFloat(e.Start), Status: string(e.Status),
		ExitCode: e.ExitCode, Error: e.Error, Output: e.Output,
		NetworkShare: networkShares(e, run),
	}
	if e.Status != triggers.StatusRunning {
		es.EndMS = ptrTo(msFloat(e.End))
	}
	if h := e.Hypervisor; h != nil {
		es.HypervisorSource, es.HypervisorVersion = h.Source, h.Version
		es.HypervisorDowntimeMS = ptrTo(h.DowntimeMS)
		if h.DowntimeNoNetMS != 0 {
			es.DowntimeWithoutNetworkMS = ptrTo(h.DowntimeNoNetMS)
		}
		if h.TotalTimeMS != 0 {
			es.TotalTimeMS = ptrTo(h.TotalTimeMS)
		}
		if h.SetupTimeMS != 0 {
			es.SetupTimeMS = ptrTo(h.SetupTimeMS)
		}
	}
	return es
}

// shareTexts are the measured gaps of event e as the reports print them,
// one per probe that saw a gap: "ping 10.0.0.2: 120 ms ± 20 ms (network 68 ms)".
func shareTexts(e triggers.Event, run *Run) []string {
	var out []string
	for _, s := range networkShares(e, run) {
		if s.GapMS == 0 {
			continue
		}
		txt := s.Probe
		if s.Address != "" {
			txt += " " + s.Address
		}
		txt += ": " + formatMS(s.GapMS) + " ± " + formatMS(s.BoundMS)
		if s.NetworkMS != nil {
			txt += " (network " + formatMS(*s.NetworkMS) + ")"
		}
		out = append(out, txt)
	}
	return out
}

// networkShares puts, for every probe, the longest gap that GapTrigger
// gives to e (during it or after it) beside the hypervisor's downtime. The
// two figures stay separate; the difference is only what the hypervisor's
// word leaves unexplained.
func networkShares(e triggers.Event, run *Run) []NetworkShare {
	mine := func(g Gap) bool {
		i := gapEvent(run.Events, g)
		return i >= 0 && eventName(run.Events[i]) == eventName(e)
	}
	shares := make([]NetworkShare, 0, len(run.Probes))
	for i := range run.Probes {
		p := &run.Probes[i]
		if p.FailoverFor != "" {
			continue // folded into its primary's result
		}
		ns := NetworkShare{Probe: p.Name, Address: p.Address}
		var best *Gap
		for j := range p.Gaps {
			g := &p.Gaps[j]
			if mine(*g) && (best == nil || g.Duration() > best.Duration()) {
				best = g
			}
		}
		if best != nil {
			ns.GapMS, ns.BoundMS = msFloat(best.Duration()), msFloat(best.Bound)
			if e.Hypervisor != nil {
				ns.NetworkMS = ptrTo(math.Round((ns.GapMS-e.Hypervisor.DowntimeMS)*1000) / 1000)
			}
		}
		shares = append(shares, ns)
	}
	return shares
}

// WriteSummary writes the summary of run as summary.json content.
func WriteSummary(w io.Writer, run *Run, files []string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Summarize(run, files))
}

// ReadSummary reads summary.json content.
func ReadSummary(r io.Reader) (*Summary, error) {
	var s Summary
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	return &s, nil
}
