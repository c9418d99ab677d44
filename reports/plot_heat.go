package reports

import (
	"cmp"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Heat strip geometry, in pixels.
const (
	heatLabelled   = 10  // worst members named on the y axis
	heatLabelRowPx = 15  // height of a named member's row
	heatRowsPx     = 480 // room shared by the other members' rows
	heatMaxRowPx   = 4.0 // the other rows are never taller than this
	heatMinRowPx   = 0.5
)

// Cell states of the heat strip, worst last: a pixel shows its worst.
const (
	cellNone uint8 = iota
	cellFast
	cellSlow
	cellLost
)

// heatStrip is a probe with many addresses (a group target): one thin row
// per member, worst members on top.
type heatStrip struct {
	members []ProbeResult // worst first
	heights []float64     // row heights, in y units (pixels before scaling)
	total   float64
	slow    time.Duration // answers slower than this are "slow"
	ticks   plot.ConstantTicks
}

// newHeatLane draws the members of one probe as coloured rows over time.
func newHeatLane(members []ProbeResult, xmax float64, last bool) *lane {
	h := newHeatStrip(members)
	p := newLanePlot(xmax, last)
	// y runs downwards from 0 at the top so the worst member is first.
	p.Y.Min, p.Y.Max = -h.total, 0
	p.Y.Tick.Marker = h.ticks
	p.Y.Tick.Length = 0
	p.Y.Tick.Label = textStyle(11, colText, text.XRight, text.YCenter)
	p.Add(h)

	l := &lane{title: heatTitle(h.members, h.slow), plot: p, heightPx: laneTitlePx + h.total + 10}
	if last {
		l.heightPx += xAxisPx
	}
	l.key = h.key
	return l
}

// newHeatStrip orders the members worst first (longest gap, then most
// lost, then slowest) and sizes their rows: the worst heatLabelled get
// rows tall enough to be named, the rest share heatRowsPx.
func newHeatStrip(members []ProbeResult) *heatStrip {
	h := &heatStrip{members: slices.Clone(members)}
	slices.SortStableFunc(h.members, func(a, b ProbeResult) int {
		return cmp.Or(
			cmp.Compare(b.MaxGap, a.MaxGap),
			cmp.Compare(b.Lost, a.Lost),
			cmp.Compare(b.RTT.Max, a.RTT.Max),
			strings.Compare(addressOf(&a.ProbeMeta), addressOf(&b.ProbeMeta)),
		)
	})
	h.slow = slowThreshold(h.members)

	n := len(h.members)
	named := min(n, heatLabelled)
	thin := heatMaxRowPx
	if rest := n - named; rest > 0 {
		thin = math.Max(heatMinRowPx, math.Min(heatMaxRowPx, heatRowsPx/float64(rest)))
	}
	for i, m := range h.members {
		rh := thin
		if i < named {
			rh = heatLabelRowPx
		}
		h.heights = append(h.heights, rh)
		h.total += rh
		if i < named {
			lbl := addressOf(&m.ProbeMeta)
			if m.MaxGap > 0 {
				lbl += "  gap " + fmtDur(m.MaxGap)
			} else if m.Lost > 0 {
				lbl += "  lost " + itoa(m.Lost)
			}
			h.ticks = append(h.ticks, plot.Tick{Value: -(h.total - rh/2), Label: lbl})
		}
	}
	return h
}

// slowThreshold is the stall threshold of the probe when it has one, else
// five times the members' typical RTT (at least 1 ms).
func slowThreshold(members []ProbeResult) time.Duration {
	for _, m := range members {
		if m.Stall > 0 {
			return m.Stall
		}
	}
	var med []time.Duration
	for _, m := range members {
		if m.RTT.Median > 0 {
			med = append(med, m.RTT.Median)
		}
	}
	var typical time.Duration
	if len(med) > 0 {
		slices.Sort(med)
		typical = med[len(med)/2]
	} else { // no stats filled in: the mean of the plotted answers
		var sum time.Duration
		var k int64
		for _, m := range members {
			for _, p := range m.Points {
				if !p.Lost {
					sum += p.RTT
					k++
				}
			}
		}
		if k > 0 {
			typical = sum / time.Duration(k)
		}
	}
	return max(5*typical, time.Millisecond)
}

// heatTitle: "ping (icmp group web, 200 addresses, every 10 ms): 12 with
// loss, worst gap 1.02 s at 10.99.0.7".
func heatTitle(members []ProbeResult, slow time.Duration) string {
	m := members[0]
	var b strings.Builder
	b.WriteString(m.Name + " (" + m.Kind)
	if m.Target != "" && m.Target != m.Address {
		b.WriteString(" " + m.Target)
	}
	b.WriteString(", " + itoa(len(members)) + " addresses")
	if m.Interval > 0 {
		b.WriteString(", every " + fmtDur(m.Interval))
	}
	lossy := 0
	for _, r := range members {
		if r.Lost > 0 {
			lossy++
		}
	}
	b.WriteString("): " + itoa(lossy) + " with loss")
	if m.MaxGap > 0 {
		b.WriteString(", worst gap " + fmtDur(m.MaxGap) + " at " + addressOf(&m.ProbeMeta))
	}
	b.WriteString("; worst on top")
	return b.String()
}

// key draws the colour legend of the strip, right-aligned at (right, y).
func (h *heatStrip) key(c draw.Canvas, right, y vg.Length) {
	items := []struct {
		col color.Color
		txt string
	}{
		{colHeatFast, "answered"},
		{colHeatSlow, "slower than " + fmtDur(h.slow)},
		{colLost, "lost"},
		{colHeatNone, "no attempt"},
	}
	sty := textStyle(12, colText, text.XLeft, text.YCenter)
	const box, gap = 10 * px, 14 * px
	var w vg.Length
	for _, it := range items {
		w += box + 4*px + textWidth(sty, it.txt) + gap
	}
	x := right - w + gap
	for _, it := range items {
		fillRect(c, it.col, x, y-box/2, x+box, y+box/2)
		x += box + 4*px
		c.FillText(sty, vg.Point{X: x, Y: y}, it.txt)
		x += textWidth(sty, it.txt) + gap
	}
}

// Plot paints each member's row: every pixel column takes the worst state
// of the attempts falling in it, so a single loss among thousands shows.
func (h *heatStrip) Plot(c draw.Canvas, p *plot.Plot) {
	xf, yf := transforms(c, p)
	fillRect(c, colHeatNone, c.Min.X, c.Min.Y, c.Max.X, c.Max.Y)
	ncol := int(math.Ceil(float64((c.Max.X - c.Min.X) / px)))
	if ncol <= 0 {
		return
	}
	col := func(d time.Duration) int {
		return max(0, min(int(float64((xf(seconds(d))-c.Min.X)/px)), ncol-1))
	}
	cells := make([]uint8, ncol)
	colours := [...]color.Color{cellNone: nil, cellFast: colHeatFast, cellSlow: colHeatSlow, cellLost: colLost}
	var top float64
	for i := range h.members {
		m := &h.members[i]
		clear(cells)
		for k, pt := range m.Points {
			st := cellFast
			switch {
			case pt.Lost:
				st = cellLost
			case pt.RTT > h.slow:
				st = cellSlow
			}
			// An attempt covers the time until the next one, unless
			// that is far off (the probe was not running).
			end := pt.Sent + m.Interval
			if k+1 < len(m.Points) {
				if next := m.Points[k+1].Sent; next > pt.Sent && (m.Interval <= 0 || next-pt.Sent <= 3*m.Interval) {
					end = next
				}
			}
			c0, c1 := col(pt.Sent), col(end)
			if c1 > c0 {
				c1-- // end is exclusive
			}
			for j := c0; j <= c1; j++ {
				cells[j] = max(cells[j], st)
			}
		}
		rh := h.heights[i]
		// Rows end on whole pixels: fractional edges would blend into
		// pale seams between thin rows.
		y1 := snap(yf(-top))
		y0 := snap(yf(-(top + rh)))
		if i < heatLabelled && rh >= 4 {
			y0 += 1 * px // a white line between named rows
		}
		top += rh
		for j := 0; j < ncol; {
			k := j
			for k < ncol && cells[k] == cells[j] {
				k++
			}
			if cells[j] != cellNone {
				fillRect(c, colours[cells[j]], c.Min.X+vg.Length(j)*px, y0, c.Min.X+vg.Length(k)*px, y1)
			}
			j = k
		}
	}
}

// snap rounds a coordinate to the pixel grid.
func snap(v vg.Length) vg.Length { return vg.Length(math.Round(float64(v/px))) * px }
