package reports

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Layout of compare.png, in pixels.
const (
	comparePanelW  = 460
	comparePanelH  = 330
	compareHeadPx  = 44
	compareMaxCols = 3
)

// Base is drawn in the timeline's blue, the candidate in orange: apart
// for the common colour blindnesses.
var (
	colBase     = color.RGBA{R: 0x1f, G: 0x5f, B: 0xa8, A: 0xff}
	colBaseFill = color.RGBA{R: 0xc6, G: 0xd8, B: 0xee, A: 0xff}
	colCand     = color.RGBA{R: 0xe0, G: 0x78, B: 0x00, A: 0xff}
	colCandFill = color.RGBA{R: 0xfb, G: 0xdc, B: 0xb4, A: 0xff}
)

// WriteComparePlot draws c as compare.png: one panel per subject and
// metric, the base's runs and the candidate's side by side, each as a box
// plot with every run drawn as a dot over it. The same comparison always
// gives the same bytes.
func WriteComparePlot(w io.Writer, c *Comparison) (err error) {
	if c == nil {
		return errors.New("compare plot: no comparison")
	}
	defer func() { // the plot library panics on values it cannot scale
		if r := recover(); r != nil {
			err = fmt.Errorf("compare plot: drawing failed: %v", r)
		}
	}()
	var panels []*plot.Plot
	for i := range c.Metrics {
		if p := comparePanel(&c.Metrics[i]); p != nil {
			panels = append(panels, p)
		}
	}
	cols := max(1, min(compareMaxCols, len(panels)))
	rows := max(1, (len(panels)+cols-1)/cols)
	img := image.NewRGBA(image.Rect(0, 0, cols*comparePanelW, rows*comparePanelH+compareHeadPx))
	cv := vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(plotDPI))
	dc := draw.New(cv)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	head := boldStyle(18, colText, text.XLeft, text.YCenter)
	verdict, vc := overall(c), color.Color(colPass)
	if c.Regressed() {
		vc = colLost
	}
	y := dc.Max.Y - compareHeadPx/2*px
	title := "downtime compare — base vs candidate — "
	dc.FillText(head, vg.Point{X: dc.Min.X + 12*px, Y: y}, title)
	dc.FillText(boldStyle(18, vc, text.XLeft, text.YCenter), vg.Point{X: dc.Min.X + 12*px + textWidth(head, title), Y: y}, verdict)
	if len(panels) == 0 {
		dc.FillText(textStyle(14, colMuted, text.XLeft, text.YCenter), vg.Point{X: dc.Min.X + 12*px, Y: y - 40*px}, "no metric measured on either side")
	} else {
		grid := make([][]*plot.Plot, rows)
		for r := range grid {
			grid[r] = make([]*plot.Plot, cols)
			for k := range cols {
				if i := r*cols + k; i < len(panels) {
					grid[r][k] = panels[i]
				}
			}
		}
		area := draw.Crop(dc, 0, 0, 0, -compareHeadPx*px)
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: 14 * px, PadY: 14 * px,
			PadLeft: 8 * px, PadRight: 8 * px, PadTop: 4 * px, PadBottom: 8 * px}
		canvases := plot.Align(grid, tiles, area)
		for r := range grid {
			for k, p := range grid[r] {
				if p != nil {
					p.Draw(canvases[r][k])
				}
			}
		}
	}
	if err := png.Encode(w, cv.Image()); err != nil {
		return fmt.Errorf("compare plot: %w", err)
	}
	return nil
}

// comparePanel is one metric's plot, or nil when neither side measured it.
func comparePanel(m *MetricComparison) *plot.Plot {
	if len(m.Base.Values) == 0 && len(m.Cand.Values) == 0 {
		return nil
	}
	p := plot.New()
	p.BackgroundColor = color.Transparent
	p.Title.Text = m.Subject + " · " + m.Metric + " — " + string(m.Change)
	p.Title.TextStyle = boldStyle(14, colText, text.XCenter, text.YTop)
	if m.Change == Regressed {
		p.Title.TextStyle.Color = colLost
	}
	p.Title.Padding = 6 * px
	unit := "ms"
	if m.Metric == "lost" {
		unit = "attempts"
	}
	p.Y.Label.Text = unit
	p.Y.Label.TextStyle = textStyle(12, colMuted, text.XCenter, text.YBottom)
	p.Y.Tick.Label = textStyle(11, colText, text.XRight, text.YCenter)
	p.X.Tick.Label = textStyle(12, colText, text.XCenter, text.YTop)
	p.NominalX(fmt.Sprintf("base (n=%d)", len(m.Base.Values)), fmt.Sprintf("candidate (n=%d)", len(m.Cand.Values)))
	p.X.Min, p.X.Max = -0.6, 1.6
	p.Add(plotter.NewGrid())

	top := 0.0
	for i, side := range []struct {
		vals       []float64
		line, fill color.Color
	}{{m.Base.Values, colBase, colBaseFill}, {m.Cand.Values, colCand, colCandFill}} {
		if len(side.vals) == 0 {
			continue
		}
		vals := make(plotter.Values, len(side.vals))
		pts := make(plotter.XYs, len(side.vals))
		for j, v := range side.vals {
			v = finite(v, 0)
			vals[j] = v
			// A fixed spread (golden-ratio steps), so runs with equal values stay visible.
			pts[j] = plotter.XY{X: float64(i) + 0.28*(math.Mod(float64(j)*0.618034, 1)-0.5), Y: v}
			top = max(top, v)
		}
		box, err := plotter.NewBoxPlot(90*px, float64(i), vals)
		if err != nil {
			continue
		}
		box.FillColor = side.fill
		box.BoxStyle.Color, box.BoxStyle.Width = side.line, 1.5*px
		box.MedianStyle.Color, box.MedianStyle.Width = side.line, 3*px
		box.WhiskerStyle.Color, box.WhiskerStyle.Width = side.line, 1.5*px
		box.CapWidth = 30 * px
		box.GlyphStyle.Color = side.line
		p.Add(box)
		dots, err := plotter.NewScatter(pts)
		if err != nil {
			continue
		}
		dots.GlyphStyle = draw.GlyphStyle{Color: side.line, Radius: 4 * px, Shape: draw.CircleGlyph{}}
		p.Add(dots)
	}
	p.Y.Min, p.Y.Max = 0, math.Max(1, top*1.12)
	return p
}
