package reports

import (
	"fmt"
	"testing"
	"time"
)

func TestGroups(t *testing.T) {
	var results []ProbeResult
	for i := range 20 {
		results = append(results, ProbeResult{
			ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp", Target: "vms", Address: fmt.Sprintf("10.0.0.%d", 10+i)},
			MaxGap:    time.Duration(i) * 100 * time.Millisecond,
		})
	}
	results = append(results, ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Target: "single", Address: "10.1.0.1"}})
	gs := Groups(results)
	if len(gs) != 1 {
		t.Fatalf("groups: %+v", gs)
	}
	g := gs[0]
	if g.Members != 20 || g.Min != 0 || g.Max != 1900*time.Millisecond || g.P50 != 900*time.Millisecond || g.P95 != 1800*time.Millisecond {
		t.Errorf("distribution: %+v", g)
	}
	if len(g.Worst) != worstShown || g.Worst[0].Address != "10.0.0.29" || g.Worst[9].Address != "10.0.0.20" {
		t.Errorf("worst: %+v", g.Worst)
	}
}
