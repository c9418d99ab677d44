package calibrate

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/reports"
)

const ms1 = time.Millisecond

func TestPlanSkipsAndOrders(t *testing.T) {
	cells, skipped := Plan(Kinds, DefaultIntervals, DefaultOutages)
	if got, want := len(cells)+len(skipped), len(Kinds)*len(DefaultIntervals)*len(DefaultOutages); got != want {
		t.Fatalf("%d cells, want %d", got, want)
	}
	for _, r := range skipped {
		if r.Skipped == "" || r.Within {
			t.Errorf("skipped row %v: %+v", r.Cell, r)
		}
	}
	for _, c := range cells {
		if c.Kind == "snmp" && snmpTimeout(c.Interval) >= c.Interval {
			t.Errorf("%v: snmp timeout %v not below the interval", c, snmpTimeout(c.Interval))
		}
	}
	rows := append(append([]Row{}, skipped...), func() []Row {
		var rs []Row
		for _, c := range cells {
			rs = append(rs, Row{Cell: c})
		}
		return rs
	}()...)
	Sort(rows)
	var order []string
	for _, r := range rows {
		if len(order) == 0 || order[len(order)-1] != r.Kind {
			order = append(order, r.Kind)
		}
	}
	if strings.Join(order, ",") != strings.Join(Kinds, ",") {
		t.Errorf("kinds in order %v", order)
	}
}

func TestJudge(t *testing.T) {
	for _, c := range []struct {
		name string
		row  Row
		want bool
	}{
		{"icmp within", Row{Cell: Cell{Kind: "icmp"}, Seen: true, Truth: 200 * ms1, Measured: 210 * ms1, Bound: 20 * ms1}, true},
		{"icmp measured short", Row{Cell: Cell{Kind: "icmp"}, Seen: true, Truth: 200 * ms1, Measured: 197 * ms1, Bound: 20 * ms1}, false},
		{"icmp in-flight slack", Row{Cell: Cell{Kind: "icmp"}, Seen: true, Truth: 200 * ms1, Measured: 199 * ms1, Bound: 20 * ms1}, true},
		{"icmp measured long", Row{Cell: Cell{Kind: "icmp"}, Seen: true, Truth: 200 * ms1, Measured: 230 * ms1, Bound: 20 * ms1}, false},
		{"unseen, shorter than the spacing", Row{Cell: Cell{Kind: "icmp"}, Truth: 50 * ms1, Bound: 1000 * ms1}, true},
		{"unseen, longer than the spacing", Row{Cell: Cell{Kind: "icmp"}, Truth: 50 * ms1, Bound: 10 * ms1}, false},
		// A session's gap is truth + retransmission delay − stall.
		{"tcp stall", Row{Cell: Cell{Kind: "tcp"}, Seen: true, Survived: true, Truth: 1000 * ms1, Retrans: 650 * ms1, CaughtUp: 650 * ms1, Stall: 100 * ms1, Measured: 1560 * ms1, Bound: 120 * ms1}, true},
		{"tcp without the retransmission", Row{Cell: Cell{Kind: "tcp"}, Seen: true, Survived: true, Truth: 1000 * ms1, Stall: 100 * ms1, Measured: 1560 * ms1, Bound: 120 * ms1}, false},
		{"tcp blip under the stall", Row{Cell: Cell{Kind: "tcp"}, Survived: true, Truth: 50 * ms1, Retrans: 10 * ms1, CaughtUp: 10 * ms1, Stall: 100 * ms1, Bound: 10 * ms1}, true},
		{"failed", Row{Cell: Cell{Kind: "icmp"}, Failed: "baseline", Seen: true, Truth: 200 * ms1, Measured: 200 * ms1, Bound: 20 * ms1}, false},
	} {
		r := c.row
		r.judge()
		if r.Within != c.want {
			t.Errorf("%s: within %t, want %t (%+v)", c.name, r.Within, c.want, r)
		}
	}
}

