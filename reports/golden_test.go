package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// updating reports whether the test run was given -update, which rewrites
// the golden files. The flag is defined once for the package (plot_test.go).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// goldenSamples is a few attempts of two probes, with the awkward cases:
// a lost attempt, error text holding a comma, quotes and a newline, a
// session generation and a protocol value.
func goldenSamples() []probes.Sample {
	return []probes.Sample{
		{Probe: "ping", Target: "web", Address: "10.0.0.2", Seq: 0, Scheduled: 0, Sent: 120 * time.Microsecond, RTT: 310 * time.Microsecond},
		{Probe: "ping", Target: "web", Address: "10.0.0.2", Seq: 1, Scheduled: 10 * time.Millisecond, Sent: 10*time.Millisecond + 95*time.Microsecond, Lost: true, Err: "timeout"},
		{Probe: "ping", Target: "web", Address: "10.0.0.2", Seq: 2, Scheduled: 20 * time.Millisecond, Sent: 20*time.Millisecond + 101*time.Microsecond, Lost: true, Err: `sendto: network is unreachable, "route" gone` + "\nsecond line"},
		{Probe: "ping", Target: "web", Address: "10.0.0.2", Seq: 3, Scheduled: 30 * time.Millisecond, Sent: 30*time.Millisecond + 88*time.Microsecond, RTT: 121*time.Millisecond + 456*time.Microsecond},
		{Probe: "ssh", Target: "web", Address: "10.0.0.2:22", Seq: 0, Scheduled: 0, Sent: 1 * time.Millisecond, RTT: 2*time.Millisecond + 500*time.Microsecond, Session: 1},
		{Probe: "ssh", Target: "web", Address: "10.0.0.2:22", Seq: 1, Scheduled: 200 * time.Millisecond, Sent: 200*time.Millisecond + 1*time.Microsecond, Lost: true, Err: "session lost: EOF", Session: 1},
		{Probe: "snmp", Target: "web", Address: "10.0.0.2:161", Seq: 7, Scheduled: 1400 * time.Millisecond, Sent: 1400*time.Millisecond + 999*time.Microsecond + 600, RTT: 4 * time.Millisecond, Value: "123456"},
	}
}

// goldenRun is an analysed run built by hand, so the golden files depend
// on the writers alone.
func goldenRun() *Run {
	maxGap := 2 * time.Second
	return &Run{
		Meta: Meta{
			Scenario: "migrate web",
			File:     "scenarios/examples/migrate.yaml",
			Started:  time.Date(2026, 11, 25, 16, 46, 20, 0, time.UTC),
			Probes: []ProbeMeta{
				{Name: "ping", Kind: "icmp", Target: "web", Address: "10.0.0.2", Interval: 10 * time.Millisecond, Timeout: 500 * time.Millisecond},
				{Name: "ssh", Kind: "ssh", Target: "web", Address: "10.0.0.2:22", Interval: 200 * time.Millisecond, Timeout: time.Second, Stall: 500 * time.Millisecond},
				{Name: "snmp", Kind: "snmp", Target: "web", Address: "10.0.0.2:161", Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond},
			},
			Thresholds: map[string]Threshold{"ping": {MaxGap: maxGap}, "ssh": {Survive: true, MaxStall: time.Second}},
			Tool:       "v0.1.0",
			Host:       "lab-host",
			Lab:        "QEMU TCG: the guest runs slowly for a while after resume, which inflates gaps by tens of ms.",
		},
		Probes: []ProbeResult{
			{
				ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp", Target: "web", Address: "10.0.0.2", Interval: 10 * time.Millisecond, Timeout: 500 * time.Millisecond},
				Sent:      1000, Received: 993, Lost: 7, MaxGap: 80 * time.Millisecond,
				Gaps: []Gap{
					{Start: 5010 * time.Millisecond, End: 5090 * time.Millisecond, Bound: 10*time.Millisecond + 200*time.Microsecond, Lost: 7, FirstSeq: 501, LastSeq: 507},
				},
				RTT:             RTTStats{Min: 250 * time.Microsecond, Median: 310 * time.Microsecond, P95: 1200 * time.Microsecond, Max: 121 * time.Millisecond},
				FailoverAddress: "10.0.0.3", FailoverFirstAnswer: 5070 * time.Millisecond,
			},
			{
				ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp", Target: "web", Address: "10.0.0.3", Interval: 10 * time.Millisecond, Timeout: 500 * time.Millisecond, FailoverFor: "10.0.0.2"},
				Sent:      1000, Received: 493, Lost: 507, MaxGap: 5070 * time.Millisecond,
				Gaps:                []Gap{{Start: 0, End: 5070 * time.Millisecond, Bound: 10 * time.Millisecond, Lost: 507, Open: true, FirstSeq: 0, LastSeq: 506}},
				RTT:                 RTTStats{Min: 250 * time.Microsecond, Median: 300 * time.Microsecond, P95: 900 * time.Microsecond, Max: 2 * time.Millisecond},
				FailoverFirstAnswer: 5070 * time.Millisecond,
			},
			{
				ProbeMeta: ProbeMeta{Name: "ssh", Kind: "ssh", Target: "web", Address: "10.0.0.2:22", Interval: 200 * time.Millisecond, Timeout: time.Second, Stall: 500 * time.Millisecond},
				Sent:      50, Received: 47, Lost: 3, MaxGap: 800 * time.Millisecond,
				Gaps: []Gap{
					{Start: 4800 * time.Millisecond, End: 5600 * time.Millisecond, Bound: 700 * time.Millisecond, Lost: 3, FirstSeq: 24, LastSeq: 26},
				},
				RTT:      RTTStats{Min: 2 * time.Millisecond, Median: 3 * time.Millisecond, P95: 9 * time.Millisecond, Max: 140 * time.Millisecond},
				Sessions: 2, Survived: false,
				Resets:   []Reset{{At: 5400 * time.Millisecond, Reconnect: 350 * time.Millisecond, Err: "session lost: read tcp: connection reset by peer"}},
				MaxStall: 600 * time.Millisecond,
			},
			{
				ProbeMeta: ProbeMeta{Name: "snmp", Kind: "snmp", Target: "web", Address: "10.0.0.2:161", Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond},
				Sent:      100, Received: 100,
				RTT: RTTStats{Min: 1 * time.Millisecond, Median: 2 * time.Millisecond, P95: 3 * time.Millisecond, Max: 4 * time.Millisecond},
			},
		},
		Events: []triggers.Event{
			{Name: "migrate", Kind: "qmp", Start: 4000 * time.Millisecond, End: 5050 * time.Millisecond, Status: triggers.StatusOK, ExitCode: -1,
				Hypervisor: &triggers.Hypervisor{Source: "qmp query-migrate", DowntimeMS: 52, TotalTimeMS: 870, SetupTimeMS: 3, Version: "7.2.0"}},
			{Name: "notify, ops", Kind: "exec", Start: 6000 * time.Millisecond, End: 6012 * time.Millisecond, Status: triggers.StatusFailed, ExitCode: 2,
				Error: `exit status 2: "hook" | failed`, Output: "notify-ops.out"},
		},
		Verdict: Verdict{Pass: false, Failures: []string{"ssh: the session did not survive (1 reset)", `trigger "notify, ops" failed: exit status 2`}},
	}
}
