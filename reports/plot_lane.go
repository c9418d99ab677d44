package reports

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Vertical layout inside an RTT lane's data area, in pixels from its top.
const (
	lostRowPx  = 14   // red crosses for lost attempts
	gapRowPx   = 17   // one row of gap labels
	gapRows    = 2    // rows of gap labels under the loss row
	lanePoints = 4000 // points drawn per lane at most (lost ones aside)
	dotsBelow  = 300  // answered points are dotted when fewer than this
)

// newRTTLane is the lane of one probe address: RTT over time, losses, gaps.
func newRTTLane(r *ProbeResult, xmax float64, last bool) *lane {
	pts := Decimate(r.Points, lanePoints)
	lo, hi := math.Inf(1), 0.0
	nAnswered, nLost := 0, 0
	for _, p := range pts {
		if p.Lost {
			nLost++
			continue
		}
		nAnswered++
		ms := finite(p.RTT.Seconds()*1000, 0)
		if ms > 0 {
			lo = math.Min(lo, ms)
		}
		hi = math.Max(hi, ms)
	}
	logY := hi > 0 && !math.IsInf(lo, 1) && hi/lo > 100

	p := newLanePlot(xmax, last)
	p.Y.Label.Text = "RTT (ms)"
	if logY {
		p.Y.Scale = plot.LogScale{}
	}
	gaps := sanitizeGaps(r.Gaps)
	l := &lane{title: rttLaneTitle(r), plot: p, heightPx: rttLanePx}
	if last {
		l.heightPx += xAxisPx
	}

	head := lostRowPx
	if len(gaps) > 0 {
		head += gapRows * gapRowPx
	}
	l.fit = func(h vg.Length) {
		// Leave the top `head` pixels to the loss row and gap labels.
		f := math.Min(0.5, float64(head)*float64(px)/math.Max(float64(h), 1))
		lostAt := 1 - float64(lostRowPx)/2*float64(px)/math.Max(float64(h), 1)
		var top float64
		if logY {
			bottom := math.Log10(lo / 1.5)
			top = math.Log10(hi * 1.3)
			full := bottom + (top-bottom)/(1-f)
			p.Y.Min, p.Y.Max = math.Pow(10, bottom), math.Pow(10, full)
			top = math.Pow(10, top)
			p.Y.Tick.Marker = laneTicks{base: plot.LogTicks{Prec: -1}, top: top, lost: math.Pow(10, bottom+lostAt*(full-bottom)), hasLost: nLost > 0}
		} else {
			top = math.Max(hi*1.08, 1)
			p.Y.Min, p.Y.Max = 0, top/(1-f)
			p.Y.Tick.Marker = laneTicks{base: shortLabels{plot.DefaultTicks{}}, top: top, lost: lostAt * p.Y.Max, hasLost: nLost > 0}
		}
	}
	l.fit(150 * px) // a first range; WriteTimeline refits to the real height

	p.Add(grid{})
	p.Add(gapBands{gaps: gaps})
	p.Add(rttLine{pts: pts, dots: nAnswered < dotsBelow})
	p.Add(lostMarks{pts: pts})
	p.Add(gapLabels{gaps: gaps})
	if len(pts) == 0 {
		p.Add(note{text: "no samples"})
	}
	return l
}

// newLanePlot is a plot with the shared time axis; only the last lane
// labels it.
func newLanePlot(xmax float64, last bool) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil // trigger bands are drawn beneath
	p.X.Min, p.X.Max = 0, xmax
	p.X.Tick.Label = textStyle(12, colText, text.XCenter, text.YTop)
	p.Y.Tick.Label = textStyle(11, colText, text.XRight, text.YCenter)
	p.Y.Label.TextStyle = textStyle(12, colMuted, text.XCenter, text.YBottom)
	p.X.Label.TextStyle = textStyle(13, colText, text.XCenter, text.YBottom)
	if last {
		p.X.Label.Text = "run time (s)"
	} else {
		p.X.Tick.Marker = unlabelled{plot.DefaultTicks{}}
	}
	return p
}