func TestAnalyze(t *testing.T) {
	iv := 10 * ms1
	pm := reports.ProbeMeta{Name: "tcp", Kind: "tcp", Interval: iv, Timeout: 10 * time.Second, Stall: 100 * ms1}
	// An outage from 100 to 300 ms; TCP's retransmission gets through at
	// 500 ms, when every attempt sent since 95 ms is answered at once.
	var ss []probes.Sample
	for i := 0; i < 80; i++ {
		sent := time.Duration(i)*iv + 5*ms1
		rtt := 50 * time.Microsecond
		if sent >= 100*ms1 && sent < 500*ms1 {
			rtt = 500*ms1 - sent
		}
		ss = append(ss, probes.Sample{Seq: uint64(i), Sent: sent, RTT: rtt, Session: 1})
	}
	r := Row{Cell: Cell{Kind: "tcp", Interval: iv}, Stall: pm.Stall, Truth: 200 * ms1}
	r.analyze(pm, ss, 100*ms1, 300*ms1)
	r.judge()
	if !r.Seen || r.Gaps != 1 || !r.Survived {
		t.Fatalf("row %+v", r)
	}
	if r.Retrans != 200*ms1 || r.CaughtUp != 200*ms1 {
		t.Errorf("retransmission delay %v, caught up %v; want 200ms", r.Retrans, r.CaughtUp)
	}
	// Good again from the first send answered within 100 ms: 405 ms.
	if r.Measured != 405*ms1-95*ms1 {
		t.Errorf("measured %v", r.Measured)
	}
	if r.Expected != 300*ms1 || !r.Within {
		t.Errorf("expected %v within %t (measured %v bound %v)", r.Expected, r.Within, r.Measured, r.Bound)
	}

	// No attempt in a short outage: unseen, bounded by the spacing.
	pm = reports.ProbeMeta{Name: "icmp", Kind: "icmp", Interval: time.Second, Timeout: time.Second}
	ss = []probes.Sample{{Seq: 0, Sent: 0, RTT: ms1}, {Seq: 1, Sent: time.Second, RTT: ms1}, {Seq: 2, Sent: 2 * time.Second, RTT: ms1}}
	r = Row{Cell: Cell{Kind: "icmp", Interval: time.Second}, Truth: 50 * ms1}
	r.analyze(pm, ss, 1200*ms1, 1250*ms1)
	r.judge()
	if r.Seen || r.Bound != time.Second || !r.Within || !strings.Contains(r.Note, "no attempt fell into") {
		t.Errorf("unseen row %+v", r)
	}
}

func TestOutputs(t *testing.T) {
	rows := []Row{
		{Cell: Cell{"icmp", 10 * ms1, 200 * ms1}, Seen: true, Truth: 200 * ms1, Expected: 200 * ms1, Measured: 210 * ms1, Bound: 20 * ms1, Lost: 20, Within: true},
		{Cell: Cell{"ssh", 10 * ms1, 1000 * ms1}, Seen: true, Truth: time.Second, Measured: 1600 * ms1, Bound: 120 * ms1, Retrans: 690 * ms1, CaughtUp: 700 * ms1, Within: false, Note: "a | b"},
		{Cell: Cell{"snmp", ms1, 50 * ms1}, Skipped: "too fast"},
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("csv: %v, %d records", err, len(recs))
	}
	for _, rec := range recs {
		if len(rec) != len(columns) {
			t.Errorf("csv record %v has %d fields", rec, len(rec))
		}
	}
	if got := recs[2][len(columns)-5] + " " + recs[2][len(columns)-4]; got != "690.000 700.000" {
		t.Errorf("retransmission delay, caught up: %q", got)
	}
	b.Reset()
	if err := WriteMarkdown(&b, rows); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if !strings.Contains(md, `a \| b`) || !strings.HasSuffix(md, "all errors within their bounds: no (1 of 2)\n") {
		t.Errorf("markdown:\n%s", md)
	}
	b.Reset()
	if err := WriteTable(&b, rows[:1]); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "all errors within their bounds: yes (1 of 1)\n") {
		t.Errorf("table:\n%s", b.String())
	}
	if v := Verdict(rows[2:]); v != "all errors within their bounds: no (0 of 0)" {
		t.Errorf("verdict of nothing measured: %q", v)
	}
}
