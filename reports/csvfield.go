package reports

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// This file holds the CSV plumbing shared by the run directory's files:
// RFC 4180 quoting, millisecond formatting with microsecond resolution, and
// a record reader that tolerates a truncated last line. encoding/csv would
// do, but it allocates a string per field, and samples.csv of a long soak
// has millions of rows.

// appendField appends s as one CSV field, quoted only when it must be.
func appendField(b []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendMS appends d in milliseconds with three decimals (microsecond
// resolution), rounded to the nearest microsecond.
func appendMS(b []byte, d time.Duration) []byte {
	us := micros(d) / time.Microsecond
	u := uint64(us)
	if us < 0 {
		b = append(b, '-')
		u = uint64(-us)
	}
	b = strconv.AppendUint(b, u/1000, 10)
	frac := u % 1000
	return append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// appendBool appends 1 or 0.
func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, '1')
	}
	return append(b, '0')
}

// msFloat is d in milliseconds rounded to the microsecond, for JSON.
func msFloat(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)/time.Microsecond) / 1000
}

// msDuration converts a millisecond figure back to a Duration, saturating
// instead of overflowing on absurd input.
// micros rounds d to the microsecond, the resolution of the CSV files.
// Round saturates at the ends of the range, leaving a value that is no
// whole microsecond; that one is cut down instead, so it reads back the same.
func micros(d time.Duration) time.Duration {
	r := d.Round(time.Microsecond)
	if r%time.Microsecond != 0 {
		r = d.Truncate(time.Microsecond)
	}
	return r
}

func msDuration(ms float64) time.Duration {
	ns := math.Round(ms * 1e6)
	switch {
	case math.IsNaN(ns):
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(ns)
}

var errNumber = errors.New("invalid value")

// parseMS parses a millisecond figure such as "1234.567". The common
// form is parsed by hand without allocating; anything else (exponents,
// more decimals) goes through strconv.ParseFloat.
func parseMS(b []byte) (time.Duration, error) {
	neg := false
	s := b
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	var ms, frac uint64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		ms = ms*10 + uint64(s[i]-'0')
		if ms > math.MaxInt64/uint64(time.Millisecond) {
			return 0, errNumber
		}
	}
	digits := i
	scale := uint64(1e6) // ns per unit of the next decimal place, times 10
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && scale > 1; i++ {
			scale /= 10
			frac += uint64(s[i]-'0') * scale
			digits++
		}
	}
	if i != len(s) || digits == 0 {
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, errNumber
		}
		return msDuration(f), nil
	}
	// The largest duration is written as 9223372036854.775: it must read.
	if ms == math.MaxInt64/uint64(time.Millisecond) && frac > math.MaxInt64%uint64(time.Millisecond) {
		return 0, errNumber
	}
	d := time.Duration(ms)*time.Millisecond + time.Duration(frac)
	if neg {
		d = -d
	}
	return d, nil
}

// parseUint parses a decimal unsigned integer without allocating.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, errNumber
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errNumber
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, errNumber
		}
		n = n*10 + d
	}
	return n, nil
}

// parseInt parses a decimal int, optionally negative.
func parseInt(b []byte) (int, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, err := parseUint(b)
	if err != nil || u > math.MaxInt32 {
		return 0, errNumber
	}
	if neg {
		return -int(u), nil
	}
	return int(u), nil
}

// parseBool accepts 0/1 (what we write) and true/false.
func parseBool(b []byte) (bool, error) {
	switch string(b) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, errNumber
}

// LineError is a malformed row of a run directory CSV file.
type LineError struct {
	Line  int    // 1-based line number where the record starts
	Field string // column name, when one field is at fault
	Err   error
}

// Error says where the row is and what is wrong with it.
func (e *LineError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("line %d: %s: %v", e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *LineError) Unwrap() error { return e.Err }

// fieldError reports a field that does not parse, quoting (a prefix of)
// its text.
func fieldError(line int, name string, value []byte, err error) error {
	const max = 40
	v := string(value[:min(len(value), max)])
	if len(value) > max {
		v += "..."
	}
	return &LineError{Line: line, Field: name, Err: fmt.Errorf("%w: %q", err, v)}
}

// recordReader splits CSV records. A quoted field may span lines. A last
// record without its newline is what a killed writer leaves behind: it is
// dropped and remembered in truncated, never parsed.
type recordReader struct {
	br        *bufio.Reader
	line      int // line number of the record just read
	nextLine  int // line number of the next record
	truncated bool
	rec       []byte   // record assembled from several reads
	unq       []byte   // unquoted field bytes; fields may point into it
	fields    [][]byte // reused between records
}

// maxRecord bounds one record, so a corrupt file cannot eat the memory.
const maxRecord = 1 << 20

func newRecordReader(r io.Reader) *recordReader {
	return &recordReader{br: bufio.NewReaderSize(r, 64<<10), nextLine: 1}
}

// read returns the fields of the next non-empty record. They are valid
// until the next call. At the end it returns io.EOF.
func (r *recordReader) read() ([][]byte, error) {
	for {
		rec, err := r.readRecord()
		if err != nil {
			return nil, err
		}
		if len(rec) == 0 {
			continue // blank line
		}
		return r.split(rec)
	}
}

// readRecord returns one whole record without its line ending.
func (r *recordReader) readRecord() ([]byte, error) {
	r.line = r.nextLine
	r.rec = r.rec[:0]
	st := qFieldStart
	var rec []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err == io.EOF {
			if len(chunk) > 0 || len(r.rec) > 0 {
				r.truncated = true
			}
			return nil, io.EOF
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, err
		}
		st = scanQuotes(chunk, st)
		// A newline inside a quoted field does not end the record.
		complete := err == nil && st != qQuoted
		if err == nil {
			r.nextLine++
		}
		if complete && len(r.rec) == 0 {
			rec = chunk // the common case: one line, no copy
			break
		}
		r.rec = append(r.rec, chunk...)
		if len(r.rec) > maxRecord {
			return nil, &LineError{Line: r.line, Err: errors.New("record longer than 1 MiB")}
		}
		if complete {
			rec = r.rec
			break
		}
	}
	rec = rec[:len(rec)-1] // the newline
	if n := len(rec); n > 0 && rec[n-1] == '\r' {
		rec = rec[:n-1]
	}
	return rec, nil
}

