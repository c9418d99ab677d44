package reports

import (
	"fmt"
	"image/color"
	"math"
	"time"

	xfont "golang.org/x/image/font"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The timeline is drawn at 96 DPI, so one pixel is 0.75 pt.
const (
	plotDPI   = 96
	px        = vg.Length(72.0 / plotDPI)
	plotWidth = 1600 // pixels
)

// Colours of the timeline, chosen to stay apart for common colour-blindness
// (blue data, red loss, orange for what failed).
var (
	colText      = color.RGBA{R: 0x22, G: 0x22, B: 0x22, A: 0xff}
	colMuted     = color.RGBA{R: 0x66, G: 0x66, B: 0x66, A: 0xff}
	colRTT       = color.RGBA{R: 0x1f, G: 0x5f, B: 0xa8, A: 0xff}
	colLost      = color.RGBA{R: 0xd7, G: 0x19, B: 0x1c, A: 0xff}
	colGapFill   = color.NRGBA{R: 0xe0, G: 0x30, B: 0x30, A: 0x38}
	colGapEdge   = color.NRGBA{R: 0xc0, G: 0x20, B: 0x20, A: 0xa0}
	colGapText   = color.RGBA{R: 0xa0, G: 0x10, B: 0x10, A: 0xff}
	colLabelBG   = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xd8}
	colEventFill = color.NRGBA{R: 0x40, G: 0x80, B: 0xc0, A: 0x24}
	colEventEdge = color.NRGBA{R: 0x30, G: 0x60, B: 0xa0, A: 0xb0}
	colEventText = color.RGBA{R: 0x20, G: 0x48, B: 0x80, A: 0xff}
	colBadFill   = color.NRGBA{R: 0xf0, G: 0x90, B: 0x00, A: 0x30}
	colBadEdge   = color.NRGBA{R: 0xd0, G: 0x70, B: 0x00, A: 0xc0}
	colBadText   = color.RGBA{R: 0xb0, G: 0x50, B: 0x00, A: 0xff}
	colPass      = color.RGBA{R: 0x1a, G: 0x8a, B: 0x2a, A: 0xff}
	colGrid      = color.RGBA{R: 0xe4, G: 0xe4, B: 0xe4, A: 0xff}
	colHeatNone  = color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}
	colHeatFast  = color.RGBA{R: 0x9c, G: 0xd0, B: 0x8a, A: 0xff}
	colHeatSlow  = color.RGBA{R: 0xf5, G: 0xa6, B: 0x3c, A: 0xff}
)

// sans is Liberation Sans, which the plot library embeds: output does not
// depend on the fonts installed.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// textStyle is plain text in sans, sized in pixels.
func textStyle(sizePx float64, c color.Color, x text.XAlignment, y text.YAlignment) text.Style {
	return text.Style{
		Color:   c,
		Font:    font.From(sans, vg.Length(sizePx)*px),
		XAlign:  x,
		YAlign:  y,
		Handler: plot.DefaultTextHandler,
	}
}

// boldStyle is textStyle in bold.
func boldStyle(sizePx float64, c color.Color, x text.XAlignment, y text.YAlignment) text.Style {
	s := textStyle(sizePx, c, x, y)
	f := sans
	f.Weight = xfont.WeightBold
	s.Font = font.From(f, vg.Length(sizePx)*px)
	return s
}

// textWidth is how wide txt is drawn in sty.
func textWidth(sty text.Style, txt string) vg.Length {
	return sty.Width(txt)
}

// fillRect fills the rectangle between two corners.
func fillRect(c draw.Canvas, col color.Color, x0, y0, x1, y1 vg.Length) {
	c.FillPolygon(col, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
}

// labelBox draws txt with a light backing so it stays readable over data.
func labelBox(c draw.Canvas, sty text.Style, pt vg.Point, txt string) {
	r := sty.Rectangle(txt)
	pad := 2 * px
	fillRect(c, colLabelBG, pt.X+r.Min.X-pad, pt.Y+r.Min.Y-pad/2, pt.X+r.Max.X+pad, pt.Y+r.Max.Y+pad/2)
	c.FillText(sty, pt, txt)
}

// fmtDur formats a duration the way the reports do: "2.31 s" from one
// second up, "172 ms" or "4.5 ms" below.
func fmtDur(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	return fmtMS(float64(d) / float64(time.Millisecond))
}

// fmtMS formats milliseconds like fmtDur.
func fmtMS(ms float64) string {
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return "?"
	case ms < 0:
		return "-" + fmtMS(-ms)
	case ms >= 1000:
		return fmt.Sprintf("%.2f s", ms/1000)
	case ms >= 10 || ms == 0:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

// seconds is d on the x axis.
func seconds(d time.Duration) float64 { return d.Seconds() }

// finite replaces NaN and infinities, which the plot library cannot scale.
func finite(v, def float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return def
	}
	return v
}
