package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDispatchExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nprobes:\n  - {kind: icmp, target: nowhere}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"check"}, 2, "usage"},
		{[]string{"check", bad}, 2, bad + ":3: probes[0].target"},
		{[]string{"check", "../../scenarios/examples/outage.yaml"}, 0, "ok"},
		{[]string{"run", bad}, 2, bad + ":3:"},
		{[]string{"report", filepath.Join(dir, "nothing")}, 2, "nothing"},
		{[]string{"version"}, 0, ""},
	} {
		var stdout, stderr bytes.Buffer
		code := dispatch(tc.args, &stdout, &stderr)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, &stdout, &stderr)
		}
		if all := stdout.String() + stderr.String(); !strings.Contains(all, tc.out) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.out, all)
		}
	}
}

// check prints the steps in the order a run fires them, with the offsets
// and flags in effect.
func TestCheckPrintsTimeline(t *testing.T) {
	f := filepath.Join(t.TempDir(), "steps.yaml")
	os.WriteFile(f, []byte(`name: steps
targets:
  guest: {address: 192.0.2.1}
probes: [{kind: icmp, target: guest}]
triggers:
  - {name: later, kind: exec, at: 5s, argv: [true]}
  - {name: follows, kind: exec, always: true, argv: [true]}
  - {name: first, kind: exec, at: 1s, parallel: true, argv: [true]}
`), 0o644)
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"check", f}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	var got []string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(l, "    at ") {
			got = append(got, strings.Join(strings.Fields(l), " "))
		}
	}
	want := []string{"at 1s first exec parallel", "at 5s later exec", "at 5s follows exec always"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
