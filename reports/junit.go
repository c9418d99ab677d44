package reports

import (
	"encoding/xml"
	"io"
	"strconv"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// JUnit XML, in the shape CI servers read (Jenkins, GitLab, GitHub
// actions): testsuites > testsuite > properties, testcase > failure |
// error | skipped.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Hostname   string          `xml:"hostname,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		ClassName string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitProblem `xml:"failure"`
		Error     *junitProblem `xml:"error"`
		Skipped   *junitProblem `xml:"skipped"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes run as junit.xml content, so CI shows a run like a
// test suite: one testsuite named after the scenario; one testcase per
// probe result and limit (classname "ping [10.0.0.2]", name
// "max_gap <= 2 s") failing with the verdict's text; one testcase per
// trigger, failing when the trigger failed or timed out (skipped when it
// was cancelled); and for a partial run one more testcase with an error
// saying why, since its figures cover only part of the run.
func WriteJUnit(w io.Writer, run *Run) error {
	s := junitSuite{Name: run.Meta.Scenario, Time: junitSeconds(runEnd(run)), Hostname: run.Meta.Host}
	if s.Name == "" {
		s.Name = "downtime"
	}
	if !run.Meta.Started.IsZero() {
		s.Timestamp = run.Meta.Started.UTC().Format("2006-01-02T15:04:05") // the XSD's form: no zone
	}
	for _, p := range [][2]string{
		{"tool", run.Meta.Tool}, {"host", run.Meta.Host}, {"started", rfc3339(run.Meta.Started)},
		{"scenario_file", run.Meta.File}, {"lab", run.Meta.Lab},
	} {
		if p[1] != "" {
			s.Properties = append(s.Properties, junitProperty{Name: p[0], Value: p[1]})
		}
	}
	for _, c := range Checks(run) {
		jc := junitCase{ClassName: c.Probe, Name: c.Limit, Time: "0"}
		if c.Address != "" {
			jc.ClassName += " [" + c.Address + "]"
		}
		if c.Failure != "" {
			jc.Failure = &junitProblem{Message: c.Failure, Type: c.Kind, Text: c.Failure}
		}
		s.Cases = append(s.Cases, jc)
	}
	for _, ev := range run.Events {
		if ev.Kind == "wait" {
			continue
		}
		jc := junitCase{ClassName: "trigger", Name: eventName(ev) + " (" + ev.Kind + ")", Time: "0"}
		if ev.End >= ev.Start {
			jc.Time = junitSeconds(ev.End - ev.Start)
		}
		switch ev.Status {
		case triggers.StatusFailed, triggers.StatusTimeout:
			msg := TriggerFailure(ev)
			jc.Failure = &junitProblem{Message: msg, Type: string(ev.Status), Text: msg}
		case triggers.StatusCancel:
			jc.Skipped = &junitProblem{Message: "cancelled: the run was interrupted"}
		case triggers.StatusRunning:
			jc.Time = "0"
			jc.Error = &junitProblem{Message: "still running when the run ended", Type: "partial"}
		}
		s.Cases = append(s.Cases, jc)
	}
	if run.Partial {
		msg := "partial run: " + orDefault(run.Reason, "the run did not finish")
		s.Cases = append(s.Cases, junitCase{ClassName: "run", Name: "run complete", Time: "0",
			Error: &junitProblem{Message: msg, Type: "partial", Text: msg + "; the figures cover only what was recorded"}})
	}
	for _, c := range s.Cases {
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	doc := junitSuites{Name: "downtime", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitSeconds formats d as JUnit's time attribute: seconds, 3 decimals.
func junitSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
