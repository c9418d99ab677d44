package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/downtime-lab/downtime/reports"
)

// runFiles are the files a run streams into while it goes.
type runFiles struct {
	samplesF, eventsF *rowFile
	samples           *reports.SampleWriter
}

// rowFile is a streamed CSV file that remembers how much of it holds
// whole rows: the writers hand it one row per Write, so after a failed
// write (a full disk) trim cuts off the part of a row that got through,
// and the file stays valid to its last byte. It wraps the *os.File rather
// than embedding it, so that no write (WriteString) goes around Write.
type rowFile struct {
	f     *os.File
	whole int64
}

func (rf *rowFile) Write(p []byte) (int, error) {
	n, err := rf.f.Write(p)
	if err == nil {
		rf.whole += int64(n)
	}
	return n, err
}

// trim truncates the file to its whole rows.
func (rf *rowFile) trim() error { return rf.f.Truncate(rf.whole) }

func (rf *rowFile) Close() error { return rf.f.Close() }

func (f *runFiles) close() {
	for _, c := range []*rowFile{f.samplesF, f.eventsF} {
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
		Kernel: kernel(), ScenarioHash: r.sc.Hash,
	}
	// The scenario as it was run, beside its results.
	if b, err := os.ReadFile(r.sc.File); err == nil {
		if err := writeFileSync(filepath.Join(dir, "scenario.yaml"), func(f *os.File) error { _, err := f.Write(b); return err }); err != nil {
			return nil, err
		}
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
			r.eventsF = f.eventsF
		}
	}
	if err != nil {
		f.close()
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	return f, nil
}

// kernel is the running kernel's release, as uname -r says.
func kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func create(dir, name string) (*rowFile, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &rowFile{f: f}, nil
}

// bareErr drops the operation and path of a file error, for messages
// that already name the file: "writing samples.csv: no space left on
// device".
func bareErr(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
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
		return fmt.Errorf("writing %s: %w", path, bareErr(err))
	}
	return nil
}
