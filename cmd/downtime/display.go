package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/downtime-lab/downtime/scenarios"
)

// display shows a run as it goes: on a terminal a live block of per-probe
// figures under the log, and when piped just the plain log lines.
type display struct {
	mu    sync.Mutex
	w     io.Writer
	live  bool
	lines int // height of the block drawn last
	last  scenarios.Progress
	buf   []byte
}

func newDisplay(w io.Writer, live bool) *display { return &display{w: w, live: live} }

// Write takes log lines from the runner.
func (d *display) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	d.buf = append(d.buf, p...)
	if i := strings.LastIndexByte(string(d.buf), '\n'); i >= 0 {
		d.w.Write(d.buf[:i+1])
		d.buf = append(d.buf[:0], d.buf[i+1:]...)
	}
	d.draw()
	return len(p), nil
}

// Warn prints a warning line that stands out.
func (d *display) Warn(s string) {
	fmt.Fprintf(d, "WARNING: %s\n", s)
}

// Update redraws the live block.
func (d *display) Update(p scenarios.Progress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	d.last = p
	d.draw()
}

// Quiet removes the live block while fn prints; the block comes back
// with the next update.
func (d *display) Quiet(fn func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	d.last = scenarios.Progress{}
	fn()
}

// Close removes the live block.
func (d *display) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	d.live = false
}

func (d *display) clear() {
	if d.lines > 0 {
		// Up and erase to the end of the screen.
		fmt.Fprintf(d.w, "\x1b[%dA\x1b[J", d.lines)
		d.lines = 0
	}
}

const maxLiveRows = 20

func (d *display) draw() {
	if !d.live || d.last.Phase == "" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "── %s  elapsed %s ──\n", d.last.Phase, d.last.Elapsed.Truncate(100*time.Millisecond))
	fmt.Fprintf(&b, "%-14s %-24s %8s %7s %10s %12s\n", "probe", "address", "sent", "lost", "last rtt", "current gap")
	rows := d.last.Probes
	hidden := 0
	if len(rows) > maxLiveRows {
		hidden, rows = len(rows)-maxLiveRows, rows[:maxLiveRows]
	}
	for _, p := range rows {
		gap := ""
		if p.GapFor > 0 {
			gap = fmt.Sprintf("%.1f s", p.GapFor.Seconds())
		}
		fmt.Fprintf(&b, "%-14s %-24s %8d %7d %10s %12s\n", p.Name, p.Address, p.Sent, p.Lost, fmtRTT(p.LastRTT), gap)
	}
	if hidden > 0 {
		fmt.Fprintf(&b, "… and %d more\n", hidden)
	}
	s := b.String()
	d.lines = strings.Count(s, "\n")
	io.WriteString(d.w, s)
}

func fmtRTT(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
