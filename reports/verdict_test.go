package reports

import (
	"slices"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

func intp(n int) *int           { return &n }
func floatp(f float64) *float64 { return &f }

func TestEvaluate(t *testing.T) {
	events := []triggers.Event{
		{Name: "migrate", Kind: "qmp", Start: 10 * time.Second, End: 12 * time.Second, Status: triggers.StatusOK},
		{Name: "pause", Kind: "wait", Start: 12 * time.Second, End: 20 * time.Second, Status: triggers.StatusOK},
	}
	gap := func(start, end time.Duration, open bool) Gap { return Gap{Start: start, End: end, Open: open} }
	tests := []struct {
		name   string
		th     map[string]Threshold
		probe  ProbeResult
		events []triggers.Event
		want   []string
	}{
		{"pass", map[string]Threshold{"ping": {MaxGap: 2 * time.Second}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}, Sent: 10, Received: 10}, events, nil},
		{"max gap during a trigger", map[string]Threshold{"ping": {MaxGap: 2 * time.Second}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}, Sent: 10, Received: 9, Lost: 1,
				MaxGap: 2310 * ms, Gaps: []Gap{gap(11*time.Second, 11*time.Second+2310*ms, false)}}, events,
			[]string{"ping: max gap 2.31 s > 2 s during trigger migrate"}},
		{"kind thresholds as default; open gap after a trigger", map[string]Threshold{"icmp": {MaxGap: 500 * ms}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}, Sent: 10, Received: 9, Lost: 1,
				MaxGap: time.Second, Gaps: []Gap{gap(15*time.Second, 16*time.Second, true)}}, events,
			[]string{"ping: max gap 1.00 s (open) > 0.5 s after trigger migrate"}},
		{"name beats kind", map[string]Threshold{"icmp": {MaxGap: ms}, "ping": {MaxGap: time.Hour}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}, Sent: 10, Received: 9, Lost: 1,
				MaxGap: time.Second, Gaps: []Gap{gap(0, time.Second, false)}}, events, nil},
		{"before any trigger", map[string]Threshold{"ping": {MaxGap: ms}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}, Sent: 10, Received: 9, Lost: 1,
				MaxGap: time.Second, Gaps: []Gap{gap(0, time.Second, false)}}, events,
			[]string{"ping: max gap 1.00 s > 0.001 s before any trigger"}},
		{"lost and loss percentage", map[string]Threshold{"snmp": {MaxLost: intp(2), MaxLossPct: floatp(1.5)}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "snmp", Kind: "snmp"}, Sent: 100, Received: 96, Lost: 4}, events,
			[]string{"snmp: lost 4 > 2", "snmp: loss 4.00% > 1.5%"}},
		{"zero lost allowed", map[string]Threshold{"snmp": {MaxLost: intp(0)}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "snmp", Kind: "snmp"}, Sent: 100, Received: 99, Lost: 1}, events,
			[]string{"snmp: lost 1 > 0"}},
		{"stall", map[string]Threshold{"ssh": {MaxStall: time.Second}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ssh", Kind: "ssh"}, Sent: 10, Received: 10, Survived: true, Sessions: 1,
				MaxGap: 1200 * ms, MaxStall: 1200 * ms, Gaps: []Gap{gap(11*time.Second, 11*time.Second+1200*ms, false)}}, events,
			[]string{"ssh: max stall 1.20 s > 1 s during trigger migrate"}},
		{"session reset", map[string]Threshold{"ssh": {Survive: true}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ssh", Kind: "ssh"}, Sent: 10, Received: 8, Lost: 2, Sessions: 2,
				Resets: []Reset{{At: 12400 * ms, Reconnect: 3100 * ms}}}, nil,
			[]string{"ssh: session did not survive (reset at 12.40 s, reconnected after 3.10 s, before any trigger)"}},
		{"session lost for good", map[string]Threshold{"tcp": {Survive: true}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "echo", Kind: "tcp"}, Sent: 10, Received: 8, Lost: 2, Sessions: 1,
				Resets: []Reset{{At: 11 * time.Second, Reconnect: -1}, {At: 13 * time.Second, Reconnect: -1}}}, events,
			[]string{"echo: session did not survive (reset at 11.00 s, never reconnected, during trigger migrate; 2 resets in all)"}},
		{"never connected", map[string]Threshold{"ssh": {Survive: true}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ssh", Kind: "ssh"}, Sent: 3, Lost: 3}, nil,
			[]string{"ssh: session did not survive (no session was established)"}},
		{"connected late", map[string]Threshold{"ssh": {Survive: true}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ssh", Kind: "ssh"}, Sent: 3, Received: 2, Lost: 1, Sessions: 1}, nil,
			[]string{"ssh: session did not survive (not connected at the start of the run)"}},
		{"survive ignored for kinds without sessions", map[string]Threshold{"ping": {Survive: true}},
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}, Sent: 3, Received: 3}, nil, nil},
		{"no thresholds", nil,
			ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}, Sent: 3, Lost: 3, MaxGap: time.Hour}, nil, nil},
		{"trigger failures", nil, ProbeResult{}, []triggers.Event{
			{Name: "migrate", Status: triggers.StatusFailed, Error: "migration failed: no route\n"},
			{Kind: "exec", Status: triggers.StatusFailed, ExitCode: 3},
			{Name: "virsh", Status: triggers.StatusTimeout, Start: time.Second, End: 31 * time.Second, Error: "context deadline exceeded"},
			{Name: "cut", Status: triggers.StatusCancel},
			{Name: "slow", Status: triggers.StatusRunning},
		}, []string{
			"trigger migrate failed: migration failed: no route",
			"trigger exec failed (exit code 3)",
			"trigger virsh timed out after 30.00 s: context deadline exceeded",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &Run{Meta: Meta{Thresholds: tt.th}, Events: tt.events}
			if tt.probe.Name != "" {
				run.Probes = []ProbeResult{tt.probe}
			}
			v := Evaluate(run)
			if v.Pass != (len(tt.want) == 0) || !slices.Equal(v.Failures, tt.want) {
				t.Errorf("Evaluate = %+v\nwant failures %q", v, tt.want)
			}
			if v.Failures == nil {
				t.Error("Failures is nil; want an empty list")
			}
		})
	}
}

