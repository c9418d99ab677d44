package reports

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// recordRun writes meta.json, samples.csv and events.csv into a new
// directory as the runner does: 100 pings at 10 ms with 5 lost in the
// middle, during one migration. With killed, it stops as a SIGKILL would:
// the migration still running and the last sample row half written.
func recordRun(t *testing.T, killed bool) (string, Meta) {
	t.Helper()
	dir := t.TempDir()
	meta := goldenRun().Meta
	meta.Probes = meta.Probes[:1]
	meta.Thresholds = map[string]Threshold{"ping": {MaxGap: time.Second}}
	create := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	if err := WriteMeta(create(MetaFile), meta); err != nil {
		t.Fatal(err)
	}
	sf := create(SamplesFile)
	sw, err := NewSampleWriter(sf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		at := time.Duration(i) * 10 * time.Millisecond
		s := probes.Sample{Probe: "ping", Target: "web", Address: "10.0.0.2", Seq: uint64(i), Scheduled: at, Sent: at, RTT: time.Millisecond}
		if i >= 50 && i < 55 {
			s.Lost, s.Err, s.RTT = true, "timeout", 0
		}
		if err := sw.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if killed {
		sf.WriteString("ping,web,100,1000.000,10")
	}
	ew, err := NewEventWriter(create(EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	e := triggers.Event{Name: "migrate", Kind: "qmp", Start: 400 * time.Millisecond, Status: triggers.StatusRunning, ExitCode: -1}
	ew.Write(e)
	if !killed {
		e.End, e.Status, e.Hypervisor = 560*time.Millisecond, triggers.StatusOK, &triggers.Hypervisor{DowntimeMS: 20}
		ew.Write(e)
	}
	return dir, meta
}

func TestLoadDirFinished(t *testing.T) {
	dir, _ := recordRun(t, false)
	run, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Before summary.json exists the run counts as unfinished.
	if !run.Partial || !strings.Contains(run.Reason, SummaryFile) {
		t.Errorf("without summary.json: partial %v, reason %q", run.Partial, run.Reason)
	}
	// The runner's end: analyse the files it just closed, write the reports.
	run, err = AnalyzeDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if run.Partial {
		t.Errorf("AnalyzeDir of a finished run: partial, %q", run.Reason)
	}
	if err := WriteReports(dir, run); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
		if isOutput(e.Name()) && info.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", e.Name(), info.Mode().Perm())
		}
	}
	want := []string{EventsFile, GapsFile, JUnitFile, MetaFile, HTMLFile, ReportFile, SamplesFile, SummaryCSVFile, SummaryFile, TimelineFile}
	for _, name := range want {
		if !slices.Contains(names, name) {
			t.Errorf("directory holds %v, lacks %s", names, name)
		}
	}

	again, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Partial {
		t.Errorf("finished run reloads as partial: %q", again.Reason)
	}
	if len(again.Probes) != 1 || again.Probes[0].Lost != 5 || len(again.Probes[0].Gaps) != 1 {
		t.Fatalf("reloaded probes: %+v", again.Probes)
	}
	if len(again.Events) != 1 || again.Events[0].Status != triggers.StatusOK || again.Events[0].Hypervisor == nil {
		t.Errorf("reloaded events: %+v", again.Events)
	}
	s, err := loadFile(dir, SummaryFile, ReadSummary)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Files) != len(names) || s.Partial {
		t.Errorf("summary.json: files %v, partial %v", s.Files, s.Partial)
	}
}

func isOutput(name string) bool {
	switch name {
	case GapsFile, SummaryFile, SummaryCSVFile, ReportFile, TimelineFile, HTMLFile, JUnitFile:
		return true
	}
	return false
}

func TestLoadDirKilled(t *testing.T) {
	dir, _ := recordRun(t, true)
	run, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Partial {
		t.Fatal("killed run is not partial")
	}
	fresh, err := AnalyzeDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fresh.Partial || strings.Contains(fresh.Reason, SummaryFile) {
		t.Errorf("AnalyzeDir of a killed run: partial %v, reason %q", fresh.Partial, fresh.Reason)
	}
	for _, want := range []string{SummaryFile, "migrate was still running", SamplesFile + " ends inside a row"} {
		if !strings.Contains(run.Reason, want) {
			t.Errorf("reason %q lacks %q", run.Reason, want)
		}
	}
	if run.Probes[0].Sent != 100 {
		t.Errorf("sent %d, want the 100 whole rows", run.Probes[0].Sent)
	}
	// Reports of a killed run say so, and stay partial when reloaded.
	if err := WriteReports(dir, run); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "Partial run") {
		t.Error("report.md of a killed run has no partial note")
	}
	again, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Partial || strings.Count(again.Reason, "still running") != 1 {
		t.Errorf("reloaded: partial %v, reason %q", again.Partial, again.Reason)
	}
}

func TestLoadDirErrors(t *testing.T) {
	dir, _ := recordRun(t, false)
	if err := os.Remove(filepath.Join(dir, EventsFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err != nil {
		t.Errorf("a run without events.csv: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, SamplesFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("ping,web,oops,0,0,0,0,,,,\n")
	f.Close()
	_, err = LoadDir(dir)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 102 || !strings.Contains(err.Error(), SamplesFile) {
		t.Errorf("malformed row: %v, want line 102 of %s", err, SamplesFile)
	}
	if _, err := LoadDir(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory: %v, want not exist", err)
	}
}

func TestWriteReportsTriesAll(t *testing.T) {
	err := WriteReports(filepath.Join(t.TempDir(), "missing"), goldenRun())
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), GapsFile) {
		t.Errorf("err = %v, want the first file's not-exist error", err)
	}
}