// rttLaneTitle names the probe, its address and interval, and its losses:
// "ping (icmp 10.99.0.2, every 10 ms): lost 7 of 6000, max gap 172 ms".
func rttLaneTitle(r *ProbeResult) string {
	var b strings.Builder
	b.WriteString(r.Name)
	b.WriteString(" (")
	b.WriteString(r.Kind)
	if a := addressOf(&r.ProbeMeta); a != "" {
		b.WriteString(" " + a)
	}
	if r.Interval > 0 {
		b.WriteString(", every " + fmtDur(r.Interval))
	}
	b.WriteString("): lost " + itoa(r.Lost))
	if r.Sent > 0 {
		b.WriteString(" of " + itoa(r.Sent))
	}
	if r.MaxGap > 0 {
		b.WriteString(", max gap " + fmtDur(r.MaxGap))
	} else {
		b.WriteString(", no gap")
	}
	if r.MaxStall > 0 {
		b.WriteString(", max stall " + fmtDur(r.MaxStall))
	}
	if r.Sessions > 1 {
		b.WriteString(", " + itoa(r.Sessions) + " sessions")
	}
	if r.RebootDetected {
		b.WriteString(", guest rebooted")
	}
	return b.String()
}

func addressOf(m *ProbeMeta) string {
	if m.Address != "" {
		return m.Address
	}
	return m.Target
}

// sanitizeGaps drops gaps with no extent in time the plot could not place.
func sanitizeGaps(gaps []Gap) []Gap {
	out := make([]Gap, 0, len(gaps))
	for _, g := range gaps {
		if g.End < g.Start {
			g.Start, g.End = g.End, g.Start
		}
		out = append(out, g)
	}
	return out
}

// laneTicks are the y ticks of an RTT lane: the base ticks up to the data's
// top, and "lost" at the height of the loss row.
type laneTicks struct {
	base    plot.Ticker
	top     float64
	lost    float64
	hasLost bool
}

func (t laneTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, tk := range t.base.Ticks(lo, math.Min(hi, t.top)) {
		if tk.Value <= t.top {
			out = append(out, tk)
		}
	}
	if t.hasLost {
		out = append(out, plot.Tick{Value: t.lost, Label: "lost"})
	}
	return out
}

// shortLabels labels the base's ticks with as few digits as they need
// ("25", "2.5"), not with the base's fixed precision ("25.00").
type shortLabels struct{ base plot.Ticker }

func (t shortLabels) Ticks(lo, hi float64) []plot.Tick {
	ticks := t.base.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			v, _ := strconv.ParseFloat(strconv.FormatFloat(ticks[i].Value, 'g', 6, 64), 64)
			ticks[i].Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ticks
}

// unlabelled keeps tick marks but drops their labels (upper lanes).
type unlabelled struct{ base plot.Ticker }

func (t unlabelled) Ticks(lo, hi float64) []plot.Tick {
	ticks := t.base.Ticks(lo, hi)
	for i := range ticks {
		ticks[i].Label = ""
	}
	return ticks
}

// transforms maps data to canvas coordinates.
func transforms(c draw.Canvas, p *plot.Plot) (xf, yf func(float64) vg.Length) {
	return func(v float64) vg.Length { return c.X(p.X.Norm(v)) },
		func(v float64) vg.Length { return c.Y(p.Y.Norm(v)) }
}

// grid draws light vertical lines at the major time ticks and horizontal
// ones at labelled RTT ticks.
type grid struct{}

