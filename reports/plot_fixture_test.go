package reports

import (
	"fmt"
	"math"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// rng is a tiny deterministic generator so fixtures never change.
type rng uint64

func (r *rng) float() float64 {
	*r = *r*6364136223846793005 + 1442695040888963407
	return float64(uint64(*r)>>11) / (1 << 53)
}

// fixtureProbe makes the points and result of one probe sending every
// interval for run, losing everything inside the outages.
func fixtureProbe(name, kind, addr string, interval, run, rtt time.Duration, seed rng, outages ...[2]time.Duration) ProbeResult {
	r := ProbeResult{ProbeMeta: ProbeMeta{Name: name, Kind: kind, Target: addr, Address: addr, Interval: interval, Timeout: interval}}
	for t := time.Duration(0); t < run; t += interval {
		lost := false
		for _, o := range outages {
			if t >= o[0] && t < o[1] {
				lost = true
			}
		}
		p := Point{Sent: t, Lost: lost}
		if !lost {
			// Mostly near rtt, a slow tail, slower around the migration.
			f := 0.7 + 0.6*seed.float()
			if seed.float() < 0.02 {
				f *= 4
			}
			p.RTT = time.Duration(float64(rtt) * f)
			r.Received++
			r.RTT.Max = max(r.RTT.Max, p.RTT)
		} else {
			r.Lost++
		}
		r.Sent++
		r.Points = append(r.Points, p)
	}
	r.RTT.Median = rtt
	r.Gaps = fixtureGaps(r.Points, interval)
	for _, g := range r.Gaps {
		r.MaxGap = max(r.MaxGap, g.Duration())
	}
	return r
}

// fixtureGaps finds the gaps of points the way the analysis defines them.
func fixtureGaps(pts []Point, interval time.Duration) []Gap {
	var gaps []Gap
	lastGood := -1
	for i := 0; i < len(pts); i++ {
		if !pts[i].Lost {
			lastGood = i
			continue
		}
		j := i
		for j < len(pts) && pts[j].Lost {
			j++
		}
		g := Gap{Bound: interval, Lost: j - i, FirstSeq: uint64(i), LastSeq: uint64(j - 1)}
		if lastGood >= 0 {
			g.Start = pts[lastGood].Sent
		} else {
			g.Start, g.Open = pts[i].Sent, true
		}
		if j < len(pts) {
			g.End = pts[j].Sent
		} else {
			g.End, g.Open = pts[j-1].Sent, true
		}
		gaps = append(gaps, g)
		i = j - 1
	}
	return gaps
}

// fixtureRun is a small migration run: three probes, one trigger window
// with hypervisor figures, one failed trigger.
func fixtureRun() *Run {
	s := time.Second
	ms := time.Millisecond
	ping := fixtureProbe("ping", "icmp", "10.99.0.2", 10*ms, 30*s, 400*time.Microsecond, 1,
		[2]time.Duration{12*s + 40*ms, 13*s + 60*ms}, [2]time.Duration{21 * s, 21*s + 150*ms})
	ssh := fixtureProbe("ssh", "ssh", "10.99.0.2:22", 100*ms, 30*s, 2*ms, 2,
		[2]time.Duration{12 * s, 13*s + 300*ms})
	ssh.Sessions = 1
	ssh.Survived = true
	tcp := fixtureProbe("echo", "tcp", "10.99.0.2:7", 20*ms, 30*s, 60*ms, 3,
		[2]time.Duration{12*s + 100*ms, 13*s + 200*ms}, [2]time.Duration{29*s + 500*ms, 30 * s})
	run := &Run{
		Meta: Meta{
			Scenario: "migrate-web",
			File:     "scenarios/migrate-web.yaml",
			Started:  time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
			Host:     "lab-host",
			Tool:     "downtime test",
			Lab:      "QEMU TCG",
		},
		Probes: []ProbeResult{ping, ssh, tcp},
		Events: []triggers.Event{
			{Name: "migrate", Kind: "qmp", Start: 10 * s, End: 13*s + 400*ms, Status: triggers.StatusOK,
				Hypervisor: &triggers.Hypervisor{Source: "qmp query-migrate", DowntimeMS: 52}},
			{Name: "flush-arp", Kind: "exec", Start: 20*s + 900*ms, End: 21*s + 300*ms, Status: triggers.StatusFailed, ExitCode: 1},
		},
		Verdict: Verdict{Pass: false, Failures: []string{"ping: max gap 1.02 s > 500 ms"}},
	}
	for _, r := range run.Probes {
		run.Meta.Probes = append(run.Meta.Probes, r.ProbeMeta)
	}
	return run
}

// heatRun is a group probe of n members: a few lose a stretch around the
// migration, one is slow throughout.
func heatRun(n int) *Run {
	s := time.Second
	ms := time.Millisecond
	run := &Run{
		Meta:    Meta{Scenario: "failover-fleet", Started: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)},
		Verdict: Verdict{Pass: true},
		Events: []triggers.Event{
			{Name: "bond-failover", Kind: "link", Start: 20 * s, End: 20*s + 50*ms, Status: triggers.StatusOK},
		},
	}
	for i := range n {
		addr := fmt.Sprintf("10.99.%d.%d", i/250, i%250+2)
		var outages [][2]time.Duration
		switch {
		case i%17 == 3:
			d := time.Duration(100+37*(i%23)) * ms * 4
			outages = append(outages, [2]time.Duration{20*s + time.Duration(i)*ms, 20*s + time.Duration(i)*ms + d})
		case i%41 == 5:
			outages = append(outages, [2]time.Duration{time.Duration(5+i%30) * s, time.Duration(5+i%30)*s + 40*ms})
		}
		rtt := time.Duration(300+int(math.Mod(float64(i)*7, 200))) * time.Microsecond
		if i == 77 {
			rtt = 6 * ms
		}
		r := fixtureProbe("fleet", "icmp", addr, 50*ms, 40*s, rtt, rng(i+10), outages...)
		r.Target = "group:web"
		run.Probes = append(run.Probes, r)
	}
	return run
}
