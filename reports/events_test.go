package reports

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// writeEvents streams events the way the runner does: a running row at
// each start, and the final row at each end.
func writeEvents(t *testing.T, events []triggers.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	ew, err := NewEventWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		started := e
		started.Status, started.End, started.ExitCode, started.Error, started.Hypervisor = triggers.StatusRunning, 0, -1, "", nil
		if err := ew.Write(started); err != nil {
			t.Fatal(err)
		}
		if err := ew.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestEventsGolden(t *testing.T) {
	golden(t, "events.csv", writeEvents(t, goldenRun().Events))
}

func TestEventsRoundTrip(t *testing.T) {
	want := goldenRun().Events
	got, err := ReadEvents(bytes.NewReader(writeEvents(t, want)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestEventsRunningThenOK(t *testing.T) {
	data := writeEvents(t, goldenRun().Events)
	// Killed after the first trigger's start row: it shows as running.
	firstRows := bytes.SplitAfterN(data, []byte("\n"), 3)
	got, err := ReadEvents(bytes.NewReader(append(firstRows[0], firstRows[1]...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != triggers.StatusRunning || got[0].Name != "migrate" {
		t.Fatalf("got %+v, want migrate running", got)
	}
	// Killed while writing the end row: still running, and truncated.
	cut := len(firstRows[0]) + len(firstRows[1]) + 10
	got, truncated, err := readEvents(bytes.NewReader(data[:cut]))
	if err != nil || !truncated || len(got) != 1 || got[0].Status != triggers.StatusRunning {
		t.Fatalf("got %+v truncated %v err %v", got, truncated, err)
	}
}

func TestEventsRepeatedName(t *testing.T) {
	e := triggers.Event{Name: "migrate", Kind: "qmp", Start: time.Second, End: 2 * time.Second, Status: triggers.StatusOK, ExitCode: -1}
	again := e
	again.Start, again.End, again.Status = 10*time.Second, 11*time.Second, triggers.StatusFailed
	got, err := ReadEvents(bytes.NewReader(writeEvents(t, []triggers.Event{e, again})))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Status != triggers.StatusOK || got[1].Status != triggers.StatusFailed {
		t.Errorf("got %+v, want two firings", got)
	}
}

func TestEventsMalformed(t *testing.T) {
	for _, in := range []string{
		"name,kind\nx,y\n",
		EventsHeader + "\nx,exec,zz,,ok,0,,,,,,,,\n",
		EventsHeader + "\n,exec,1,,ok,0,,,,,,,,\n",
		EventsHeader + "\nx,exec,1,2,ok,0,,,NaN,,,,,\n",
		EventsHeader + "\nx,exec,1,2,ok,0,,\n",
	} {
		if _, err := ReadEvents(strings.NewReader(in)); err == nil {
			t.Errorf("no error for %q", in)
		}
	}
	if got, err := ReadEvents(strings.NewReader("")); err != nil || got != nil {
		t.Errorf("empty input: %v %v", got, err)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	lost, pct := 3, 1.5
	want := goldenRun().Meta
	want.Thresholds["snmp"] = Threshold{MaxLost: &lost, MaxLossPct: &pct, MaxGap: 1500 * time.Microsecond}
	var buf bytes.Buffer
	if err := WriteMeta(&buf, want); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"interval_ms": 10`, `"stall_ms": 500`, `"max_gap_ms": 2000`, `"max_stall_ms": 1000`, `"started": "2026-11-25T16:46:20Z"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("meta.json lacks %s:\n%s", key, buf.String())
		}
	}
	got, err := ReadMeta(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if _, err := ReadMeta(strings.NewReader(`{"probes": 3}`)); err == nil {
		t.Error("ReadMeta accepted a bad meta.json")
	}
}

// TestMetaKeepsEveryDuration guards against a duration field added to
// ProbeMeta or Threshold (json:"-") that meta.json would silently drop.
func TestMetaKeepsEveryDuration(t *testing.T) {
	var pm ProbeMeta
	var th Threshold
	n := 0
	for _, v := range []reflect.Value{reflect.ValueOf(&pm).Elem(), reflect.ValueOf(&th).Elem()} {
		for i := range v.NumField() {
			if f := v.Field(i); f.Type() == reflect.TypeFor[time.Duration]() {
				n++
				f.SetInt(int64(n) * int64(time.Millisecond))
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteMeta(&buf, Meta{Probes: []ProbeMeta{pm}, Thresholds: map[string]Threshold{"p": th}}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMeta(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Probes[0], pm) || !reflect.DeepEqual(got.Thresholds["p"], th) {
		t.Errorf("durations lost in meta.json:\n got %+v %+v\nwant %+v %+v", got.Probes[0], got.Thresholds["p"], pm, th)
	}
}

func TestReadMetaRejectsGarbage(t *testing.T) {
	if _, err := ReadMeta(strings.NewReader(`{"probes": 3}`)); err == nil {
		t.Error("ReadMeta accepted a bad meta.json")
	}
}

func FuzzReadEvents(f *testing.F) {
	var buf bytes.Buffer
	ew, _ := NewEventWriter(&buf)
	for _, e := range goldenRun().Events {
		ew.Write(e)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(EventsHeader + "\nx,exec,1,,running,0,\"a\nb\",,,,,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := ReadEvents(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What was read writes back and reads again the same.
		var out bytes.Buffer
		ew, _ := NewEventWriter(&out)
		for _, e := range events {
			ew.Write(e)
		}
		again, err := ReadEvents(&out)
		if err != nil {
			t.Fatalf("rewritten events do not read: %v", err)
		}
		if len(again) != len(events) {
			t.Fatalf("%d events, then %d", len(events), len(again))
		}
	})
}
