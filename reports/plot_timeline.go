package reports

import (
	"image/color"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// timeline is a run prepared for drawing.
type timeline struct {
	run       *Run
	xmax      float64 // right end of the time axis, seconds
	lanes     []*lane
	events    []triggers.Event // with End filled in for unfinished ones
	eventRows int              // rows of event labels above the lanes
	headerPx  float64
	scale     float64 // lane heights are multiplied by this to fit maxPlotPx
}

func newTimeline(run *Run) *timeline {
	tl := &timeline{run: run, scale: 1}
	end := runEnd(run)
	tl.xmax = math.Max(1, seconds(end)*1.01)
	for _, ev := range run.Events {
		if ev.End < ev.Start { // still running when the run stopped
			ev.End = end
		}
		tl.events = append(tl.events, ev)
	}

	groups := laneGroups(run.Probes)
	for i, g := range groups {
		last := i == len(groups)-1
		if len(g) > heatMaxGroup {
			tl.lanes = append(tl.lanes, newHeatLane(g, tl.xmax, last))
		} else {
			tl.lanes = append(tl.lanes, newRTTLane(&g[0], tl.xmax, last))
		}
	}

	// An estimate of the final x transform: the rows only need to be right
	// in number, the real positions are taken when drawing.
	est := func(v float64) vg.Length { return vg.Length(120+1460*v/tl.xmax) * px }
	tl.eventRows = len(placeLabels(tl.eventLabels(), eventLabelStyle(), est, 120*px, 1580*px, 4, true))
	tl.headerPx = 36 + 20 + float64(tl.eventRows)*17 + 6
	if len(run.Verdict.Failures) > 0 {
		tl.headerPx += 18
	}

	var lanesPx float64
	for _, l := range tl.lanes {
		lanesPx += l.heightPx
	}
	if room := maxPlotPx - tl.headerPx - 8; lanesPx > room {
		tl.scale = math.Max(minScale, room/lanesPx)
	}
	return tl
}

// runEnd is the latest moment anything in the run refers to.
func runEnd(run *Run) time.Duration {
	var end time.Duration
	for i := range run.Probes {
		r := &run.Probes[i]
		for _, p := range r.Points {
			end = max(end, p.Sent)
		}
		for _, g := range r.Gaps {
			end = max(end, g.End, g.Start)
		}
	}
	for _, ev := range run.Events {
		end = max(end, ev.End, ev.Start)
	}
	return end
}

func (tl *timeline) heightPx() int {
	h := tl.headerPx + 8
	for _, l := range tl.lanes {
		h += l.heightPx * tl.scale
	}
	return int(math.Min(math.Ceil(h), maxPlotPx))
}

// draw renders the whole timeline onto c.
func (tl *timeline) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())

	top := c.Max.Y
	headerBottom := top - vg.Length(tl.headerPx)*px
	tl.drawTitle(c, top)

	// Lay the lanes out top to bottom, then crop their plot areas so that
	// all data areas share the same left and right edges (one time axis).
	plotCs := make([]draw.Canvas, len(tl.lanes))
	y := headerBottom
	for i, l := range tl.lanes {
		h := vg.Length(l.heightPx*tl.scale) * px
		lc := c
		lc.Max.Y, lc.Min.Y = y, y-h
		y -= h
		pc := draw.Crop(lc, 8*px, -16*px, 0, -laneTitlePx*px)
		if l.fit != nil {
			l.fit(l.plot.DataCanvas(pc).Max.Y - l.plot.DataCanvas(pc).Min.Y)
		}
		plotCs[i] = pc
	}
	var left, right vg.Length
	for i, l := range tl.lanes {
		dc := l.plot.DataCanvas(plotCs[i])
		left = max(left, dc.Min.X-plotCs[i].Min.X)
		right = max(right, plotCs[i].Max.X-dc.Max.X)
	}
	var data draw.Canvas // the time axis' horizontal extent, full height
	for i, l := range tl.lanes {
		dc := l.plot.DataCanvas(plotCs[i])
		plotCs[i] = draw.Crop(plotCs[i], left-(dc.Min.X-plotCs[i].Min.X), -(right - (plotCs[i].Max.X - dc.Max.X)), 0, 0)
		if i == 0 {
			data = l.plot.DataCanvas(plotCs[i])
		}
		if i == len(tl.lanes)-1 {
			data.Min.Y = l.plot.DataCanvas(plotCs[i]).Min.Y
		}
	}
	if len(tl.lanes) == 0 {
		data = draw.Crop(c, 60*px, -16*px, 8*px, 0)
		data.Max.Y = headerBottom
		c.FillText(textStyle(14, colMuted, text.XCenter, text.YCenter), data.Center(), "no probe results")
	}
	data.Max.Y = headerBottom + 4*px
	xf := func(v float64) vg.Length { return data.Min.X + vg.Length(v/tl.xmax)*(data.Max.X-data.Min.X) }

	tl.drawEvents(c, data, xf, false)
	for i, l := range tl.lanes {
		pc := plotCs[i]
		c.FillText(boldStyle(13, colText, text.XLeft, text.YCenter),
			vg.Point{X: data.Min.X, Y: pc.Max.Y + laneTitlePx*px/2}, l.title)
		if l.key != nil {
			l.key(c, data.Max.X, pc.Max.Y+laneTitlePx*px/2)
		}
		l.plot.Draw(pc)
	}
	tl.drawEvents(c, data, xf, true)
}

