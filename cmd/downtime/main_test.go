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