func TestEvaluateNil(t *testing.T) {
	if v := Evaluate(nil); v.Pass || len(v.Failures) == 0 {
		t.Errorf("Evaluate(nil) = %+v", v)
	}
}

func TestGapTrigger(t *testing.T) {
	s := time.Second
	events := []triggers.Event{
		{Name: "first", Start: 1 * s, End: 2 * s, Status: triggers.StatusOK},
		{Name: "pause", Kind: "wait", Start: 2 * s, End: 9 * s, Status: triggers.StatusOK},
		{Name: "migrate", Start: 3 * s, End: 5 * s, Status: triggers.StatusOK},
		{Kind: "link", Start: 4500 * ms, End: 8 * s, Status: triggers.StatusOK},
		{Name: "hung", Start: 20 * s, Status: triggers.StatusRunning},
	}
	tests := []struct {
		start, began, end time.Duration // began 0: a gap made without samples
		want              string
	}{
		{0, 0, 500 * ms, "before any trigger"},
		{1500 * ms, 0, 1600 * ms, "during trigger first"},
		{2 * s, 0, 2500 * ms, "during trigger first"},    // still running at the gap's start
		{2500 * ms, 0, 2900 * ms, "after trigger first"}, // the wait step is no trigger
		{4 * s, 0, 5 * s, "during trigger migrate"},
		{4800 * ms, 0, 7 * s, "during trigger link"}, // the latest to start before it
		{10 * s, 0, 11 * s, "after trigger link"},
		{30 * s, 0, 31 * s, "during trigger hung"}, // still running when the run ended
		// A long gap that runs past a later step belongs to the one before
		// it, not to the one it overlaps most.
		{8500 * ms, 8600 * ms, 20500 * ms, "after trigger link"},
		// The first bad send came 100 ms after the last good one, and
		// "first" started 50 ms after that: a request in flight can be
		// lost to it, so it counts.
		{800 * ms, 900 * ms, 1200 * ms, "during trigger first"},
		// ... but not when it started more than one such spacing later.
		{700 * ms, 800 * ms, 1200 * ms, "before any trigger"},
	}
	for _, tt := range tests {
		if got := GapTrigger(events, Gap{Start: tt.start, Began: tt.began, End: tt.end}); got != tt.want {
			t.Errorf("GapTrigger(%v, %v–%v) = %q, want %q", tt.start, tt.began, tt.end, got, tt.want)
		}
	}
	if got := GapTrigger(nil, Gap{}); got != "before any trigger" {
		t.Errorf("GapTrigger(nil) = %q", got)
	}
}

func TestFormatSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0.00 s", 2314 * ms: "2.31 s", 5 * ms: "0.01 s", 61 * time.Second: "61.00 s", -ms * 1500: "-1.50 s",
	} {
		if got := FormatSeconds(d); got != want {
			t.Errorf("FormatSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}