// drawTitle writes the scenario, start, verdict and run notes at the top.
func (tl *timeline) drawTitle(c draw.Canvas, top vg.Length) {
	m := tl.run.Meta
	x := c.Min.X + 12*px
	y := top - 20*px
	name := m.Scenario
	if name == "" {
		name = "downtime run"
	}
	started := "start unknown"
	if !m.Started.IsZero() {
		started = "started " + m.Started.Format("2006-01-02 15:04:05 MST")
	}
	head := boldStyle(20, colText, text.XLeft, text.YCenter)
	s := name + " — " + started + " — "
	c.FillText(head, vg.Point{X: x, Y: y}, s)
	x += textWidth(head, s)
	verdict, vc := "PASS", color.Color(colPass)
	if !tl.run.Verdict.Pass {
		verdict, vc = "FAIL", colLost
	}
	vs := boldStyle(20, vc, text.XLeft, text.YCenter)
	c.FillText(vs, vg.Point{X: x, Y: y}, verdict)
	x += textWidth(vs, verdict)
	if tl.run.Partial {
		ps := boldStyle(20, colBadText, text.XLeft, text.YCenter)
		note := " — partial run"
		if tl.run.Reason != "" {
			note += ": " + tl.run.Reason
		}
		c.FillText(ps, vg.Point{X: x, Y: y}, clip(note, 110))
	}

	var info []string
	for _, s := range []string{m.File, m.Host, m.Lab, m.Tool} {
		if s != "" {
			info = append(info, s)
		}
	}
	info = append(info, "time axis: seconds since run start")
	y -= 26 * px
	c.FillText(textStyle(13, colMuted, text.XLeft, text.YCenter), vg.Point{X: c.Min.X + 12*px, Y: y}, strings.Join(info, "  ·  "))
	if f := tl.run.Verdict.Failures; len(f) > 0 {
		msg := "failed: " + f[0]
		if len(f) > 1 {
			msg += "; " + f[1]
		}
		if len(f) > 2 {
			msg += "; and " + itoa(len(f)-2) + " more"
		}
		y -= 18 * px
		c.FillText(textStyle(13, colLost, text.XLeft, text.YCenter), vg.Point{X: c.Min.X + 12*px, Y: y}, clip(msg, 200))
	}
}

// drawEvents draws the trigger windows across all lanes: translucent bands
// under the lanes (over=false) or their edges over them (over=true), so a
// window stays visible on opaque heat strips too. Labels go above the lanes.
func (tl *timeline) drawEvents(c draw.Canvas, data draw.Canvas, xf func(float64) vg.Length, over bool) {
	if over {
		for _, ev := range tl.events {
			edge := draw.LineStyle{Color: colEventEdge, Width: 1 * px, Dashes: []vg.Length{4 * px, 3 * px}}
			if bad(ev.Status) {
				edge.Color = colBadEdge
			}
			for _, v := range []float64{seconds(ev.Start), seconds(ev.End)} {
				x := xf(v)
				c.StrokeLine2(edge, x, data.Min.Y, x, data.Max.Y)
			}
		}
		return
	}
	for _, ev := range tl.events {
		fill := color.Color(colEventFill)
		if bad(ev.Status) {
			fill = colBadFill
		}
		x0, x1 := xf(seconds(ev.Start)), xf(seconds(ev.End))
		if x1-x0 < 2*px { // an instant action still shows
			x1 = x0 + 2*px
		}
		fillRect(c, fill, x0, data.Min.Y, x1, data.Max.Y)
	}
	labels := tl.eventLabels()
	rows := placeLabels(labels, eventLabelStyle(), xf, c.Min.X+4*px, c.Max.X-4*px, tl.eventRows, true)
	for r, row := range rows {
		for _, pl := range row {
			ev := tl.events[pl.index]
			sty := eventLabelStyle()
			if bad(ev.Status) {
				sty.Color = colBadText
			}
			y := data.Max.Y + vg.Length(8+17*(len(rows)-1-r))*px
			c.FillText(sty, vg.Point{X: pl.x, Y: y}, labels[pl.index].text)
		}
	}
}

func eventLabelStyle() text.Style { return boldStyle(12, colEventText, text.XLeft, text.YBottom) }

// eventLabels are the trigger names with their outcome and what the
// hypervisor reported: "migrate: QEMU downtime 52 ms".
func (tl *timeline) eventLabels() []label {
	out := make([]label, len(tl.events))
	for i, ev := range tl.events {
		s := ev.Name
		if s == "" {
			s = ev.Kind
		}
		if ev.Status != triggers.StatusOK && ev.Status != "" {
			s += " (" + string(ev.Status) + ")"
		}
		if hv := ev.Hypervisor; hv != nil {
			s += ": " + hypervisorName(hv.Source) + " downtime " + fmtMS(hv.DowntimeMS)
		}
		out[i] = label{text: s, at: seconds(ev.Start), index: i}
	}
	return out
}

// hypervisorName names who reported a downtime, from the figures' source.
func hypervisorName(source string) string {
	s := strings.ToLower(source)
	switch {
	case strings.Contains(s, "qmp") || strings.Contains(s, "qemu"):
		return "QEMU"
	case strings.Contains(s, "virsh") || strings.Contains(s, "libvirt"):
		return "libvirt"
	case source == "":
		return "hypervisor"
	}
	return source
}

// bad tells an event that did not end well, drawn in another colour.
func bad(s triggers.Status) bool {
	return s == triggers.StatusFailed || s == triggers.StatusTimeout
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
