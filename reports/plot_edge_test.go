package reports

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

func TestWriteTimelineOddInput(t *testing.T) {
	ms := time.Millisecond
	cases := map[string]*Run{
		"empty":     {},
		"no points": {Probes: []ProbeResult{{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}}}},
		"all lost": {Probes: []ProbeResult{{ProbeMeta: ProbeMeta{Name: "ping"},
			Points: []Point{{Sent: 0, Lost: true}, {Sent: 10 * ms, Lost: true}},
			Gaps:   []Gap{{Start: 0, End: 10 * ms, Open: true, Lost: 2}}}}},
		"backwards": {
			Probes: []ProbeResult{{ProbeMeta: ProbeMeta{Name: "ping"},
				Points: []Point{{Sent: -5 * ms, RTT: -ms}, {Sent: 20 * ms, RTT: 0}, {Sent: 10 * ms, RTT: time.Hour}},
				Gaps:   []Gap{{Start: 30 * ms, End: 10 * ms}}}},
			Events: []triggers.Event{
				{Name: "hung", Start: 5 * ms, End: 0, Status: triggers.StatusRunning},
				{Start: 50 * ms, End: 50 * ms, Status: triggers.StatusCancel, Hypervisor: &triggers.Hypervisor{}},
			},
			Partial: true, Reason: "interrupted",
		},
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			_, img := render(t, run)
			if img.Bounds().Dx() != plotWidth {
				t.Errorf("width %d", img.Bounds().Dx())
			}
		})
	}
}

func TestWriteTimelineHeightCapped(t *testing.T) {
	run := fixtureRun()
	base := run.Probes[0]
	run.Probes = nil
	for i := range 40 { // forty differently named probes: forty lanes
		r := base
		r.Name = "ping" + itoa(i)
		run.Probes = append(run.Probes, r)
	}
	// The layout alone: encoding a 1600×4800 PNG is slow under -race, and
	// the other tests cover drawing.
	tl := newTimeline(run)
	if h := tl.heightPx(); h > maxPlotPx || h < maxPlotPx*9/10 {
		t.Errorf("40 lanes are %d px high, want just under the cap %d", h, maxPlotPx)
	}
	if tl.scale >= 1 || tl.scale < minScale {
		t.Errorf("lanes scaled by %v to fit", tl.scale)
	}
}

func TestRTTLaneScale(t *testing.T) {
	ms := time.Millisecond
	narrow := ProbeResult{Points: []Point{{Sent: 0, RTT: ms}, {Sent: ms, RTT: 50 * ms}}}
	if _, ok := newRTTLane(&narrow, 1, false).plot.Y.Scale.(plot.LogScale); ok {
		t.Error("RTTs within two decades got a log scale")
	}
	wide := ProbeResult{Points: []Point{{Sent: 0, RTT: 100 * time.Microsecond}, {Sent: ms, RTT: 50 * ms}}}
	if _, ok := newRTTLane(&wide, 1, false).plot.Y.Scale.(plot.LogScale); !ok {
		t.Error("RTTs over two decades got a linear scale")
	}
}

func TestLaneTitle(t *testing.T) {
	r := fixtureRun().Probes[0]
	r.Lost, r.Sent, r.MaxGap = 7, 3000, 172*time.Millisecond
	want := "ping (icmp 10.99.0.2, every 10 ms): lost 7 of 3000, max gap 172 ms"
	if got := rttLaneTitle(&r); got != want {
		t.Errorf("title %q, want %q", got, want)
	}
}

func TestEventLabels(t *testing.T) {
	tl := newTimeline(fixtureRun())
	labels := tl.eventLabels()
	if got, want := labels[0].text, "migrate: QEMU downtime 52 ms"; got != want {
		t.Errorf("label %q, want %q", got, want)
	}
	if got, want := labels[1].text, "flush-arp (failed)"; got != want {
		t.Errorf("label %q, want %q", got, want)
	}
}

func TestFmtDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2310 * time.Millisecond: "2.31 s",
		172 * time.Millisecond:  "172 ms",
		4500 * time.Microsecond: "4.5 ms",
		400 * time.Microsecond:  "0.40 ms",
		0:                       "0 ms",
		-time.Second:            "-1.00 s",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}

// A linear RTT axis labels its ticks with the digits they need.
func TestShortTickLabels(t *testing.T) {
	for _, r := range [][2]float64{{0, 27}, {0, 2.7}, {0, 0.27}, {0, 2700}} {
		for _, tk := range (shortLabels{plot.DefaultTicks{}}).Ticks(r[0], r[1]) {
			if tk.Label == "" {
				continue
			}
			if want := strconv.FormatFloat(tk.Value, 'g', 6, 64); tk.Label != want && !strings.Contains(want, "e") {
				t.Errorf("range %v: tick %v labelled %q, want %q", r, tk.Value, tk.Label, want)
			}
		}
	}
}
