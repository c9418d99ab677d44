package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// The files of a run directory. Users attach the directory to change
// reviews, so the names are a contract.
const (
	MetaFile       = "meta.json"    // written once at run start
	SamplesFile    = "samples.csv"  // streamed, one row per attempt
	EventsFile     = "events.csv"   // streamed, a row at each trigger start and end
	GapsFile       = "gaps.csv"     // written by WriteReports
	SummaryFile    = "summary.json" // written by WriteReports; its absence means the run never finished
	SummaryCSVFile = "summary.csv"
	ReportFile     = "report.md"
	TimelineFile   = "timeline.png"
	HTMLFile       = "report.html" // self-contained: the timeline embedded, no external resources
	JUnitFile      = "junit.xml"
)

// LoadDir reads the recorded files of a run directory (meta.json,
// samples.csv, events.csv) and analyses them, so a report can be rebuilt
// from an earlier or killed run. The run is marked Partial when
// summary.json is absent (the run never finished) or says so, when a
// trigger is still running, or when a file ends inside a row.
func LoadDir(dir string) (*Run, error) {
	run, reasons, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	prior, err := loadFile(dir, SummaryFile, ReadSummary)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		reasons = append(reasons, "the run did not finish ("+SummaryFile+" is missing)")
	case err != nil:
		reasons = append(reasons, "its "+SummaryFile+" is unreadable")
	case prior.Partial:
		reasons = append(reasons, strings.Split(prior.Reason, "; ")...)
	}
	markPartial(run, reasons)
	return run, nil
}

// AnalyzeDir is LoadDir for the run that is finishing right now: it
// trusts no earlier summary.json, and marks the run Partial only for what
// the recorded files themselves show (a trigger still running, a row cut
// short).
func AnalyzeDir(dir string) (*Run, error) {
	run, reasons, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	markPartial(run, reasons)
	return run, nil
}

func markPartial(run *Run, reasons []string) {
	if len(reasons) > 0 {
		run.Partial = true
		run.Reason = strings.Join(dedupeStrings(reasons), "; ")
	}
}

// readDir reads and analyses the recorded files, and says what in them
// shows the run was cut short.
func readDir(dir string) (*Run, []string, error) {
	meta, err := loadFile(dir, MetaFile, ReadMeta)
	if err != nil {
		return nil, nil, err
	}
	var truncated bool
	samples, err := loadFile(dir, SamplesFile, func(r io.Reader) ([]probes.Sample, error) {
		// Sized once: grown by append, the slice would peak at up to three
		// times the samples' size during its last copy.
		n, err := countLines(r)
		if err != nil {
			return nil, err
		}
		all := make([]probes.Sample, 0, n)
		sr := NewSampleReader(r)
		for {
			s, err := sr.Read()
			if err == io.EOF {
				truncated = sr.Truncated()
				return all, nil
			}
			if err != nil {
				return nil, err
			}
			all = append(all, s)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	var eventsCut bool
	events, err := loadFile(dir, EventsFile, func(r io.Reader) ([]triggers.Event, error) {
		ev, cut, err := readEvents(r)
		eventsCut = cut
		return ev, err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // a run without triggers may lack it
		return nil, nil, err
	}

	run := Analyze(meta, samples, events)
	var reasons []string
	if run.Reason != "" {
		reasons = append(reasons, run.Reason)
	}
	for _, e := range events {
		if e.Status == triggers.StatusRunning {
			reasons = append(reasons, "trigger "+e.Name+" was still running")
		}
	}
	if truncated {
		reasons = append(reasons, SamplesFile+" ends inside a row")
	}
	if eventsCut {
		reasons = append(reasons, EventsFile+" ends inside a row")
	}
	return run, reasons, nil
}

// loadFile opens dir/name and parses it with read, naming the file in errors.
func loadFile[T any](dir, name string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return zero, err
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return v, nil
}

// countLines counts the newlines in r and rewinds it (0 if r cannot seek:
// then nothing was read).
func countLines(r io.Reader) (int, error) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return 0, nil
	}
	n := 0
	buf := make([]byte, 256<<10)
	for {
		k, err := rs.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	_, err := rs.Seek(0, io.SeekStart)
	return n, err
}

func dedupeStrings(ss []string) []string {
	out := ss[:0]
	seen := map[string]bool{}
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// WriteReports writes the analysed files of run into dir: gaps.csv,
// summary.json, summary.csv, report.md, timeline.png, report.html and
// junit.xml. Each file is written to a temporary name and renamed, so a
// reader never sees half a report. It tries every file and returns the first error.
func WriteReports(dir string, run *Run) error {
	// Drawn once, for timeline.png and report.html.
	var timeline bytes.Buffer
	timelineErr := WriteTimeline(&timeline, run)
	if timelineErr != nil {
		timeline.Reset()
	}
	writers := []struct {
		name  string
		write func(io.Writer) error
	}{
		{GapsFile, func(w io.Writer) error { return WriteGapsCSV(w, run) }},
		{SummaryCSVFile, func(w io.Writer) error { return WriteSummaryCSV(w, run) }},
		{ReportFile, func(w io.Writer) error { return WriteMarkdown(w, run) }},
		{TimelineFile, func(w io.Writer) error {
			if timelineErr != nil {
				return timelineErr
			}
			_, err := w.Write(timeline.Bytes())
			return err
		}},
		{HTMLFile, func(w io.Writer) error { return WriteHTML(w, run, timeline.Bytes()) }},
		{JUnitFile, func(w io.Writer) error { return WriteJUnit(w, run) }},
	}
	var files []string // what the directory holds, for summary.json
	for _, name := range []string{MetaFile, SamplesFile, EventsFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			files = append(files, name)
		}
	}
	var first error
	for _, wr := range writers {
		err := writeAtomic(filepath.Join(dir, wr.name), wr.write)
		if err == nil {
			files = append(files, wr.name)
		} else if first == nil {
			first = fmt.Errorf("%s: %w", wr.name, err)
		}
	}
	// Last, so that its presence says the reports were written.
	files = append(files, SummaryFile)
	err := writeAtomic(filepath.Join(dir, SummaryFile), func(w io.Writer) error { return WriteSummary(w, run, files) })
	if err != nil && first == nil {
		first = fmt.Errorf("%s: %w", SummaryFile, err)
	}
	return first
}

// writeAtomic writes path through a temporary file in the same directory
// and renames it into place, mode 0644.
func writeAtomic(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
