package reports

import (
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// templates are the HTML pages, with their CSS inline: a report is one
// file that opens offline, attached to a ticket or mailed.
//
//go:embed templates/*.tmpl
var templateFS embed.FS

var htmlTemplates = template.Must(template.ParseFS(templateFS, "templates/*.tmpl"))

// htmlReport is what report.html shows, already formatted.
type htmlReport struct {
	Scenario, Started, File string
	Pass                    bool
	Failures                []string
	Partial                 string // why the run is partial; "" when it is not
	Probes                  []htmlProbe
	Gaps                    []htmlGap
	Events                  []htmlEvent
	Timeline                template.URL // data: URI of the PNG
	Intervals, Lab          string
	Tool, Host              string
}

type htmlProbe struct {
	Name, Kind, Target, Address, Interval string
	Sent, Lost                            int
	Loss, MaxGap, Session, RTT50, RTT95   string
	Bad                                   bool // broke a limit
}

type htmlGap struct {
	Probe, Address, Start, End, Duration string
	Lost                                 int
	Open, Trigger                        string
}

type htmlEvent struct {
	Name, Kind, Start, End, Status, Exit, Hypervisor, Times string
	Shares                                                  []string
	Bad                                                     bool
}

// WriteHTML writes run as report.html content: the report.md story as one
// self-contained page (inline CSS, the timeline PNG embedded as a data:
// URI, no scripts, nothing fetched), readable offline. timelinePNG may be
// empty when the timeline could not be drawn.
func WriteHTML(w io.Writer, run *Run, timelinePNG []byte) error {
	m := run.Meta
	r := htmlReport{
		Scenario: orDash(m.Scenario), Started: "start time unknown", File: m.File,
		Pass: run.Verdict.Pass, Failures: run.Verdict.Failures,
		Lab: m.Lab, Tool: orDash(m.Tool), Host: orDash(m.Host),
	}
	if !m.Started.IsZero() {
		r.Started = m.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	if run.Partial {
		r.Partial = orDefault(run.Reason, "the run did not finish")
	}
	if len(timelinePNG) > 0 {
		r.Timeline = pngDataURI(timelinePNG)
	}
	failed := map[[2]string]bool{} // (name, address) of results that broke a limit
	for _, c := range Checks(run) {
		if c.Failure != "" {
			failed[[2]string{c.Probe, c.Address}] = true
		}
	}
	var intervals []string
	for i := range run.Probes {
		p := &run.Probes[i]
		r.Probes = append(r.Probes, htmlProbeRow(p, failed[[2]string{p.Name, p.Address}]))
		for _, g := range p.Gaps {
			open := ""
			if g.Open {
				open = "open"
			}
			r.Gaps = append(r.Gaps, htmlGap{Probe: p.Name, Address: p.Address, Start: FormatSeconds(g.Start), End: FormatSeconds(g.End),
				Duration: FormatSeconds(g.Duration()) + " ± " + FormatSeconds(g.Bound), Lost: g.Lost, Open: open,
				Trigger: GapTrigger(run.Events, g)})
		}
		s := p.Name + " " + exactSeconds(p.Interval)
		if len(intervals) == 0 || intervals[len(intervals)-1] != s {
			intervals = append(intervals, s)
		}
	}
	r.Intervals = strings.Join(intervals, ", ")
	for _, e := range run.Events {
		r.Events = append(r.Events, htmlEventRow(e, run))
	}
	return htmlTemplates.ExecuteTemplate(w, "report", r)
}

func htmlProbeRow(p *ProbeResult, bad bool) htmlProbe {
	row := htmlProbe{Name: p.Name, Kind: p.Kind, Target: p.Target, Address: p.Address, Interval: exactSeconds(p.Interval),
		Sent: p.Sent, Lost: p.Lost, Loss: strconv.FormatFloat(lossPct(p), 'f', 2, 64) + " %",
		MaxGap: "–", Session: "–", RTT50: rttMS(p, p.RTT.Median), RTT95: rttMS(p, p.RTT.P95),
		Bad: bad,
	}
	if len(p.Gaps) > 0 {
		row.MaxGap = FormatSeconds(p.MaxGap) + " ± " + FormatSeconds(maxGapBound(p))
	}
	if isSessionKind(p.Kind) {
		row.Session = "no / " + strconv.Itoa(len(p.Resets))
		if p.Survived {
			row.Session = "yes / " + strconv.Itoa(len(p.Resets))
		}
	}
	if p.Kind == "snmp" && p.RebootDetected {
		row.Session = "guest rebooted"
	}
	return row
}

func htmlEventRow(e triggers.Event, run *Run) htmlEvent {
	row := htmlEvent{Name: e.Name, Kind: e.Kind, Start: FormatSeconds(e.Start), End: "–", Status: string(e.Status),
		Exit: "–", Hypervisor: "–", Times: "–", Bad: TriggerFailure(e) != ""}
	if e.Status != triggers.StatusRunning {
		row.End = FormatSeconds(e.End)
	}
	if e.Error != "" {
		row.Status += ": " + e.Error
	}
	if e.ExitCode >= 0 {
		row.Exit = strconv.Itoa(e.ExitCode)
	}
	if h := e.Hypervisor; h != nil {
		row.Hypervisor = formatMS(h.DowntimeMS)
		if h.Source != "" {
			row.Hypervisor += " (" + h.Source + ")"
		}
		if h.DowntimeNoNetMS != 0 {
			row.Hypervisor += "; without network " + formatMS(h.DowntimeNoNetMS)
		}
		if h.TotalTimeMS != 0 || h.SetupTimeMS != 0 {
			row.Times = formatMS(h.TotalTimeMS) + " / " + formatMS(h.SetupTimeMS)
		}
	}
	row.Shares = shareTexts(e, run)
	return row
}

// pngDataURI embeds a PNG in the page. The bytes are our own drawing, so
// the URL is trusted as safe.
func pngDataURI(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}
