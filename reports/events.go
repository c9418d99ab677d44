package reports

import (
	"errors"
	"io"
	"math"
	"strconv"
	"sync"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// EventsHeader is the header of events.csv. The last two columns carry the
// rest of triggers.Hypervisor, so the file round-trips.
const EventsHeader = "name,kind,start_ms,end_ms,status,exit_code,error,output," +
	"hypervisor_downtime_ms,downtime_without_network_ms,total_time_ms,setup_time_ms," +
	"hypervisor_source,hypervisor_version"

var eventColumns = [14]string{"name", "kind", "start_ms", "end_ms", "status", "exit_code", "error", "output",
	"hypervisor_downtime_ms", "downtime_without_network_ms", "total_time_ms", "setup_time_ms",
	"hypervisor_source", "hypervisor_version"}

const (
	ecName = iota
	ecKind
	ecStart
	ecEnd
	ecStatus
	ecExit
	ecError
	ecOutput
	ecDowntime
	ecDowntimeNoNet
	ecTotal
	ecSetup
	ecSource
	ecVersion
)

var eventRequired = eventColumns[:ecDowntime]

// EventWriter streams events.csv. The runner writes an event when its
// trigger starts (status running, no end) and again when it ends, so a
// killed run still shows which trigger was under way. It is safe for
// concurrent use.
type EventWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error
}

// NewEventWriter writes the header to w and returns a writer for the rows.
func NewEventWriter(w io.Writer) (*EventWriter, error) {
	if _, err := io.WriteString(w, EventsHeader+"\n"); err != nil {
		return nil, err
	}
	return &EventWriter{w: w}, nil
}

// Write writes e as one row, in a single call to the underlying writer.
func (ew *EventWriter) Write(e triggers.Event) error {
	ew.mu.Lock()
	defer ew.mu.Unlock()
	if ew.err != nil {
		return ew.err
	}
	ew.buf = appendEvent(ew.buf[:0], e)
	if _, err := ew.w.Write(ew.buf); err != nil {
		ew.err = err
	}
	return ew.err
}

func appendEvent(b []byte, e triggers.Event) []byte {
	b = appendField(b, e.Name)
	b = append(b, ',')
	b = appendField(b, e.Kind)
	b = append(b, ',')
	b = appendMS(b, e.Start)
	b = append(b, ',')
	if e.Status != triggers.StatusRunning {
		b = appendMS(b, e.End)
	}
	b = append(b, ',')
	b = appendField(b, string(e.Status))
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.ExitCode), 10)
	b = append(b, ',')
	b = appendField(b, e.Error)
	b = append(b, ',')
	b = appendField(b, e.Output)
	h := e.Hypervisor
	if h == nil {
		return append(b, ",,,,,,\n"...)
	}
	b = append(b, ',')
	b = strconv.AppendFloat(b, h.DowntimeMS, 'f', -1, 64)
	for _, v := range [...]float64{h.DowntimeNoNetMS, h.TotalTimeMS, h.SetupTimeMS} {
		b = append(b, ',')
		if v != 0 { // 0: not reported
			b = strconv.AppendFloat(b, v, 'f', -1, 64)
		}
	}
	b = append(b, ',')
	b = appendField(b, h.Source)
	b = append(b, ',')
	b = appendField(b, h.Version)
	return append(b, '\n')
}

// ReadEvents reads the events.csv content in r. Rows of one firing are
// merged, the last row winning: a trigger whose end row is missing (a
// killed run) stays running. A trigger that fires again (a repeated
// scenario) after its previous firing ended is a new event. A truncated
// last line is ignored.
func ReadEvents(r io.Reader) ([]triggers.Event, error) {
	events, _, err := readEvents(r)
	return events, err
}

// readEvents also reports whether the input ended inside a row.
func readEvents(r io.Reader) ([]triggers.Event, bool, error) {
	rr := newRecordReader(r)
	cols, err := readHeader(rr, eventRequired)
	if err == io.EOF {
		return nil, rr.truncated, nil
	}
	if err != nil {
		return nil, false, err
	}
	var idx [len(eventColumns)]int
	for i, name := range eventColumns {
		idx[i] = cols.index(name)
	}
	var events []triggers.Event
	last := map[string]int{} // name -> index in events of its latest firing
	for {
		fields, err := rr.read()
		if err == io.EOF {
			return events, rr.truncated, nil
		}
		if err != nil {
			return nil, false, err
		}
		e, err := decodeEvent(fields, cols.n, idx, rr.line)
		if err != nil {
			return nil, false, err
		}
		if i, ok := last[e.Name]; ok && (events[i].Status == triggers.StatusRunning || events[i].Start == e.Start) {
			events[i] = e
			continue
		}
		last[e.Name] = len(events)
		events = append(events, e)
	}
}

func decodeEvent(f [][]byte, n int, idx [len(eventColumns)]int, line int) (triggers.Event, error) {
	var e triggers.Event
	if len(f) != n {
		return e, &LineError{Line: line, Err: errors.New("wrong number of fields: want " +
			strconv.Itoa(n) + ", got " + strconv.Itoa(len(f)))}
	}
	field := func(c int) []byte {
		if i := idx[c]; i >= 0 {
			return f[i]
		}
		return nil
	}
	bad := func(c int, err error) error { return fieldError(line, eventColumns[c], field(c), err) }
	var err error
	e.Name = string(field(ecName))
	e.Kind = string(field(ecKind))
	e.Status = triggers.Status(field(ecStatus))
	e.Error = string(field(ecError))
	e.Output = string(field(ecOutput))
	if e.Name == "" {
		return e, &LineError{Line: line, Field: "name", Err: errors.New("empty")}
	}
	if e.Start, err = parseMS(field(ecStart)); err != nil {
		return e, bad(ecStart, err)
	}
	if v := field(ecEnd); len(v) > 0 {
		if e.End, err = parseMS(v); err != nil {
			return e, bad(ecEnd, err)
		}
	}
	if v := field(ecExit); len(v) > 0 {
		if e.ExitCode, err = parseInt(v); err != nil {
			return e, bad(ecExit, err)
		}
	}
	var h triggers.Hypervisor
	known := false
	for _, hf := range [...]struct {
		c   int
		dst *float64
	}{{ecDowntime, &h.DowntimeMS}, {ecDowntimeNoNet, &h.DowntimeNoNetMS}, {ecTotal, &h.TotalTimeMS}, {ecSetup, &h.SetupTimeMS}} {
		v := field(hf.c)
		if len(v) == 0 {
			continue
		}
		x, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return e, bad(hf.c, errNumber)
		}
		*hf.dst = x
		known = true
	}
	if v := field(ecSource); len(v) > 0 {
		h.Source, known = string(v), true
	}
	if v := field(ecVersion); len(v) > 0 {
		h.Version, known = string(v), true
	}
	if known {
		e.Hypervisor = &h
	}
	return e, nil
}
