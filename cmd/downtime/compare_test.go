package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios"
)

// writeRun records a finished run directory as the runner does: 200
// pings 10 ms apart, lost consecutive ones lost from the 100th on.
func writeRun(t *testing.T, dir string, lost int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := reports.Meta{Scenario: "migrate", Probes: []reports.ProbeMeta{
		{Name: "ping", Kind: "icmp", Target: "web", Address: "10.0.0.2", Interval: 10 * time.Millisecond, Timeout: 100 * time.Millisecond},
	}}
	var mb, sb bytes.Buffer
	if err := reports.WriteMeta(&mb, meta); err != nil {
		t.Fatal(err)
	}
	sw, err := reports.NewSampleWriter(&sb)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		at := time.Duration(i) * 10 * time.Millisecond
		s := probes.Sample{Probe: "ping", Target: "web", Address: "10.0.0.2", Seq: uint64(i), Scheduled: at, Sent: at, RTT: time.Millisecond}
		if i >= 100 && i < 100+lost {
			s.Lost, s.RTT, s.Err = true, 0, "timeout"
		}
		if err := sw.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string][]byte{reports.MetaFile: mb.Bytes(), reports.SamplesFile: sb.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The runner's end: the reports, summary.json last, mark it finished.
	run, err := reports.AnalyzeDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteReports(dir, run); err != nil {
		t.Fatal(err)
	}
}

// repeats records runs r01, r02, ... under dir, one per lost count.
func repeats(t *testing.T, dir string, lost ...int) string {
	t.Helper()
	for i, n := range lost {
		writeRun(t, filepath.Join(dir, fmt.Sprintf("r%02d", i+1)), n)
	}
	return dir
}

func TestCmdCompare(t *testing.T) {
	root := t.TempDir()
	base := repeats(t, filepath.Join(root, "base"), 3, 4, 5, 4, 3)
	worse := repeats(t, filepath.Join(root, "worse"), 20, 22, 21, 24, 23)
	same := repeats(t, filepath.Join(root, "same"), 4, 3, 5, 3, 4)
	single := filepath.Join(root, "single")
	writeRun(t, single, 30)

	tests := []struct {
		name string
		args []string
		exit int
		out  []string // in stdout (or stderr, for bad input)
	}{
		{"regression", []string{base, worse}, scenarios.ExitFail, []string{"verdict: REGRESSED", "max_gap_ms  50        230       0.008  regressed"}},
		{"no change", []string{base, same}, scenarios.ExitPass, []string{"verdict: no regression", "no significant change"}},
		{"within an absolute tolerance", []string{"-tolerance", "500ms", "-o", filepath.Join(root, "tolerant"), base, worse}, scenarios.ExitPass, []string{"verdict: no regression"}},
		{"a single run", []string{"-o", filepath.Join(root, "out"), base, single}, scenarios.ExitFail, []string{"no significance test is possible"}},
		{"bad tolerance", []string{"-tolerance", "lots", base, worse}, scenarios.ExitBadInput, []string{`tolerance "lots"`}},
		{"one directory", []string{base}, scenarios.ExitBadInput, []string{"usage: downtime compare"}},
		{"not a run", []string{base, root + "/nothing"}, scenarios.ExitBadInput, []string{"nothing"}},
		{"empty directory", []string{base, t.TempDir()}, scenarios.ExitBadInput, []string{"no run here"}},
		{"unknown flag", []string{"-x", base, worse}, scenarios.ExitBadInput, []string{"flag provided but not defined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			exit := cmdCompare(tt.args, &stdout, &stderr)
			text := stdout.String() + stderr.String()
			if exit != tt.exit {
				t.Errorf("exit %d, want %d\n%s", exit, tt.exit, text)
			}
			for _, want := range tt.out {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q:\n%s", want, text)
				}
			}
		})
	}
	for _, dir := range []string{worse, filepath.Join(root, "out")} {
		for _, name := range []string{reports.CompareFile, reports.ComparePlotFile, reports.CompareHTMLFile} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
				t.Errorf("%s: %v", filepath.Join(dir, name), err)
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(worse, reports.CompareFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| ping | max_gap_ms | 5 |") || !strings.Contains(string(md), "## Verdict: REGRESSED") {
		t.Errorf("compare.md:\n%s", md)
	}
}