func (grid) Plot(c draw.Canvas, p *plot.Plot) {
	xf, yf := transforms(c, p)
	sty := draw.LineStyle{Color: colGrid, Width: 1 * px}
	for _, tk := range plot.DefaultTicks.Ticks(plot.DefaultTicks{}, p.X.Min, p.X.Max) {
		if !tk.IsMinor() && tk.Value >= p.X.Min && tk.Value <= p.X.Max {
			c.StrokeLine2(sty, xf(tk.Value), c.Min.Y, xf(tk.Value), c.Max.Y)
		}
	}
	for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		if tk.Label != "" && tk.Label != "lost" && tk.Value >= p.Y.Min && tk.Value <= p.Y.Max {
			c.StrokeLine2(sty, c.Min.X, yf(tk.Value), c.Max.X, yf(tk.Value))
		}
	}
}

// gapBands shades each gap across the lane.
type gapBands struct{ gaps []Gap }

func (g gapBands) Plot(c draw.Canvas, p *plot.Plot) {
	xf, _ := transforms(c, p)
	edge := draw.LineStyle{Color: colGapEdge, Width: 1 * px}
	open := draw.LineStyle{Color: colGapEdge, Width: 1.5 * px, Dashes: []vg.Length{3 * px, 3 * px}}
	for _, gp := range g.gaps {
		x0, x1 := xf(seconds(gp.Start)), xf(seconds(gp.End))
		if x1-x0 < 2*px {
			x1 = x0 + 2*px
		}
		fillRect(c, colGapFill, x0, c.Min.Y, x1, c.Max.Y)
		sty := edge
		if gp.Open {
			sty = open
		}
		c.StrokeLine2(sty, x0, c.Min.Y, x0, c.Max.Y)
		c.StrokeLine2(sty, x1, c.Min.Y, x1, c.Max.Y)
	}
}

// gapLabels writes each gap's length and resolution over its band,
// longest first where labels would collide.
type gapLabels struct{ gaps []Gap }

func (g gapLabels) Plot(c draw.Canvas, p *plot.Plot) {
	xf, _ := transforms(c, p)
	labels := make([]label, len(g.gaps))
	for i, gp := range g.gaps {
		s := fmtDur(gp.Duration())
		if gp.Open {
			s = "open ≥ " + s
		} else if gp.Bound > 0 {
			s += " ±" + fmtDur(gp.Bound)
		}
		mid := seconds(gp.Start+gp.End) / 2
		labels[i] = label{text: s, at: mid, priority: float64(gp.Duration()), index: i}
	}
	sty := textStyle(12, colGapText, text.XCenter, text.YCenter)
	rows := placeLabels(labels, sty, xf, c.Min.X, c.Max.X, gapRows, false)
	sty.XAlign = text.XLeft
	for r, row := range rows {
		y := c.Max.Y - vg.Length(lostRowPx+gapRowPx*r+gapRowPx/2)*px
		for _, pl := range row {
			labelBox(c, sty, vg.Point{X: pl.x, Y: y}, labels[pl.index].text)
		}
	}
}

// rttLine draws the answered attempts as a line broken at every loss; when
// there are more of them than pixel columns, as a band per column from the
// fastest to the slowest answer in it.
type rttLine struct {
	pts  []Point
	dots bool
}

func (l rttLine) Plot(c draw.Canvas, p *plot.Plot) {
	xf, yf := transforms(c, p)
	y := func(pt Point) vg.Length {
		v := finite(pt.RTT.Seconds()*1000, 0)
		return max(c.Min.Y, min(yf(math.Max(v, p.Y.Min)), c.Max.Y))
	}
	answered := 0
	for _, pt := range l.pts {
		if !pt.Lost {
			answered++
		}
	}
	if ncol := float64((c.Max.X - c.Min.X) / px); float64(answered) > ncol/2 {
		l.envelope(c, xf, y)
		return
	}

	sty := draw.LineStyle{Color: colRTT, Width: 1 * px}
	var line []vg.Point
	flush := func() {
		// The rasteriser's cost grows with the square of a path's
		// cells, so a long line is stroked in short overlapping pieces.
		const piece = 32
		for i := 0; i+1 < len(line); i += piece {
			c.StrokeLines(sty, line[i:min(i+piece+1, len(line))])
		}
		line = line[:0]
	}
	for _, pt := range l.pts {
		if pt.Lost {
			flush()
			continue
		}
		line = append(line, vg.Point{X: xf(seconds(pt.Sent)), Y: y(pt)})
		if l.dots || len(line) == 1 { // a lone answer between losses still shows
			c.DrawGlyph(draw.GlyphStyle{Color: colRTT, Radius: 1.6 * px, Shape: draw.CircleGlyph{}}, line[len(line)-1])
		}
	}
	flush()
}

