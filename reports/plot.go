package reports

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Layout of the timeline, in pixels.
const (
	rttLanePx    = 220  // one RTT lane, title strip included
	laneTitlePx  = 22   // strip above each lane holding its title
	xAxisPx      = 38   // tick labels and axis name under the last lane
	maxPlotPx    = 4800 // the image never gets taller than this
	minScale     = 0.5  // lanes shrink at most to this fraction to fit
	heatMaxGroup = 8    // more results than this for one probe name make a heat strip
)

// WriteTimeline draws the run as a PNG timeline to w: one lane per probe
// (or a heat strip per group of many addresses) sharing the run-time axis,
// with gaps shaded and labelled and trigger windows across all lanes.
// The same run always gives the same bytes.
func WriteTimeline(w io.Writer, run *Run) (err error) {
	if run == nil {
		return errors.New("timeline: no run")
	}
	// The plot library panics on values it cannot scale; the input is
	// sanitised before, but a picture is never worth crashing a report run.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("timeline: drawing failed: %v", r)
		}
	}()

	tl := newTimeline(run)
	// The canvas copies the image it is given; encode the one it drew on.
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, plotWidth, tl.heightPx()))), vgimg.UseDPI(plotDPI))
	tl.draw(draw.New(c))
	if err := png.Encode(w, c.Image()); err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	return nil
}

// lane is one horizontal band of the timeline: a titled plot.
type lane struct {
	title    string
	plot     *plot.Plot
	heightPx float64 // title strip included
	// fit sets what depends on the height of the data area (the y range
	// that leaves room for the loss row); nil when nothing does.
	fit func(dataHeight vg.Length)
	// key draws a colour key right-aligned at (right, y) in the title strip.
	key func(c draw.Canvas, right, y vg.Length)
}

// laneGroups splits the results into lanes: a probe name with more than
// heatMaxGroup results becomes one heat strip, others one lane each.
func laneGroups(probes []ProbeResult) [][]ProbeResult {
	count := map[string]int{}
	for _, r := range probes {
		count[r.Name]++
	}
	var groups [][]ProbeResult
	done := map[string]bool{}
	for _, r := range probes {
		if count[r.Name] <= heatMaxGroup {
			groups = append(groups, []ProbeResult{r})
			continue
		}
		if done[r.Name] {
			continue
		}
		done[r.Name] = true
		var g []ProbeResult
		for _, m := range probes { // keep the input order within the group
			if m.Name == r.Name {
				g = append(g, m)
			}
		}
		groups = append(groups, g)
	}
	return groups
}
