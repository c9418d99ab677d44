package reports

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// fakeRun is one analysed run of the compare fixtures: ping (icmp) with
// its max gap and lost attempts, ssh with its max gap and stall, and a
// migration with the hypervisor's downtime.
func fakeRun(pingGapMS float64, pingLost int, sshStallMS, hvMS float64) *Run {
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	return &Run{
		Meta: Meta{Scenario: "migrate web"},
		Probes: []ProbeResult{
			{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp", Address: "10.0.0.2", Interval: 10 * time.Millisecond},
				Sent: 1000, Lost: pingLost, MaxGap: d(pingGapMS)},
			{ProbeMeta: ProbeMeta{Name: "ssh", Kind: "ssh", Address: "10.0.0.2:22", Interval: 200 * time.Millisecond},
				Sent: 50, MaxGap: d(sshStallMS), MaxStall: d(sshStallMS), Survived: true, Sessions: 1},
		},
		Events: []triggers.Event{{Name: "migrate", Kind: "qmp", Status: triggers.StatusOK,
			Hypervisor: &triggers.Hypervisor{DowntimeMS: hvMS}}},
	}
}

// compareFixture: ping got worse (gaps and loss), ssh stayed the same,
// the hypervisor's downtime fell, snmp is measured in the candidate only,
// and one candidate run was cut short.
func compareFixture() (RunSet, RunSet) {
	base := RunSet{Dir: "runs/before", Names: []string{"r01", "r02", "r03", "r04", "r05"}}
	cand := RunSet{Dir: "runs/after", Names: []string{"r01", "r02", "r03", "r04", "r05"}}
	for _, v := range []struct {
		gap  float64
		lost int
		ssh  float64
		hv   float64
	}{{80, 7, 600, 52}, {85, 8, 640, 55}, {90, 9, 610, 50}, {82, 8, 700, 53}, {95, 8, 590, 51}} {
		base.Runs = append(base.Runs, fakeRun(v.gap, v.lost, v.ssh, v.hv))
	}
	for _, v := range []struct {
		gap  float64
		lost int
		ssh  float64
		hv   float64
	}{{150, 15, 620, 30}, {160, 16, 605, 31}, {155, 15, 680, 29}, {170, 17, 630, 32}, {165, 16, 650, 28}} {
		r := fakeRun(v.gap, v.lost, v.ssh, v.hv)
		r.Probes = append(r.Probes, ProbeResult{ProbeMeta: ProbeMeta{Name: "snmp", Kind: "snmp", Address: "10.0.0.2:161"}, Sent: 100, MaxGap: 200 * time.Millisecond, Lost: 2})
		cand.Runs = append(cand.Runs, r)
	}
	cand.Runs[2].Partial, cand.Runs[2].Reason = true, "the run did not finish (summary.json is missing)"
	return base, cand
}

