package reports

import (
	"encoding/json"
	"fmt"
	"io"
)

// meta.json keeps durations as *_ms numbers. The private shapes below
// embed the shared types, so their plain tagged fields (and any added
// later) round-trip without change, and add the durations beside them.

type metaJSON struct {
	Meta
	Probes     []probeMetaJSON          `json:"probes"`     // shadows Meta.Probes
	Thresholds map[string]thresholdJSON `json:"thresholds"` // shadows Meta.Thresholds
}

type probeMetaJSON struct {
	ProbeMeta
	IntervalMS float64 `json:"interval_ms"`
	TimeoutMS  float64 `json:"timeout_ms"`
	StallMS    float64 `json:"stall_ms,omitempty"`
}

type thresholdJSON struct {
	Threshold
	MaxGapMS   float64 `json:"max_gap_ms,omitempty"`
	MaxStallMS float64 `json:"max_stall_ms,omitempty"`

	MaxTimeToFailoverAddressMS float64 `json:"max_time_to_failover_address_ms,omitempty"`
	MaxHypervisorDowntimeMS    float64 `json:"max_hypervisor_downtime_ms,omitempty"`
}

// WriteMeta writes m as meta.json content, indented for people.
func WriteMeta(w io.Writer, m Meta) error {
	mj := metaJSON{Meta: m, Probes: make([]probeMetaJSON, len(m.Probes))}
	for i, p := range m.Probes {
		mj.Probes[i] = probeMetaJSON{ProbeMeta: p, IntervalMS: msFloat(p.Interval),
			TimeoutMS: msFloat(p.Timeout), StallMS: msFloat(p.Stall)}
	}
	if m.Thresholds != nil {
		mj.Thresholds = make(map[string]thresholdJSON, len(m.Thresholds))
		for name, t := range m.Thresholds {
			mj.Thresholds[name] = thresholdJSON{Threshold: t, MaxGapMS: msFloat(t.MaxGap), MaxStallMS: msFloat(t.MaxStall),
				MaxTimeToFailoverAddressMS: msFloat(t.MaxTimeToFailoverAddress), MaxHypervisorDowntimeMS: msFloat(t.MaxHypervisorDowntime)}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(mj)
}

// ReadMeta reads meta.json content.
func ReadMeta(r io.Reader) (Meta, error) {
	var mj metaJSON
	if err := json.NewDecoder(r).Decode(&mj); err != nil {
		return Meta{}, fmt.Errorf("meta: %w", err)
	}
	m := mj.Meta
	m.Probes = make([]ProbeMeta, len(mj.Probes))
	for i, p := range mj.Probes {
		pm := p.ProbeMeta
		pm.Interval, pm.Timeout, pm.Stall = msDuration(p.IntervalMS), msDuration(p.TimeoutMS), msDuration(p.StallMS)
		m.Probes[i] = pm
	}
	m.Thresholds = nil
	if mj.Thresholds != nil {
		m.Thresholds = make(map[string]Threshold, len(mj.Thresholds))
		for name, t := range mj.Thresholds {
			th := t.Threshold
			th.MaxGap, th.MaxStall = msDuration(t.MaxGapMS), msDuration(t.MaxStallMS)
			th.MaxTimeToFailoverAddress = msDuration(t.MaxTimeToFailoverAddressMS)
			th.MaxHypervisorDowntime = msDuration(t.MaxHypervisorDowntimeMS)
			m.Thresholds[name] = th
		}
	}
	return m, nil
}
