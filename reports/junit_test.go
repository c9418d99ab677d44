package reports

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// xmlNode is a parsed element, for checking the document's shape
// independently of the writer's own types.
type xmlNode struct {
	name     string
	attrs    map[string]string
	children []*xmlNode
	text     string
}

func parseXML(t *testing.T, data []byte) *xmlNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("junit.xml does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.children = append(top.children, n)
			} else if root != nil {
				t.Fatal("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if root == nil {
		t.Fatal("junit.xml has no root element")
	}
	return root
}

// checkJUnitShape checks doc against the common JUnit XSD (the Ant/Jenkins
// one): the allowed elements at each level, the required attributes, and
// counts that agree with the test cases.
func checkJUnitShape(t *testing.T, doc *xmlNode) (cases []*xmlNode) {
	t.Helper()
	need := func(n *xmlNode, attrs ...string) {
		for _, a := range attrs {
			if _, ok := n.attrs[a]; !ok {
				t.Errorf("<%s> lacks the attribute %s", n.name, a)
			}
		}
	}
	count := func(n *xmlNode, attr string) int {
		v, err := strconv.Atoi(n.attrs[attr])
		if err != nil {
			t.Errorf("<%s %s=%q>: not a count", n.name, attr, n.attrs[attr])
		}
		return v
	}
	if doc.name != "testsuites" {
		t.Fatalf("root is <%s>, want <testsuites>", doc.name)
	}
	var total [3]int
	for _, s := range doc.children {
		if s.name != "testsuite" {
			t.Fatalf("<testsuites> holds <%s>", s.name)
		}
		need(s, "name", "tests", "failures", "errors", "time")
		if _, err := strconv.ParseFloat(s.attrs["time"], 64); err != nil {
			t.Errorf("testsuite time %q", s.attrs["time"])
		}
		if ts, ok := s.attrs["timestamp"]; ok {
			if _, err := time.Parse("2006-01-02T15:04:05", ts); err != nil {
				t.Errorf("timestamp %q is not the XSD's form", ts)
			}
		}
		var n [4]int // tests, failures, errors, skipped
		for i, c := range s.children {
			switch c.name {
			case "properties":
				if i != 0 {
					t.Error("<properties> is not the first child of <testsuite>")
				}
				for _, p := range c.children {
					if p.name != "property" {
						t.Errorf("<properties> holds <%s>", p.name)
					}
					need(p, "name", "value")
				}
			case "testcase":
				need(c, "name", "classname", "time")
				cases = append(cases, c)
				n[0]++
				for _, r := range c.children {
					switch r.name {
					case "failure":
						n[1]++
						need(r, "message")
					case "error":
						n[2]++
						need(r, "message")
					case "skipped":
						n[3]++
					default:
						t.Errorf("<testcase> holds <%s>", r.name)
					}
				}
				if len(c.children) > 1 {
					t.Errorf("testcase %q has %d results", c.attrs["name"], len(c.children))
				}
			default:
				t.Errorf("<testsuite> holds <%s>", c.name)
			}
		}
		if got := [4]int{count(s, "tests"), count(s, "failures"), count(s, "errors"), count(s, "skipped")}; got != n {
			t.Errorf("testsuite counts tests/failures/errors/skipped %v, its cases %v", got, n)
		}
		total[0], total[1], total[2] = total[0]+n[0], total[1]+n[1], total[2]+n[2]
	}
	if got := [3]int{count(doc, "tests"), count(doc, "failures"), count(doc, "errors")}; got != total {
		t.Errorf("testsuites counts %v, its suites %v", got, total)
	}
	return cases
}

func TestWriteJUnitGolden(t *testing.T) {
	run := goldenRun()
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, run); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml", buf.Bytes())
	cases := checkJUnitShape(t, parseXML(t, buf.Bytes()))

	// Every failure of the verdict appears as a failure message.
	var messages []string
	for _, c := range cases {
		for _, r := range c.children {
			messages = append(messages, r.attrs["message"])
		}
	}
	if want := Evaluate(run).Failures; !sameSet(messages, want) {
		t.Errorf("failure messages %q, want the verdict's %q", messages, want)
	}
	if cases[0].attrs["classname"] != "ping [10.0.0.2]" || cases[0].attrs["name"] != "max_gap <= 2 s" {
		t.Errorf("first case %v", cases[0].attrs)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestWriteJUnitPartial(t *testing.T) {
	run := goldenRun()
	run.Partial, run.Reason = true, "the run did not finish (summary.json is missing)"
	run.Events = append(run.Events,
		triggers.Event{Name: "hung", Kind: "ssh", Start: 7 * time.Second, Status: triggers.StatusRunning},
		triggers.Event{Name: "cut", Kind: "exec", Start: 7 * time.Second, End: 8 * time.Second, Status: triggers.StatusCancel},
		triggers.Event{Name: "settle", Kind: "wait", Start: 8 * time.Second, End: 9 * time.Second, Status: triggers.StatusOK},
		triggers.Event{Name: "virsh", Kind: "virsh", Start: 9 * time.Second, End: 39 * time.Second, Status: triggers.StatusTimeout, Error: "context deadline exceeded"},
	)
	run.Meta.Scenario, run.Meta.Tool, run.Meta.Started = "", "", time.Time{}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, run); err != nil {
		t.Fatal(err)
	}
	doc := parseXML(t, buf.Bytes())
	cases := checkJUnitShape(t, doc)
	suite := doc.children[0]
	if suite.attrs["name"] != "downtime" {
		t.Errorf("suite of a run without a scenario name: %q", suite.attrs["name"])
	}
	if _, ok := suite.attrs["timestamp"]; ok {
		t.Error("timestamp without a start time")
	}
	byName := map[string]*xmlNode{}
	for _, c := range cases {
		byName[c.attrs["name"]] = c
	}
	for name, want := range map[string]string{
		"hung (ssh)":    "error",
		"cut (exec)":    "skipped",
		"virsh (virsh)": "failure",
		"run complete":  "error",
	} {
		c := byName[name]
		if c == nil || len(c.children) != 1 || c.children[0].name != want {
			t.Errorf("testcase %q: want a <%s>", name, want)
		}
	}
	if c := byName["virsh (virsh)"]; c != nil && c.attrs["time"] != "30.000" {
		t.Errorf("virsh time %q", c.attrs["time"])
	}
	if c := byName["run complete"]; c != nil && !strings.Contains(c.children[0].attrs["message"], "summary.json is missing") {
		t.Errorf("partial error %q", c.children[0].attrs["message"])
	}
	if _, ok := byName["settle (wait)"]; ok {
		t.Error("a wait step became a testcase")
	}
}