// envelope fills, per pixel column, the span between the fastest and the
// slowest answer in it, joined to the neighbouring column like a line
// would be; a loss breaks the band.
func (l rttLine) envelope(c draw.Canvas, xf func(float64) vg.Length, y func(Point) vg.Length) {
	left := snap(c.Min.X)
	type span struct {
		col    int
		lo, hi vg.Length
	}
	var run []span // adjacent columns not broken by a loss
	fill := func() {
		// Every fill costs the rasteriser time in proportion to the
		// image height, so columns go in polygons of up to 32 columns
		// (short ones: its cost also grows with a path's length).
		const piece = 32
		for i := 0; i < len(run); i += piece {
			part := run[i:min(i+piece, len(run))]
			poly := make([]vg.Point, 0, 4*len(part))
			for _, s := range part {
				x := left + vg.Length(s.col)*px
				poly = append(poly, vg.Point{X: x, Y: s.hi}, vg.Point{X: x + px, Y: s.hi})
			}
			for k := len(part) - 1; k >= 0; k-- {
				x := left + vg.Length(part[k].col)*px
				poly = append(poly, vg.Point{X: x + px, Y: part[k].lo}, vg.Point{X: x, Y: part[k].lo})
			}
			c.FillPolygon(colRTT, poly)
		}
		run = run[:0]
	}
	add := func(s span) {
		if n := len(run); n > 0 && run[n-1].col != s.col-1 {
			fill()
		}
		if n := len(run); n > 0 { // join to the previous column
			p := run[n-1]
			s.lo, s.hi = min(s.lo, p.hi), max(s.hi, p.lo)
		}
		s.hi = max(s.hi, s.lo+px) // a flat stretch stays a line, not nothing
		run = append(run, s)
	}
	cur := span{col: -1}
	for _, pt := range l.pts {
		if pt.Lost {
			if cur.col >= 0 {
				add(cur)
			}
			fill()
			cur.col = -1
			continue
		}
		j := int(math.Floor(float64((xf(seconds(pt.Sent)) - left) / px)))
		v := y(pt)
		switch {
		case j == cur.col:
			cur.lo, cur.hi = min(cur.lo, v), max(cur.hi, v)
		default:
			if cur.col >= 0 {
				add(cur)
			}
			cur = span{col: j, lo: v, hi: v}
		}
	}
	if cur.col >= 0 {
		add(cur)
	}
	fill()
}

// lostMarks puts a red cross in the loss row for each lost attempt, one per
// pixel column at most.
type lostMarks struct{ pts []Point }

func (l lostMarks) Plot(c draw.Canvas, p *plot.Plot) {
	xf, _ := transforms(c, p)
	sty := draw.GlyphStyle{Color: colLost, Radius: 3.5 * px, Shape: draw.CrossGlyph{}}
	y := c.Max.Y - lostRowPx/2*px
	lastCol := math.Inf(-1)
	for _, pt := range l.pts {
		if !pt.Lost {
			continue
		}
		x := xf(seconds(pt.Sent))
		if col := math.Floor(float64(x / px)); col != lastCol {
			lastCol = col
			c.DrawGlyph(sty, vg.Point{X: x, Y: y})
		}
	}
}

// note writes a message in the middle of an empty lane.
type note struct{ text string }

func (n note) Plot(c draw.Canvas, _ *plot.Plot) {
	c.FillText(textStyle(14, colMuted, text.XCenter, text.YCenter), c.Center(), n.text)
}
