package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

func repeatRun(gap time.Duration, downtime float64) *Run {
	run := &Run{
		Meta: Meta{Scenario: "s", Thresholds: map[string]Threshold{"ping": {MaxGap: time.Second}}},
		Probes: []ProbeResult{{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp", Address: "10.0.0.1", Interval: 10 * ms},
			Sent: 100, Received: 100, MaxGap: gap}},
		Events: []triggers.Event{{Name: "migrate", Kind: "qmp", Status: triggers.StatusOK,
			Hypervisor: &triggers.Hypervisor{DowntimeMS: downtime}}},
	}
	run.Verdict = Evaluate(run)
	return run
}

func TestAggregateRuns(t *testing.T) {
	var runs []*Run
	var dirs []string
	for i, g := range []time.Duration{100, 200, 300, 400, 1500} {
		runs = append(runs, repeatRun(g*ms, float64(10*(i+1))))
		dirs = append(dirs, "r0"+string(rune('1'+i)))
	}
	for _, tt := range []struct {
		mode string
		pass bool
	}{{RepeatAll, false}, {RepeatP95, false}} {
		a := AggregateRuns(runs, dirs, tt.mode)
		if a.Verdict.Pass != tt.pass {
			t.Errorf("%s: pass %v, failures %v", tt.mode, a.Verdict.Pass, a.Verdict.Failures)
		}
		if len(a.Verdict.Failures) != 1 || a.Verdict.Failures[0] != "ping: max_gap <= 1 s (failed in 1 of 5 repeats)" {
			t.Errorf("%s: failures %v", tt.mode, a.Verdict.Failures)
		}
	}
	a := AggregateRuns(runs, dirs, RepeatAll)
	if q := a.Probes[0].MaxGapMS; q.Min != 100 || q.P50 != 300 || q.Max != 1500 {
		t.Errorf("max gap distribution %+v", q)
	}
	if q := a.Events[0].HypervisorDowntimeMS; q.Min != 10 || q.Max != 50 {
		t.Errorf("downtime distribution %+v", q)
	}
	// p95 over 20 repeats tolerates the one bad repeat.
	var many []*Run
	var manyDirs []string
	for i := range 20 {
		g := 100 * ms
		if i == 7 {
			g = 1500 * ms
		}
		many = append(many, repeatRun(g, 10))
		manyDirs = append(manyDirs, "r")
	}
	if a := AggregateRuns(many, manyDirs, RepeatP95); !a.Verdict.Pass {
		t.Errorf("p95 over 20 repeats with one failure: %v", a.Verdict.Failures)
	}
	if a := AggregateRuns(many, manyDirs, RepeatAll); a.Verdict.Pass {
		t.Error("all over 20 repeats with one failure passed")
	}
	var md bytes.Buffer
	if err := WriteAggregateMarkdown(&md, AggregateRuns(runs, dirs, RepeatAll)); err != nil || !strings.Contains(md.String(), "| ping | 10.0.0.1 | 100 ms |") {
		t.Errorf("markdown (%v):\n%s", err, md.String())
	}
}
