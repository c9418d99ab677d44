package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestGapsCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteGapsCSV(&buf, goldenRun()); err != nil {
		t.Fatal(err)
	}
	golden(t, "gaps.csv", buf.Bytes())
}

func TestSummaryCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummaryCSV(&buf, goldenRun()); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.csv", buf.Bytes())
}

func TestSummaryJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, goldenRun(), []string{SamplesFile, SummaryFile}); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.json", buf.Bytes())

	s, err := ReadSummary(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if s.Scenario != "migrate web" || len(s.Probes) != 4 || len(s.Events) != 2 || s.Verdict.Pass {
		t.Fatalf("read back %+v", s)
	}
	mig := s.Events[0]
	if mig.HypervisorDowntimeMS == nil || *mig.HypervisorDowntimeMS != 52 {
		t.Fatalf("migrate hypervisor downtime: %+v", mig)
	}
	// The ping gap (5010-5090 ms) falls during the migration (4000-5050 ms):
	// 80 ms measured beside 52 ms reported leaves 28 ms to the network.
	share := mig.NetworkShare[0]
	if share.Probe != "ping" || share.GapMS != 80 || share.NetworkMS == nil || *share.NetworkMS != 28 {
		t.Errorf("ping network share: %+v", share)
	}
	if ps := s.Probes[0]; ps.Survived != nil || ps.MaxStallMS != nil || ps.Reboot != nil || ps.LossPct != 0.7 {
		t.Errorf("icmp probe summary: %+v", ps)
	}
	if ps := s.Probes[0]; ps.FailoverAddress != "10.0.0.3" || ps.FailoverFirstAnswerMS == nil || *ps.FailoverFirstAnswerMS != 5070 {
		t.Errorf("failover figures: %+v", ps)
	}
	if ps := s.Probes[1]; ps.FailoverFor != "10.0.0.2" || ps.FailoverFirstAnswerMS != nil {
		t.Errorf("failover address's own result: %+v", ps)
	}
	if ps := s.Probes[2]; ps.Survived == nil || *ps.Survived || len(ps.Resets) != 1 {
		t.Errorf("ssh probe summary: %+v", ps)
	}
	if ps := s.Probes[3]; ps.Reboot == nil || *ps.Reboot || ps.Gaps == nil {
		t.Errorf("snmp probe summary: %+v", ps)
	}
}

func TestSummaryJSONShape(t *testing.T) {
	// Keys that users' tooling reads must be there, even when empty.
	r := goldenRun()
	r.Verdict = Verdict{Pass: true}
	r.Events[0].Status, r.Events[0].Hypervisor = "running", nil
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r, nil); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "started", "partial", "reason", "probes", "events", "verdict", "tool", "host"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
	if f := m["verdict"].(map[string]any)["failures"]; f == nil {
		t.Error("verdict.failures is null, want []")
	}
	ev := m["events"].([]any)[0].(map[string]any)
	if ev["end_ms"] != nil {
		t.Errorf("running event has end_ms %v", ev["end_ms"])
	}
	if _, ok := ev["hypervisor_downtime_ms"]; ok {
		t.Error("hypervisor downtime shown for an event without one")
	}
}

func FuzzReadSummary(f *testing.F) {
	var buf bytes.Buffer
	WriteSummary(&buf, goldenRun(), nil)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"probes":[{"rtt_ms":{"min":"x"}}]}`))
	f.Add([]byte(`{"started":"not a time","events":[{"end_ms":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadSummary(bytes.NewReader(data))
		if err == nil && s == nil {
			t.Fatal("nil summary without an error")
		}
	})
}

func TestMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, goldenRun()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md", buf.Bytes())
}

func TestMarkdownPartialAndEmpty(t *testing.T) {
	r := &Run{Partial: true, Reason: "interrupted | by user", Verdict: Verdict{Pass: true}}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"Verdict: PASS", "**Partial run:** interrupted \\| by user", "No probes.", "No gaps", "No triggers fired.", "![timeline](timeline.png)"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Lab:") {
		t.Error("lab note without Meta.Lab")
	}
}
