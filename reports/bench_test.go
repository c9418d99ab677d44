package reports

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkReport1M is the performance goal end to end: a run
// directory with 1,000,000 samples on disk is read back, analysed, and
// every report written (gaps, summaries, Markdown, the PNG timeline), as
// `downtime report DIR` does. Goal: under 3 s on a 2-core machine.
func BenchmarkReport1M(b *testing.B) {
	dir := b.TempDir()
	meta := Meta{
		Scenario: "bench", Started: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Probes: []ProbeMeta{
			{Name: "ping", Kind: "icmp", Address: "192.0.2.1", Interval: 10 * ms, Timeout: time.Second},
			{Name: "ssh", Kind: "ssh", Address: "192.0.2.1", Interval: 10 * ms, Timeout: 10 * time.Second, Stall: 500 * ms},
			{Name: "tcp", Kind: "tcp", Address: "192.0.2.1", Interval: 10 * ms, Timeout: 10 * time.Second, Stall: 500 * ms},
			{Name: "snmp", Kind: "snmp", Address: "192.0.2.1", Interval: 10 * ms, Timeout: 8 * ms},
		},
		Thresholds: map[string]Threshold{"icmp": {MaxGap: time.Second}},
	}
	writeFile(b, filepath.Join(dir, MetaFile), func(f *os.File) error { return WriteMeta(f, meta) })
	writeFile(b, filepath.Join(dir, SamplesFile), func(f *os.File) error {
		sw, err := NewSampleWriter(f)
		if err != nil {
			return err
		}
		for _, s := range benchSamples(1_000_000) {
			if err := sw.Write(s); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run, err := LoadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteReports(dir, run); err != nil {
			b.Fatal(err)
		}
	}
}

func writeFile(b *testing.B, path string, fill func(*os.File) error) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := fill(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
