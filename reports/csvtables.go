package reports

import (
	"io"
	"strconv"
	"time"
)

// GapsHeader is the header of gaps.csv.
const GapsHeader = "probe,target,address,start_ms,end_ms,duration_ms,bound_ms,lost,open,trigger"

// SummaryHeader is the header of summary.csv. Cells that do not apply to a
// probe kind (survived for icmp, say) are empty.
const SummaryHeader = "probe,kind,target,address,interval_ms,timeout_ms,sent,received,lost,loss_pct,gaps," +
	"max_gap_ms,max_gap_bound_ms,rtt_min_ms,rtt_p50_ms,rtt_p95_ms,rtt_max_ms," +
	"sessions,survived,resets,max_stall_ms,reboot_detected," +
	"failover_address,failover_first_answer_ms,failover_for"

// WriteGapsCSV writes every gap of run as gaps.csv content, probe by probe.
func WriteGapsCSV(w io.Writer, run *Run) error {
	b := []byte(GapsHeader + "\n")
	for i := range run.Probes {
		p := &run.Probes[i]
		for _, g := range p.Gaps {
			b = appendField(b, p.Name)
			b = append(b, ',')
			b = appendField(b, p.Target)
			b = append(b, ',')
			b = appendField(b, p.Address)
			for _, d := range [...]time.Duration{g.Start, g.End, g.Duration(), g.Bound} {
				b = append(b, ',')
				b = appendMS(b, d)
			}
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(g.Lost), 10)
			b = append(b, ',')
			b = appendBool(b, g.Open)
			b = append(b, ',')
			b = appendField(b, GapTrigger(run.Events, g))
			b = append(b, '\n')
		}
	}
	_, err := w.Write(b)
	return err
}

// WriteSummaryCSV writes one row per probe result as summary.csv content.
func WriteSummaryCSV(w io.Writer, run *Run) error {
	b := []byte(SummaryHeader + "\n")
	for i := range run.Probes {
		p := &run.Probes[i]
		for _, s := range [...]string{p.Name, p.Kind, p.Target, p.Address} {
			b = appendField(b, s)
			b = append(b, ',')
		}
		b = appendMS(b, p.Interval)
		b = append(b, ',')
		b = appendMS(b, p.Timeout)
		for _, n := range [...]int{p.Sent, p.Received, p.Lost} {
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(n), 10)
		}
		b = append(b, ',')
		b = strconv.AppendFloat(b, lossPct(p), 'f', 3, 64)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(len(p.Gaps)), 10)
		for _, d := range [...]time.Duration{p.MaxGap, maxGapBound(p), p.RTT.Min, p.RTT.Median, p.RTT.P95, p.RTT.Max} {
			b = append(b, ',')
			b = appendMS(b, d)
		}
		b = append(b, ',')
		if isSessionKind(p.Kind) {
			b = strconv.AppendInt(b, int64(p.Sessions), 10)
			b = append(b, ',')
			b = appendBool(b, p.Survived)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(len(p.Resets)), 10)
			b = append(b, ',')
			b = appendMS(b, p.MaxStall)
		} else {
			b = append(b, ",,,"...)
		}
		b = append(b, ',')
		if p.Kind == "snmp" {
			b = appendBool(b, p.RebootDetected)
		}
		b = append(b, ',')
		b = appendField(b, p.FailoverAddress)
		b = append(b, ',')
		if p.FailoverAddress != "" {
			b = appendMS(b, max(p.FailoverFirstAnswer, -time.Millisecond)) // -1: never answered
		}
		b = append(b, ',')
		b = appendField(b, p.FailoverFor)
		b = append(b, '\n')
	}
	_, err := w.Write(b)
	return err
}
