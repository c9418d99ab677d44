package reports

import (
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// label is a text to place at a time on the x axis.
type label struct {
	text     string
	at       float64 // seconds; the label's left edge (events) or centre (gaps)
	priority float64 // higher is placed first
	index    int     // of the labelled thing
}

// placed is a label put in a row at x (its left edge).
type placed struct {
	index int
	x, w  vg.Length
}

// placeLabels puts labels into at most maxRows rows so that none overlap,
// highest priority first, earlier first on ties, each kept within lo..hi.
// A label that finds no free row is dropped, or with keepAll put in the row
// that ends leftmost, overlapping: events are few and must all be named.
// The x of a placed label is its left edge whatever sty's alignment.
func placeLabels(labels []label, sty text.Style, xf func(float64) vg.Length, lo, hi vg.Length, maxRows int, keepAll bool) [][]placed {
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		la, lb := labels[order[a]], labels[order[b]]
		if la.priority != lb.priority {
			return la.priority > lb.priority
		}
		return la.at < lb.at
	})
	const gap = 6 * px
	var rows [][]placed
	for _, i := range order {
		l := labels[i]
		w := textWidth(sty, l.text)
		x := xf(l.at) + vg.Length(float64(sty.XAlign))*w
		x = max(lo, min(x, hi-w))
		p := placed{index: l.index, x: x, w: w}
		put := false
		for r := range rows {
			if fits(rows[r], p, gap) {
				rows[r] = append(rows[r], p)
				put = true
				break
			}
		}
		switch {
		case put || maxRows <= 0:
		case len(rows) < maxRows:
			rows = append(rows, []placed{p})
		case keepAll:
			best, end := 0, vg.Length(math.Inf(1))
			for r, row := range rows {
				var e vg.Length
				for _, q := range row {
					e = max(e, q.x+q.w)
				}
				if e < end {
					best, end = r, e
				}
			}
			rows[best] = append(rows[best], p)
		}
	}
	for _, r := range rows { // draw left to right: stable output
		sort.Slice(r, func(a, b int) bool { return r[a].x < r[b].x })
	}
	return rows
}

func fits(row []placed, p placed, gap vg.Length) bool {
	for _, q := range row {
		if p.x < q.x+q.w+gap && q.x < p.x+p.w+gap {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }
