package reports

import (
	"image"
	"image/color"
	"testing"
	"time"
)

func TestWriteTimelineHeatStrip(t *testing.T) {
	run := heatRun(200)
	b, img := render(t, run)
	saveExample(t, "heat-example.png", b)
	size := img.Bounds().Size()
	if size.X != plotWidth || size.Y > maxPlotPx {
		t.Fatalf("size %v", size)
	}
	// 200 RTT lanes would be ~44000 px high; a heat strip is one lane.
	if size.Y > 1200 {
		t.Errorf("heat strip of 200 members is %d px high", size.Y)
	}
	if n := countColour(img, colLost); n < 50 {
		t.Errorf("only %d lost-red pixels: losses do not show", n)
	}
	if n := countColour(img, colHeatSlow); n < 500 {
		t.Errorf("only %d slow pixels: the slow member does not show", n)
	}
}

func TestHeatStripWorstOnTop(t *testing.T) {
	strip := newHeatStrip(heatRun(200).Probes)
	for i := 1; i < len(strip.members); i++ {
		if strip.members[i].MaxGap > strip.members[i-1].MaxGap {
			t.Fatalf("member %d has a longer gap than member %d above it", i, i-1)
		}
	}
	if strip.members[0].MaxGap == 0 {
		t.Fatal("the worst member has no gap")
	}
	if len(strip.ticks) != heatLabelled {
		t.Errorf("%d labelled members, want %d", len(strip.ticks), heatLabelled)
	}
}

func TestLaneGroups(t *testing.T) {
	run := heatRun(9)
	run.Probes = append(fixtureRun().Probes[:1], run.Probes...)
	groups := laneGroups(run.Probes)
	if len(groups) != 2 || len(groups[0]) != 1 || len(groups[1]) != 9 {
		t.Fatalf("groups of sizes %v, want [1 9]", sizes(groups))
	}
	run.Probes = run.Probes[:9] // ping plus 8 members: lanes each
	if groups := laneGroups(run.Probes); len(groups) != 9 {
		t.Fatalf("groups of sizes %v, want nine lanes", sizes(groups))
	}
}

func sizes(groups [][]ProbeResult) []int {
	var n []int
	for _, g := range groups {
		n = append(n, len(g))
	}
	return n
}

// countColour counts the pixels of exactly colour c.
func countColour(img image.Image, c color.Color) int {
	want := color.RGBAModel.Convert(c)
	n := 0
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == want {
				n++
			}
		}
	}
	return n
}

func TestWriteTimelineMixed(t *testing.T) {
	run := fixtureRun()
	// A probe whose RTTs span three decades gets a log axis; an open
	// gap at the start; a group of 30 addresses becomes a heat strip.
	slow := fixtureProbe("web", "tcp", "10.99.0.9:80", 50*time.Millisecond, 30*time.Second, 300*time.Microsecond, 9,
		[2]time.Duration{0, 700 * time.Millisecond})
	for i := range slow.Points {
		if i%40 == 0 && !slow.Points[i].Lost {
			slow.Points[i].RTT = 400 * time.Millisecond
		}
	}
	run.Probes = append(run.Probes, slow)
	run.Probes = append(run.Probes, heatRun(30).Probes...)
	run.Partial, run.Reason = true, "interrupted (SIGINT)"
	b, img := render(t, run)
	saveExample(t, "mixed-example.png", b)
	if img.Bounds().Dx() != plotWidth {
		t.Errorf("width %d", img.Bounds().Dx())
	}
}
