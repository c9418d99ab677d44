package reports

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// as relabels samples as probe name at addr.
func as(name, addr string, s []probes.Sample) []probes.Sample {
	for i := range s {
		s[i].Probe, s[i].Address = name, addr
	}
	return s
}

func TestAnalyze(t *testing.T) {
	meta := Meta{
		Probes: []ProbeMeta{
			{Name: "ping", Kind: "icmp", Address: "192.0.2.1", Interval: 10 * ms},
			{Name: "ssh", Kind: "ssh", Address: "192.0.2.1", Interval: 100 * ms, Stall: 500 * ms},
			{Name: "snmp", Kind: "snmp", Address: "192.0.2.1", Interval: 10 * ms},
			{Name: "fleet", Kind: "icmp", Address: "192.0.2.20", Interval: 10 * ms},
			{Name: "fleet", Kind: "icmp", Address: "192.0.2.21", Interval: 10 * ms},
			{Name: "dns", Kind: "icmp", Address: "guest.example", Interval: 10 * ms},
			{Name: "silent", Kind: "icmp", Address: "192.0.2.99", Interval: 10 * ms},
		},
		Thresholds: map[string]Threshold{"icmp": {MaxGap: 25 * ms}},
	}
	snmp := as("snmp", "192.0.2.1", series("....", 10*ms))
	for i, v := range []string{"500", "501", "2", "3"} {
		snmp[i].Value = v
	}
	var all []probes.Sample
	all = append(all, as("ping", "192.0.2.1", series("..xx....x.", 10*ms))...)
	all = append(all, as("ssh", "192.0.2.1", sessionSeries("11002"))...)
	all = append(all, snmp...)
	all = append(all, as("fleet", "192.0.2.21", series("...", 10*ms))...)
	all = append(all, as("fleet", "192.0.2.20", series(".xx", 10*ms))...)
	all = append(all, as("dns", "192.0.2.9", series("..", 10*ms))...)
	all = append(all, as("stray", "192.0.2.7", series("....", 20*ms))...)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	events := []triggers.Event{{Name: "migrate", Kind: "qmp", Start: 15 * ms, End: 30 * ms, Status: triggers.StatusOK}}

	run := Analyze(meta, all, events)

	type row struct {
		name, addr           string
		sent, received, lost int
		maxGap, interval     time.Duration
	}
	var got []row
	for _, r := range run.Probes {
		got = append(got, row{r.Name, r.Address, r.Sent, r.Received, r.Lost, r.MaxGap, r.Interval})
		if r.FailoverFirstAnswer >= 0 {
			t.Errorf("%s: FailoverFirstAnswer = %v, want negative", r.Name, r.FailoverFirstAnswer)
		}
	}
	want := []row{
		{"ping", "192.0.2.1", 10, 7, 3, 30 * ms, 10 * ms},
		{"ssh", "192.0.2.1", 5, 3, 2, 300 * ms, 100 * ms},
		{"snmp", "192.0.2.1", 4, 4, 0, 0, 10 * ms},
		{"fleet", "192.0.2.20", 3, 1, 2, 400 * ms, 10 * ms}, // open: runs to the run's last Sent (ssh, 400 ms)
		{"fleet", "192.0.2.21", 3, 3, 0, 0, 10 * ms},
		{"dns", "192.0.2.9", 2, 2, 0, 0, 10 * ms}, // matched by name: the address was resolved
		{"silent", "192.0.2.99", 0, 0, 0, 0, 10 * ms},
		{"stray", "192.0.2.7", 4, 4, 0, 0, 20 * ms}, // no metadata: interval inferred
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\n got %+v\nwant %+v", got, want)
	}

	ssh := run.Probes[1]
	if ssh.Sessions != 2 || ssh.Survived || len(ssh.Resets) != 1 || ssh.Resets[0].Reconnect != 200*ms {
		t.Errorf("ssh: sessions %d survived %v resets %+v", ssh.Sessions, ssh.Survived, ssh.Resets)
	}
	if !run.Probes[2].RebootDetected {
		t.Error("snmp: reboot not detected")
	}
	if run.Probes[0].RTT != (RTTStats{Min: ms, Median: ms, P95: ms, Max: ms}) {
		t.Errorf("ping RTT = %+v", run.Probes[0].RTT)
	}
	wantFail := []string{
		"ping: max gap 0.03 s > 0.025 s during trigger migrate",
		"fleet 192.0.2.20: max gap 0.40 s (open) > 0.025 s during trigger migrate",
		"silent: no samples",
	}
	if run.Verdict.Pass || !slices.Equal(run.Verdict.Failures, wantFail) {
		t.Errorf("verdict = %+v, want failures %q", run.Verdict, wantFail)
	}
	if len(run.Events) != 1 || run.Meta.Probes[0].Name != "ping" {
		t.Error("run does not carry its events and meta")
	}
}

func TestAnalyzeEmpty(t *testing.T) {
	run := Analyze(Meta{}, nil, nil)
	if len(run.Probes) != 0 || !run.Verdict.Pass {
		t.Errorf("empty run = %+v", run)
	}
}

// benchSamples makes n samples across 4 probes at 10 ms, in the order a
// recorder sees them: round robin, with each lost attempt arriving a
// timeout (10 attempts) late, and a gap of 20 lost every 10,000 attempts.
func benchSamples(n int) []probes.Sample {
	names := []string{"ping", "ssh", "tcp", "snmp"}
	out := make([]probes.Sample, 0, n)
	var late []probes.Sample
	per := n / len(names)
	for q := range per {
		for _, name := range names {
			t := time.Duration(q) * 10 * ms
			s := probes.Sample{Probe: name, Target: "guest", Address: "192.0.2.1", Seq: uint64(q),
				Scheduled: t, Sent: t + 50*time.Microsecond, RTT: time.Duration(300+q%700) * time.Microsecond,
				Session: 1, Value: fmt.Sprint(q)}
			if q%10_000 >= 5_000 && q%10_000 < 5_020 {
				s.Lost, s.RTT, s.Err = true, 0, "timeout"
				late = append(late, s)
				continue
			}
			out = append(out, s)
		}
		if q%10 == 0 {
			out = append(out, late...)
			late = late[:0]
		}
	}
	return append(out, late...)
}

func BenchmarkAnalyze1M(b *testing.B) {
	samples := benchSamples(1_000_000)
	meta := Meta{
		Probes: []ProbeMeta{
			{Name: "ping", Kind: "icmp", Address: "192.0.2.1", Interval: 10 * ms},
			{Name: "ssh", Kind: "ssh", Address: "192.0.2.1", Interval: 10 * ms, Stall: 500 * ms},
			{Name: "tcp", Kind: "tcp", Address: "192.0.2.1", Interval: 10 * ms, Stall: 500 * ms},
			{Name: "snmp", Kind: "snmp", Address: "192.0.2.1", Interval: 10 * ms},
		},
		Thresholds: map[string]Threshold{"icmp": {MaxGap: time.Second}},
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run := Analyze(meta, samples, nil)
		if len(run.Probes) != 4 || run.Probes[0].Lost != 500 {
			b.Fatalf("unexpected result: %d probes, %d lost", len(run.Probes), run.Probes[0].Lost)
		}
	}
}
