package calibrate

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// columns of every output, in order.
var columns = []string{"kind", "interval", "outage", "truth_ms", "expected_ms", "measured_ms", "error_ms", "bound_ms", "retrans_delay_ms", "caught_up_ms", "lost", "within", "note"}

// cells renders a row's columns; skipped and failed rows say so.
func (r Row) cells() []string {
	head := []string{r.Kind, dur(r.Interval), dur(r.Outage)}
	switch {
	case r.Skipped != "":
		return append(head, "", "", "", "", "", "", "", "", "skipped", r.Skipped)
	case r.Failed != "":
		return append(head, "", "", "", "", "", "", "", "", "no", "failed: "+r.Failed)
	}
	retrans, caught := "", ""
	if isSession(r.Kind) && r.Seen {
		retrans, caught = ms(r.Retrans), ms(r.CaughtUp)
	}
	within := "no"
	if r.Within {
		within = "yes"
	}
	return append(head, ms(r.Truth), ms(r.Expected), ms(r.Measured), ms(r.Diff()), ms(r.Bound), retrans, caught,
		strconv.Itoa(r.Lost), within, r.Note)
}

// Tally counts the measured rows and those within their bounds.
func Tally(rows []Row) (within, measured int) {
	for _, r := range rows {
		if r.Skipped != "" {
			continue
		}
		measured++
		if r.Within {
			within++
		}
	}
	return within, measured
}

// Verdict is the closing line of every output.
func Verdict(rows []Row) string {
	n, m := Tally(rows)
	yes := "no"
	if n == m && m > 0 {
		yes = "yes"
	}
	return fmt.Sprintf("all errors within their bounds: %s (%d of %d)", yes, n, m)
}

// WriteTable writes rows as an aligned plain-text table and the verdict.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.cells(), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, Verdict(rows))
	return err
}

// WriteCSV writes rows as CSV with a header line; times in milliseconds.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(columns); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r.cells()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteMarkdown writes rows as a Markdown table with a legend and the
// verdict.
func WriteMarkdown(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| kind | interval | outage | truth (ms) | expected (ms) | measured (ms) | error (ms) | bound (ms) | retrans. delay (ms) | caught up (ms) | lost | within | note |\n")
	b.WriteString("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, r := range rows {
		c := r.cells()
		for i := range c {
			c[i] = strings.ReplaceAll(c[i], "|", `\|`)
		}
		b.WriteString("| " + strings.Join(c, " | ") + " |\n")
	}
	b.WriteString("\n" + Legend + "\n" + Verdict(rows) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Legend explains the columns, for the Markdown output.
var Legend = fmt.Sprintf(`Truth is the outage's real length: from the kernel's acknowledgement of the
nftables DROP rules (in the server's namespace, over netlink) to that of
their removal, on the monotonic clock of the process that also ran the
probe. Measured is the gap overlapping the outage (0 when no attempt fell
into it); error = measured − truth. Bound is what the tool states: the
outage lies in [measured − bound, measured]. Within: expected ∈ [measured −
bound − %[1]s, measured + %[1]s]; the %[1]s allow for a packet in flight
when a rule went in or out (plus the netlink call's own time when it took
over 1 ms). An outage no attempt fell into is within when it was no longer
than the spacing of the attempts around it, which is then its bound.

For icmp and snmp, expected = truth. Session probes (tcp, ssh) measure the
stalls of one TCP connection, so they see more than the network's outage:
TCP resends a lost segment only on its retransmission timer (about 200 ms,
doubling each time), so the session stays stalled after the unblock. The
retransmission delay is from the unblock to the first answer after it;
caught up is from the unblock to the answer of the last attempt sent before
it (both directions' retransmissions and the probe's own queue drained).
A session probe's gap is the span of send times whose answers took longer
than the stall threshold S (the larger of 2 × interval and 100 ms), so
expected = truth + caught up − S, and 0 when that is negative: a blip
shorter than S is, by definition, no stall.`, dur(InFlight))

// ms renders a duration in milliseconds with three decimals.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// dur renders a nominal duration compactly (1ms, 100ms, 1s, 5s).
func dur(d time.Duration) string {
	if d >= time.Second && d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	if d%time.Millisecond == 0 {
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return d.String()
}
