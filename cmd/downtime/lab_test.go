package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/downtime-lab/downtime/scenarios"
)

func TestLabUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, scenarios.ExitBadInput, "usage: downtime lab"},
		{[]string{"sideways"}, scenarios.ExitBadInput, `unknown command "sideways"`},
		{[]string{"up", "extra"}, scenarios.ExitBadInput, `unexpected argument "extra"`},
		{[]string{"status", "--bond"}, scenarios.ExitBadInput, "flag provided but not defined"},
		{[]string{"down", "--prefix", "../etc"}, scenarios.ExitBadInput, "invalid prefix"},
		{[]string{"up", "--accel", "hvf"}, scenarios.ExitBadInput, "accelerator"},
		{[]string{"help"}, 0, ""},
	} {
		var stdout, stderr bytes.Buffer
		code := cmdLab(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("lab %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

func TestLabStatusWhenDown(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := cmdLab([]string{"status", "--prefix", "dtnosuchlab"}, &stdout, &stderr)
	if code != scenarios.ExitNotRun || !strings.Contains(stderr.String(), "downtime lab up") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