func TestCompare(t *testing.T) {
	base, cand := compareFixture()
	c := Compare(base, cand, Tolerance{Pct: 10})
	got := map[string]Change{}
	for _, m := range c.Metrics {
		got[m.Subject+" "+m.Metric] = m.Change
	}
	want := map[string]Change{
		"ping max_gap_ms":                        Regressed,
		"ping lost":                              Regressed,
		"ssh max_gap_ms":                         NoChange,
		"ssh lost":                               NoChange,
		"ssh max_stall_ms":                       NoChange,
		"trigger migrate hypervisor_downtime_ms": Improved,
		"snmp max_gap_ms":                        NotCompared,
		"snmp lost":                              NotCompared,
	}
	if len(got) != len(want) {
		t.Errorf("metrics %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	subjects := []SubjectVerdict{{"ping", Regressed}, {"ssh", NoChange}, {"trigger migrate", Improved}, {"snmp", NotCompared}}
	if !slices.Equal(c.Subjects, subjects) {
		t.Errorf("subjects %v, want %v", c.Subjects, subjects)
	}
	if !c.Regressed() {
		t.Error("not regressed")
	}
	m := c.Metrics[0]
	if m.Subject != "ping" || m.Metric != "max_gap_ms" || m.Base.P50 != 85 || m.Cand.P50 != 160 || m.Delta != 75 ||
		math.Abs(m.P-2.0/252) > 1e-12 || !m.Exact || m.Allowed != 8.5 {
		t.Errorf("ping max gap: %+v", m)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "candidate run r03 is partial") {
		t.Errorf("notes %q", c.Notes)
	}
}

func TestCompareTolerance(t *testing.T) {
	base, cand := compareFixture()
	// 100 ms absolute: ping's +75 ms gap is within it, and 100 ms at a
	// 10 ms interval allows 10 more lost attempts, more than +8.
	c := Compare(base, cand, Tolerance{Abs: 100 * time.Millisecond})
	if c.Regressed() {
		t.Errorf("regressed within an absolute tolerance: %+v", c.Subjects)
	}
	if c.Metrics[1].Metric != "lost" || c.Metrics[1].Allowed != 10 {
		t.Errorf("lost tolerance %+v", c.Metrics[1])
	}
}

func TestCompareSmallSamples(t *testing.T) {
	one := func(gap float64) RunSet {
		return RunSet{Dir: "x", Names: []string{"."}, Runs: []*Run{fakeRun(gap, 0, 600, 50)}}
	}
	c := Compare(one(80), one(200), Tolerance{Pct: 10})
	m := c.Metrics[0]
	if m.Change != Regressed || !math.IsNaN(m.P) || !strings.Contains(m.Note, "single run") {
		t.Errorf("single runs: %+v", m)
	}
	if c.Metrics[1].Change != NoChange { // lost 0 vs 0
		t.Errorf("single runs, equal: %+v", c.Metrics[1])
	}

	three := func(gaps ...float64) RunSet {
		s := RunSet{Dir: "x"}
		for _, g := range gaps {
			s.Runs = append(s.Runs, fakeRun(g, 0, 600, 50))
		}
		return s
	}
	c = Compare(three(80, 81, 82), three(200, 210, 220), Tolerance{Pct: 10})
	m = c.Metrics[0]
	if m.Change != NoChange || math.Abs(m.P-0.1) > 1e-12 || !strings.Contains(m.Note, "cannot go below 0.10") {
		t.Errorf("3 vs 3: %+v", m)
	}
}

func TestParseTolerance(t *testing.T) {
	for in, want := range map[string]Tolerance{"10%": {Pct: 10}, " 2.5 % ": {Pct: 2.5}, "0%": {}, "50ms": {Abs: 50 * time.Millisecond}, "1s": {Abs: time.Second}} {
		if got, err := ParseTolerance(in); err != nil || got != want {
			t.Errorf("ParseTolerance(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ten", "-5%", "NaN%", "-50ms", "0s", "%"} {
		if _, err := ParseTolerance(in); err == nil {
			t.Errorf("ParseTolerance(%q) accepted", in)
		}
	}
}

func TestCompareGolden(t *testing.T) {
	base, cand := compareFixture()
	c := Compare(base, cand, Tolerance{Pct: 10})
	var md, html bytes.Buffer
	if err := WriteCompareMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.md", md.Bytes())
	if err := WriteCompareHTML(&html, c, []byte("PNG placeholder")); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.html", html.Bytes())
	for _, want := range []string{`<span class="verdict fail">REGRESSED</span>`, "&#43;75.0 ms (&#43;88%)", `src="data:image/png;base64,`} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("compare.html lacks %q", want)
		}
	}
}

// TestComparePlot checks that compare.png decodes and draws both sides:
// the base's blue dots left of the candidate's orange ones.
func TestComparePlot(t *testing.T) {
	base, cand := compareFixture()
	c := Compare(base, cand, Tolerance{Pct: 10})
	c.Metrics = c.Metrics[:1] // one panel: ping's max gap
	var buf bytes.Buffer
	if err := WriteComparePlot(&buf, c); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != comparePanelW || b.Dy() != comparePanelH+compareHeadPx {
		t.Errorf("size %v", b)
	}
	var sum, n [2]int
	var cols [2]map[int]bool
	cols[0], cols[1] = map[int]bool{}, map[int]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for i, col := range []struct{ r, g, b uint32 }{{0x1f, 0x5f, 0xa8}, {0xe0, 0x78, 0x00}} {
				if r>>8 == col.r && g>>8 == col.g && bl>>8 == col.b {
					sum[i] += x
					n[i]++
					cols[i][x] = true
				}
			}
		}
	}
	if n[0] < 50 || n[1] < 50 {
		t.Fatalf("base pixels %d, candidate pixels %d: a side is missing", n[0], n[1])
	}
	if sum[0]/n[0] >= sum[1]/n[1] {
		t.Errorf("base drawn at x ≈ %d, candidate at %d: not side by side", sum[0]/n[0], sum[1]/n[1])
	}
	shared := 0
	for x := range cols[0] {
		if cols[1][x] {
			shared++
		}
	}
	if shared > 0 {
		t.Errorf("%d pixel columns hold both sides", shared)
	}

	// Every metric, and an empty comparison, draw too.
	c = Compare(base, cand, Tolerance{Pct: 10})
	for _, cc := range []*Comparison{c, {}} {
		buf.Reset()
		if err := WriteComparePlot(&buf, cc); err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(&buf); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCompareHTMLInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("needs chromium (apt install chromium): ", err)
	}
	base, cand := compareFixture()
	c := Compare(base, cand, Tolerance{Pct: 10})
	var plotPNG, page bytes.Buffer
	if err := WriteComparePlot(&plotPNG, c); err != nil {
		t.Fatal(err)
	}
	if err := WriteCompareHTML(&page, c, plotPNG.Bytes()); err != nil {
		t.Fatal(err)
	}
	checkInBrowser(t, page.Bytes(), "REGRESSED", "compare")
}

func TestLoadRunSet(t *testing.T) {
	single, _ := recordRun(t, false)
	set, err := LoadRunSet(single)
	if err != nil || len(set.Runs) != 1 || set.Names[0] != "." {
		t.Fatalf("single run: %+v, %v", set, err)
	}

	repeats := t.TempDir()
	for _, name := range []string{"r02", "r01"} {
		dir, _ := recordRun(t, false)
		if err := os.Rename(dir, filepath.Join(repeats, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(repeats, "notes"), 0o755); err != nil { // not a run: skipped
		t.Fatal(err)
	}
	set, err = LoadRunSet(repeats)
	if err != nil || !slices.Equal(set.Names, []string{"r01", "r02"}) || len(set.Runs) != 2 || set.Runs[0].Probes[0].Lost != 5 {
		t.Fatalf("repeats: %+v, %v", set, err)
	}

	if _, err := LoadRunSet(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no run here") {
		t.Errorf("empty directory: %v", err)
	}
	if _, err := LoadRunSet(filepath.Join(repeats, "missing")); err == nil {
		t.Error("missing directory accepted")
	}
}
