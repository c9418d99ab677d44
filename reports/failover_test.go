package reports

import (
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
)

// attempts builds one address's samples every 100 ms from a pattern:
// '.' answered, 'x' lost, ' ' not probed (the failover address starts late).
func attempts(name, addr, pattern string) []probes.Sample {
	var out []probes.Sample
	seq := uint64(0)
	for i, c := range pattern {
		if c == ' ' {
			continue
		}
		t := time.Duration(i) * 100 * time.Millisecond
		s := probes.Sample{Probe: name, Target: "guest", Address: addr, Seq: seq, Scheduled: t, Sent: t, RTT: time.Millisecond}
		if c == 'x' {
			s.Lost, s.RTT = true, 0
		}
		out = append(out, s)
		seq++
	}
	return out
}

func TestFailoverMerge(t *testing.T) {
	const ms = time.Millisecond
	iv := 100 * ms
	meta := Meta{Probes: []ProbeMeta{
		{Name: "ping", Kind: "icmp", Target: "guest", Address: "192.168.10.91", Interval: iv, Timeout: iv},
		{Name: "ping", Kind: "icmp", Target: "guest", Address: "192.168.20.91", Interval: iv, Timeout: iv, FailoverFor: "192.168.10.91"},
	}}
	for _, tt := range []struct {
		name              string
		primary, failover string
		gaps              []Gap         // of the primary, after the merge
		first             time.Duration // the first answer: sent + 1 ms RTT
	}{
		{"the guest comes back at the new address",
			"....xxxxxxxxxxxx", "    xxxxx.......",
			[]Gap{{Start: 300 * ms, Began: 400 * ms, End: 901 * ms, Bound: 200 * ms, Lost: 6, FirstSeq: 4, LastSeq: 15}}, 901 * ms},
		{"the guest comes back at the old address",
			"....xxxx........", "    xxxxxxxxxxxx",
			[]Gap{{Start: 300 * ms, Began: 400 * ms, End: 800 * ms, Bound: 200 * ms, Lost: 4, FirstSeq: 4, LastSeq: 7}}, -1},
		{"never back",
			"....xxxxxxxxxxxx", "    xxxxxxxxxxxx",
			[]Gap{{Start: 300 * ms, Began: 400 * ms, End: 1500 * ms, Bound: 200 * ms, Lost: 12, Open: true, FirstSeq: 4, LastSeq: 15}}, -1},
		{"both answer: no gap",
			"................", "    ............",
			nil, 401 * ms},
	} {
		t.Run(tt.name, func(t *testing.T) {
			samples := append(attempts("ping", "192.168.10.91", tt.primary), attempts("ping", "192.168.20.91", tt.failover)...)
			run := Analyze(meta, samples, nil)
			p := run.Probes[0]
			if p.FailoverAddress != "192.168.20.91" || p.FailoverFirstAnswer != tt.first {
				t.Errorf("failover %q first answer %v, want %v", p.FailoverAddress, p.FailoverFirstAnswer, tt.first)
			}
			if len(p.Gaps) != len(tt.gaps) {
				t.Fatalf("gaps %+v, want %+v", p.Gaps, tt.gaps)
			}
			for i := range p.Gaps {
				if p.Gaps[i] != tt.gaps[i] {
					t.Errorf("gap %d: %+v, want %+v", i, p.Gaps[i], tt.gaps[i])
				}
			}
		})
	}
}
