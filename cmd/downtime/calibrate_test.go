package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios"
)

func TestCalibrateBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-intervals", "10ms,fast"},
		{"-outages", "-1s"},
		{"-kinds", "icmp,smtp"},
		{"extra"},
		{"-nosuchflag"},
	} {
		var out, errb bytes.Buffer
		if code := cmdCalibrate(args, &out, &errb); code != scenarios.ExitBadInput {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, scenarios.ExitBadInput, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%v: wrote to stdout: %q", args, out.String())
		}
	}
	var out, errb bytes.Buffer
	if code := cmdCalibrate([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage: downtime lab calibrate") {
		t.Errorf("-h: exit %d, %q", code, errb.String())
	}
}

func TestDurationList(t *testing.T) {
	def := []time.Duration{time.Second}
	if got, err := durationList("x", "", def); err != nil || len(got) != 1 || got[0] != time.Second {
		t.Errorf("empty: %v %v", got, err)
	}
	got, err := durationList("x", "1ms, 5s", def)
	if err != nil || len(got) != 2 || got[0] != time.Millisecond || got[1] != 5*time.Second {
		t.Errorf("list: %v %v", got, err)
	}
	if _, err := durationList("x", "0s", def); err == nil {
		t.Error("0s accepted")
	}
}
