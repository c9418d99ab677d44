package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
)

func writeSamples(t testing.TB, samples []probes.Sample) []byte {
	t.Helper()
	var buf bytes.Buffer
	sw, err := NewSampleWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := sw.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if sw.Count() != len(samples) {
		t.Fatalf("Count = %d, want %d", sw.Count(), len(samples))
	}
	return buf.Bytes()
}

func TestSampleWriterGolden(t *testing.T) {
	golden(t, "samples.csv", writeSamples(t, goldenSamples()))
}

// roundTripped is s as samples.csv keeps it: times to the microsecond.
func roundTripped(s probes.Sample) probes.Sample {
	s.Scheduled = micros(s.Scheduled)
	s.Sent = micros(s.Sent)
	s.RTT = micros(s.RTT)
	if s.Lost {
		s.RTT = 0
	}
	return s
}

func TestSamplesRoundTrip(t *testing.T) {
	in := goldenSamples()
	in = append(in, probes.Sample{Probe: `p,"q"`, Target: "t\r\nu", Seq: 1<<64 - 1, Scheduled: -3 * time.Millisecond, Sent: 0, Lost: true, Err: `""`, Session: 12})
	got, err := ReadAllSamples(bytes.NewReader(writeSamples(t, in)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("read %d samples, want %d", len(got), len(in))
	}
	for i := range in {
		if want := roundTripped(in[i]); got[i] != want {
			t.Errorf("sample %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
}

// countingWriter counts Write calls, to check one call per row.
type countingWriter struct {
	bytes.Buffer
	calls int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls++
	return c.Buffer.Write(p)
}

func TestSampleWriterOneWritePerRow(t *testing.T) {
	var cw countingWriter
	sw, err := NewSampleWriter(&cw)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range goldenSamples() {
		before := cw.calls
		if err := sw.Write(s); err != nil {
			t.Fatal(err)
		}
		if cw.calls != before+1 {
			t.Fatalf("Write made %d calls, want 1", cw.calls-before)
		}
		if !bytes.HasSuffix(cw.Bytes(), []byte("\n")) {
			t.Fatal("row not complete after Write")
		}
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after == 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestSampleWriterStickyError(t *testing.T) {
	sw, err := NewSampleWriter(&failingWriter{after: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := goldenSamples()[0]
	if err := sw.Write(s); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := sw.Write(s); err == nil {
			t.Fatal("Write after a failure succeeded")
		}
	}
	if sw.Count() != 1 {
		t.Errorf("Count = %d, want 1", sw.Count())
	}
	if _, err := NewSampleWriter(&failingWriter{}); err == nil {
		t.Error("NewSampleWriter ignored a failed header write")
	}
}

func TestReadSamplesTruncated(t *testing.T) {
	full := writeSamples(t, goldenSamples())
	n := len(goldenSamples())
	// Cut the last row anywhere: inside a field, inside a quoted field that
	// holds a newline (sample 2), or just before its newline.
	lastRow := bytes.LastIndexByte(full[:len(full)-1], '\n') + 1
	for cut := lastRow + 1; cut < len(full); cut++ {
		sr := NewSampleReader(bytes.NewReader(full[:cut]))
		rows := 0
		for {
			_, err := sr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("cut at %d: %v", cut, err)
			}
			rows++
		}
		if rows != n-1 || sr.Rows() != n-1 || !sr.Truncated() {
			t.Fatalf("cut at %d: rows %d (Rows %d), truncated %v; want %d, true", cut, rows, sr.Rows(), sr.Truncated(), n-1)
		}
	}
	// Cut inside the quoted, multi-line error of sample 2.
	i := bytes.Index(full, []byte("second line"))
	got, err := ReadAllSamples(bytes.NewReader(full[:i]))
	if err != nil || len(got) != 2 {
		t.Errorf("cut inside a quoted newline: %d samples, %v; want 2, nil", len(got), err)
	}
	// Whole file: not truncated.
	sr := NewSampleReader(bytes.NewReader(full))
	for {
		if _, err := sr.Read(); err != nil {
			break
		}
	}
	if sr.Truncated() || sr.Rows() != n {
		t.Errorf("whole file: rows %d truncated %v", sr.Rows(), sr.Truncated())
	}
}

func TestReadSamplesEdgeInputs(t *testing.T) {
	header := SamplesHeader + "\n"
	row := "ping,web,0,0.000,0.120,0.310,0,,10.0.0.2,,\n"
	tests := []struct {
		name    string
		in      string
		rows    int
		errLine int // 0: no error
	}{
		{"empty", "", 0, 0},
		{"half header", "probe,tar", 0, 0},
		{"header only", header, 0, 0},
		{"crlf", strings.ReplaceAll(header+row+row, "\n", "\r\n"), 2, 0},
		{"blank lines", header + "\n" + row + "\n" + row, 2, 0},
		{"contract columns only", "probe,target,seq,scheduled_ms,sent_ms,rtt_ms,lost,error\nping,web,3,1,2,0.5,0,\n", 1, 0},
		{"extra column", "extra," + header + "x," + row, 1, 0},
		{"missing column", "probe,target,seq\nping,web,1\n", 0, 1},
		{"bad seq", header + row + "ping,web,x,0,0,0,0,,,,\n", 1, 3},
		{"negative seq", header + "ping,web,-1,0,0,0,0,,,,\n", 0, 2},
		{"bad time", header + "ping,web,1,1.2.3,0,0,0,,,,\n", 0, 2},
		{"bad lost", header + "ping,web,1,0,0,0,2,,,,\n", 0, 2},
		{"answered without rtt", header + "ping,web,1,0,0,,0,,,,\n", 0, 2},
		{"too few fields", header + row + "ping,web,1\n", 1, 3},
		{"too many fields", header + "ping,web,1,0,0,0,0,,,,,\n", 0, 2},
		{"bare quote", header + "pi\"ng,web,1,0,0,0,0,,,,\n", 0, 2},
		{"text after quote", header + "\"ping\"x,web,1,0,0,0,0,,,,\n", 0, 2},
		{"huge ms", header + "ping,web,1,99999999999999999,0,0,0,,,,\n", 0, 2},
		{"exponent ms", header + "ping,web,1,1e3,0,0,0,,,,\n", 1, 0},
		{"line after multi-line row", header + "ping,web,1,0,0,0,1,\"a\nb\",,,\nping,web,x,0,0,0,0,,,,\n", 1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := 0
			err := ReadSamples(strings.NewReader(tt.in), func(probes.Sample) error { rows++; return nil })
			if rows != tt.rows {
				t.Errorf("rows = %d, want %d", rows, tt.rows)
			}
			var le *LineError
			switch {
			case tt.errLine == 0 && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.errLine != 0 && !errors.As(err, &le):
				t.Errorf("error = %v, want a *LineError", err)
			case tt.errLine != 0 && le.Line != tt.errLine:
				t.Errorf("error at line %d, want %d: %v", le.Line, tt.errLine, err)
			}
		})
	}
}

func TestReadSamplesExponentValue(t *testing.T) {
	got, err := ReadAllSamples(strings.NewReader("probe,target,seq,scheduled_ms,sent_ms,rtt_ms,lost,error\np,t,1,1e3,2.5,0.0000015,0,\n"))
	if err != nil || len(got) != 1 {
		t.Fatal(len(got), err)
	}
	if s := got[0]; s.Scheduled != time.Second || s.Sent != 2500*time.Microsecond || s.RTT != 2 {
		t.Errorf("got %+v", s)
	}
}

func TestReadSamplesCallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := ReadSamples(bytes.NewReader(writeSamples(t, goldenSamples())), func(probes.Sample) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("err %v after %d calls, want stop after 1", err, calls)
	}
}

func TestParseMSMatchesAppendMS(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 499, 500, time.Microsecond, 999 * time.Microsecond, time.Millisecond,
		-time.Millisecond, -1500 * time.Nanosecond, 123456789 * time.Microsecond, 1<<62 - 1} {
		b := appendMS(nil, d)
		got, err := parseMS(b)
		if err != nil {
			t.Errorf("parseMS(%q): %v", b, err)
			continue
		}
		if want := d.Round(time.Microsecond); got != want {
			t.Errorf("%v -> %q -> %v, want %v", d, b, got, want)
		}
	}
}

func FuzzReadSamples(f *testing.F) {
	var buf bytes.Buffer
	sw, _ := NewSampleWriter(&buf)
	for _, s := range goldenSamples() {
		sw.Write(s)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(SamplesHeader + "\n\"a\"\"b\",t,1,2,3,,1,\"x\ny\",,,\n"))
	f.Add([]byte("probe,target,seq,scheduled_ms,sent_ms,rtt_ms,lost,error\np,t,1,1e3,-2.5,,1,\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sr := NewSampleReader(bytes.NewReader(data))
		var got []probes.Sample
		for {
			s, err := sr.Read()
			if err != nil {
				break
			}
			got = append(got, s)
		}
		if sr.Rows() != len(got) {
			t.Fatalf("Rows %d, read %d", sr.Rows(), len(got))
		}
		// What was read writes back and reads again the same.
		again, err := ReadAllSamples(bytes.NewReader(writeSamples(t, got)))
		if err != nil {
			t.Fatalf("rewritten samples do not read: %v", err)
		}
		for i := range got {
			if want := roundTripped(got[i]); again[i] != want {
				t.Fatalf("sample %d: %+v, want %+v", i, again[i], want)
			}
		}
	})
}

// millionRows is samples.csv content of n rows, like a long soak: four
// probes, some loss, the odd error string.
func millionRows(b testing.TB, n int) []byte {
	var buf bytes.Buffer
	buf.Grow(n * 64)
	sw, _ := NewSampleWriter(&buf)
	for i := range n {
		s := probes.Sample{Probe: fmt.Sprint("probe", i%4), Target: "web", Address: "10.0.0.2", Seq: uint64(i / 4),
			Scheduled: time.Duration(i) * 2500 * time.Microsecond, Sent: time.Duration(i)*2500*time.Microsecond + 87*time.Microsecond,
			RTT: 312 * time.Microsecond}
		if i%100 == 0 {
			s.Lost, s.Err = true, "timeout"
		}
		sw.Write(s)
	}
	return buf.Bytes()
}

func BenchmarkReadSamples1M(b *testing.B) {
	data := millionRows(b, 1_000_000)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		rows := 0
		if err := ReadSamples(bytes.NewReader(data), func(probes.Sample) error { rows++; return nil }); err != nil || rows != 1_000_000 {
			b.Fatal(rows, err)
		}
	}
}

func BenchmarkWriteSample(b *testing.B) {
	sw, _ := NewSampleWriter(io.Discard)
	s := goldenSamples()[3]
	b.ReportAllocs()
	for b.Loop() {
		sw.Write(s)
	}
}
