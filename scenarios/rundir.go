package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/downtime-lab/downtime/reports"
)

// runFiles are the files a run streams into while it goes.
type runFiles struct {
	samplesF, eventsF *os.File
	samples           *reports.SampleWriter
}

func (f *runFiles) close() {
	for _, c := range []*os.File{f.samplesF, f.eventsF} {
		if c != nil {
			c.Close()
		}
	}
	f.samplesF, f.eventsF = nil, nil
}

// openDir creates the run directory and the files that stream during the
// run, and writes meta.json, so that any failure to write shows here,
// before a probe or trigger starts.
func (r *runner) openDir() (*runFiles, error) {
	dir := r.opt.Dir
	if dir == "" {
		return nil, errors.New("no run directory given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating run directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, reports.SamplesFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a run; choose another directory with -o", dir)
	}
	host, _ := os.Hostname()
	meta := reports.Meta{
		Scenario: r.sc.Name, File: r.sc.File, Started: r.clock.Start(),
		Probes: metaOf(r.sc), Thresholds: thresholdsOf(r.sc),
		Tool: r.opt.Version, Host: host, Lab: r.opt.Lab,
	}
	if err := writeFileSync(filepath.Join(dir, reports.MetaFile), func(f *os.File) error { return reports.WriteMeta(f, meta) }); err != nil {
		return nil, err
	}
	f := &runFiles{}
	var err error
	if f.samplesF, err = create(dir, reports.SamplesFile); err == nil {
		f.samples, err = reports.NewSampleWriter(f.samplesF)
	}
	if err == nil {
		if f.eventsF, err = create(dir, reports.EventsFile); err == nil {
			r.events, err = reports.NewEventWriter(f.eventsF)
		}
	}
	if err != nil {
		f.close()
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	return f, nil
}

func create(dir, name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
}

// writeFileSync writes a whole file and syncs it, so a full disk is an
// error now rather than a short file later.
func writeFileSync(path string, fill func(*os.File) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