// Quote states of a record being read, carried across lines.
const (
	qFieldStart = iota // at the start of a field
	qUnquoted          // inside an unquoted field
	qQuoted            // inside a quoted field
	qQuoteSeen         // just after a quote inside a quoted field
)

// scanQuotes advances the quote state over b. A quote opens a quoted field
// only at the start of a field, so a stray quote elsewhere (an error that
// split reports) cannot swallow the lines after it.
func scanQuotes(b []byte, st int) int {
	if len(b) == 0 {
		return st
	}
	if (st == qFieldStart || st == qUnquoted) && bytes.IndexByte(b, '"') < 0 {
		if b[len(b)-1] == ',' {
			return qFieldStart
		}
		return qUnquoted // the common case, without a byte-by-byte loop
	}
	for _, c := range b {
		switch st {
		case qFieldStart, qUnquoted:
			switch {
			case c == '"' && st == qFieldStart:
				st = qQuoted
			case c == ',':
				st = qFieldStart
			default:
				st = qUnquoted
			}
		case qQuoted:
			if c == '"' {
				st = qQuoteSeen
			}
		case qQuoteSeen:
			switch c {
			case '"':
				st = qQuoted
			case ',':
				st = qFieldStart
			default:
				st = qUnquoted
			}
		}
	}
	return st
}

// split cuts a record into fields, unquoting where needed.
func (r *recordReader) split(rec []byte) ([][]byte, error) {
	r.fields = r.fields[:0]
	if bytes.IndexByte(rec, '"') < 0 { // the common case: no quoting at all
		start := 0
		for i, c := range rec {
			if c == ',' {
				r.fields = append(r.fields, rec[start:i])
				start = i + 1
			}
		}
		r.fields = append(r.fields, rec[start:])
		return r.fields, nil
	}
	if cap(r.unq) < len(rec) {
		r.unq = make([]byte, 0, len(rec)) // never grows below, so fields stay valid
	}
	r.unq = r.unq[:0]
	for {
		if len(rec) == 0 || rec[0] != '"' {
			i := bytes.IndexByte(rec, ',')
			if i < 0 {
				r.fields = append(r.fields, rec)
				return r.fields, nil
			}
			if bytes.IndexByte(rec[:i], '"') >= 0 {
				return nil, &LineError{Line: r.line, Err: errors.New("quote inside an unquoted field")}
			}
			r.fields = append(r.fields, rec[:i])
			rec = rec[i+1:]
			continue
		}
		start := len(r.unq)
		rec = rec[1:]
		for {
			i := bytes.IndexByte(rec, '"')
			if i < 0 {
				return nil, &LineError{Line: r.line, Err: errors.New("unterminated quoted field")}
			}
			r.unq = append(r.unq, rec[:i]...)
			rec = rec[i+1:]
			if len(rec) > 0 && rec[0] == '"' {
				r.unq = append(r.unq, '"')
				rec = rec[1:]
				continue
			}
			break
		}
		r.fields = append(r.fields, r.unq[start:len(r.unq):len(r.unq)])
		if len(rec) == 0 {
			return r.fields, nil
		}
		if rec[0] != ',' {
			return nil, &LineError{Line: r.line, Err: errors.New("text after a closing quote")}
		}
		rec = rec[1:]
	}
}

// columns maps a header to field positions of the names we know.
type columns struct {
	n   int            // fields per record
	pos map[string]int // name -> index
}

// readHeader reads the header record and checks the required names.
func readHeader(r *recordReader, required []string) (columns, error) {
	fields, err := r.read()
	if err != nil {
		return columns{}, err
	}
	c := columns{n: len(fields), pos: make(map[string]int, len(fields))}
	for i, f := range fields {
		c.pos[string(f)] = i
	}
	for _, name := range required {
		if _, ok := c.pos[name]; !ok {
			return columns{}, &LineError{Line: r.line, Err: fmt.Errorf("header lacks column %q", name)}
		}
	}
	return c, nil
}

// index is the position of name, or -1 when the header lacks it.
func (c columns) index(name string) int {
	if i, ok := c.pos[name]; ok {
		return i
	}
	return -1
}

// interner shares the strings that repeat on every row (probe, target,
// address, common errors), so reading a million rows does not allocate a
// million copies of the same name.
type interner map[string]string

const maxInterned = 4096

func (m interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(m) < maxInterned {
		m[s] = s
	}
	return s
}
