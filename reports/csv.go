package reports

import (
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/downtime-lab/downtime/probes"
)

// SamplesHeader is the header of samples.csv. The first eight columns are a
// contract with users; the rest may grow.
const SamplesHeader = "probe,target,seq,scheduled_ms,sent_ms,rtt_ms,lost,error,address,session,value"

// sampleRequired are the contract columns a reader insists on.
var sampleRequired = []string{"probe", "target", "seq", "scheduled_ms", "sent_ms", "rtt_ms", "lost", "error"}

// SampleWriter streams samples as samples.csv rows. Each Write hands one
// whole row to the underlying writer in a single call, so with an *os.File
// every row is on disk (in the page cache) when Write returns, and a killed
// run loses at most the row being written. It is safe for concurrent use.
type SampleWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	n   int
	err error // sticky: after a failed write the file may hold half a row
}

// NewSampleWriter writes the header to w and returns a writer for the rows.
func NewSampleWriter(w io.Writer) (*SampleWriter, error) {
	sw := &SampleWriter{w: w, buf: make([]byte, 0, 256)}
	if _, err := io.WriteString(w, SamplesHeader+"\n"); err != nil {
		return nil, err
	}
	return sw, nil
}

// Write writes one sample as one row.
func (sw *SampleWriter) Write(s probes.Sample) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.err != nil {
		return sw.err
	}
	sw.buf = appendSample(sw.buf[:0], s)
	if _, err := sw.w.Write(sw.buf); err != nil {
		sw.err = err
		return err
	}
	sw.n++
	return nil
}

// Count is the number of rows written so far.
func (sw *SampleWriter) Count() int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.n
}

// appendSample formats s as a row ending in a newline.
func appendSample(b []byte, s probes.Sample) []byte {
	b = appendField(b, s.Probe)
	b = append(b, ',')
	b = appendField(b, s.Target)
	b = append(b, ',')
	b = strconv.AppendUint(b, s.Seq, 10)
	b = append(b, ',')
	b = appendMS(b, s.Scheduled)
	b = append(b, ',')
	b = appendMS(b, s.Sent)
	b = append(b, ',')
	if !s.Lost {
		b = appendMS(b, s.RTT)
	}
	b = append(b, ',')
	b = appendBool(b, s.Lost)
	b = append(b, ',')
	b = appendField(b, s.Err)
	b = append(b, ',')
	b = appendField(b, s.Address)
	b = append(b, ',')
	if s.Session != 0 {
		b = strconv.AppendInt(b, int64(s.Session), 10)
	}
	b = append(b, ',')
	b = appendField(b, s.Value)
	return append(b, '\n')
}

// SampleReader reads samples.csv row by row. Columns are found by their
// header names, so files with extra or reordered columns still read.
type SampleReader struct {
	rr     *recordReader
	cols   columns
	idx    [11]int // positions of the SamplesHeader names, -1 when absent
	header bool
	rows   int
	err    error // sticky: a reader does not resynchronise after a bad row
	names  interner
}

// NewSampleReader returns a reader of the samples.csv content in r.
func NewSampleReader(r io.Reader) *SampleReader {
	return &SampleReader{rr: newRecordReader(r), names: interner{}}
}

// Read returns the next sample, and io.EOF after the last complete row.
// A last line without its newline (a writer killed mid-row) is dropped, and
// Truncated tells so afterwards. Any other malformed row is a *LineError.
func (sr *SampleReader) Read() (probes.Sample, error) {
	if sr.err != nil {
		return probes.Sample{}, sr.err
	}
	s, err := sr.read()
	if err != nil {
		sr.err = err
		return probes.Sample{}, err
	}
	sr.rows++
	return s, nil
}

func (sr *SampleReader) read() (probes.Sample, error) {
	if !sr.header {
		cols, err := readHeader(sr.rr, sampleRequired)
		if err != nil {
			return probes.Sample{}, err
		}
		sr.cols = cols
		for i, name := range sampleColumns {
			sr.idx[i] = cols.index(name)
		}
		sr.header = true
	}
	fields, err := sr.rr.read()
	if err != nil {
		return probes.Sample{}, err
	}
	return sr.decode(fields)
}

// Rows is the number of samples read so far.
func (sr *SampleReader) Rows() int { return sr.rows }

// Truncated reports whether the input ended inside a row (or the header).
func (sr *SampleReader) Truncated() bool { return sr.rr.truncated }

// sampleColumns is SamplesHeader split, in the order of SampleReader.idx.
var sampleColumns = [11]string{"probe", "target", "seq", "scheduled_ms", "sent_ms", "rtt_ms", "lost", "error", "address", "session", "value"}

const (
	scProbe = iota
	scTarget
	scSeq
	scScheduled
	scSent
	scRTT
	scLost
	scError
	scAddress
	scSession
	scValue
)

func (sr *SampleReader) decode(f [][]byte) (probes.Sample, error) {
	if len(f) != sr.cols.n {
		return probes.Sample{}, &LineError{Line: sr.rr.line, Err: errors.New("wrong number of fields: want " +
			strconv.Itoa(sr.cols.n) + ", got " + strconv.Itoa(len(f)))}
	}
	field := func(c int) []byte {
		if i := sr.idx[c]; i >= 0 {
			return f[i]
		}
		return nil
	}
	bad := func(c int, err error) error {
		return fieldError(sr.rr.line, sampleColumns[c], field(c), err)
	}
	var s probes.Sample
	var err error
	s.Probe = sr.names.get(field(scProbe))
	s.Target = sr.names.get(field(scTarget))
	s.Address = sr.names.get(field(scAddress))
	s.Err = sr.names.get(field(scError))
	if v := field(scValue); len(v) > 0 {
		s.Value = string(v)
	}
	if s.Seq, err = parseUint(field(scSeq)); err != nil {
		return s, bad(scSeq, err)
	}
	if s.Scheduled, err = parseMS(field(scScheduled)); err != nil {
		return s, bad(scScheduled, err)
	}
	if s.Sent, err = parseMS(field(scSent)); err != nil {
		return s, bad(scSent, err)
	}
	if s.Lost, err = parseBool(field(scLost)); err != nil {
		return s, bad(scLost, err)
	}
	if rtt := field(scRTT); len(rtt) > 0 || !s.Lost {
		if s.RTT, err = parseMS(rtt); err != nil {
			return s, bad(scRTT, err)
		}
	}
	if v := field(scSession); len(v) > 0 {
		if s.Session, err = parseInt(v); err != nil {
			return s, bad(scSession, err)
		}
	}
	return s, nil
}

// ReadSamples streams the samples.csv content in r to fn, one sample at a
// time, so memory stays flat however long the run was. It stops at the
// first error of fn. A truncated last line is ignored; use SampleReader to
// learn whether there was one.
func ReadSamples(r io.Reader, fn func(probes.Sample) error) error {
	sr := NewSampleReader(r)
	for {
		s, err := sr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(s); err != nil {
			return err
		}
	}
}

// ReadAllSamples reads every sample of the samples.csv content in r.
func ReadAllSamples(r io.Reader) ([]probes.Sample, error) {
	var all []probes.Sample
	err := ReadSamples(r, func(s probes.Sample) error {
		all = append(all, s)
		return nil
	})
	return all, err
}
