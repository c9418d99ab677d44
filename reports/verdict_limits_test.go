package reports

import (
	"slices"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// TestChecks covers every limit kind, set per probe name and as a kind
// default, with what passes, what fails and the exact failure text.
func TestChecks(t *testing.T) {
	s := time.Second
	migrate := triggers.Event{Name: "migrate", Kind: "qmp", Start: 10 * s, End: 12 * s, Status: triggers.StatusOK,
		Hypervisor: &triggers.Hypervisor{Source: "qmp query-migrate", DowntimeMS: 312}}
	events := []triggers.Event{
		{Name: "settle", Kind: "wait", Start: 0, End: 10 * s, Status: triggers.StatusOK},
		migrate,
		{Name: "back", Kind: "virsh", Start: 20 * s, End: 21 * s, Status: triggers.StatusOK,
			Hypervisor: &triggers.Hypervisor{DowntimeMS: 150}},
		{Name: "note", Kind: "exec", Start: 25 * s, End: 26 * s, Status: triggers.StatusOK},
	}
	ping := func(mod func(*ProbeResult)) ProbeResult {
		p := ProbeResult{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp", Address: "10.0.0.2"}, Sent: 1000, Received: 990, Lost: 10,
			MaxGap: 2310 * ms, Gaps: []Gap{{Start: 11 * s, End: 11*s + 2310*ms}}, FailoverFirstAnswer: -1}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	ssh := func(mod func(*ProbeResult)) ProbeResult {
		p := ProbeResult{ProbeMeta: ProbeMeta{Name: "ssh", Kind: "ssh", Address: "10.0.0.2:22"}, Sent: 50, Received: 50,
			Sessions: 1, Survived: true, MaxStall: 1200 * ms, MaxGap: 1200 * ms, Gaps: []Gap{{Start: 20 * s, End: 21*s + 200*ms}},
			FailoverFirstAnswer: -1}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	type c struct{ kind, limit, failure string }
	tests := []struct {
		name   string
		th     map[string]Threshold
		probes []ProbeResult
		events []triggers.Event
		want   []c
	}{
		{"max_gap by name", map[string]Threshold{"ping": {MaxGap: 2 * s}}, []ProbeResult{ping(nil)}, events,
			[]c{{"max_gap", "max_gap <= 2 s", "ping: max gap 2.31 s > 2 s during trigger migrate"}}},
		{"max_gap by kind, passing", map[string]Threshold{"icmp": {MaxGap: 2500 * ms}}, []ProbeResult{ping(nil)}, events,
			[]c{{"max_gap", "max_gap <= 2.5 s", ""}}},
		{"max_lost by name", map[string]Threshold{"ping": {MaxLost: intp(9)}}, []ProbeResult{ping(nil)}, events,
			[]c{{"max_lost", "max_lost <= 9", "ping: lost 10 > 9"}}},
		{"max_lost by kind, passing at the limit", map[string]Threshold{"icmp": {MaxLost: intp(10)}}, []ProbeResult{ping(nil)}, events,
			[]c{{"max_lost", "max_lost <= 10", ""}}},
		{"max_loss_pct by name", map[string]Threshold{"ping": {MaxLossPct: floatp(0.5)}}, []ProbeResult{ping(nil)}, events,
			[]c{{"max_loss_pct", "max_loss_pct <= 0.5%", "ping: loss 1.00% > 0.5%"}}},
		{"max_loss_pct by kind, passing", map[string]Threshold{"icmp": {MaxLossPct: floatp(1)}}, []ProbeResult{ping(nil)}, events,
			[]c{{"max_loss_pct", "max_loss_pct <= 1%", ""}}},
		{"survive by name", map[string]Threshold{"ssh": {Survive: true}},
			[]ProbeResult{ssh(func(p *ProbeResult) {
				p.Survived, p.Sessions, p.Resets = false, 2, []Reset{{At: 11 * s, Reconnect: 2 * s}}
			})}, events,
			[]c{{"survive", "session survives", "ssh: session did not survive (reset at 11.00 s, reconnected after 2.00 s, during trigger migrate)"}}},
		{"survive by kind, passing; not judged for icmp", map[string]Threshold{"ssh": {Survive: true}, "icmp": {Survive: true}},
			[]ProbeResult{ssh(nil), ping(nil)}, events,
			[]c{{"survive", "session survives", ""}}},
		{"max_stall by name", map[string]Threshold{"ssh": {MaxStall: s}}, []ProbeResult{ssh(nil)}, events,
			[]c{{"max_stall", "max_stall <= 1 s", "ssh: max stall 1.20 s > 1 s during trigger back"}}},
		{"max_stall by kind, passing", map[string]Threshold{"ssh": {MaxStall: 1500 * ms}}, []ProbeResult{ssh(func(p *ProbeResult) { p.Name = "session" })}, events,
			[]c{{"max_stall", "max_stall <= 1.5 s", ""}}},
		{"failover late, from the first trigger", map[string]Threshold{"ping": {MaxTimeToFailoverAddress: 2 * s}},
			[]ProbeResult{ping(func(p *ProbeResult) { p.FailoverFirstAnswer = 13*s + 200*ms })}, events,
			[]c{{"max_time_to_failover_address", "max_time_to_failover_address <= 2 s", "ping: failover address answered 3.20 s after the start of trigger migrate > 2 s"}}},
		{"failover in time, by kind", map[string]Threshold{"icmp": {MaxTimeToFailoverAddress: 5 * s}},
			[]ProbeResult{ping(func(p *ProbeResult) { p.FailoverAddress, p.FailoverFirstAnswer = "10.0.1.2", 13*s+200*ms })}, events,
			[]c{{"max_time_to_failover_address", "max_time_to_failover_address <= 5 s", ""}}},
		{"failover by kind: not judged without a failover address", map[string]Threshold{"icmp": {MaxTimeToFailoverAddress: 5 * s}},
			[]ProbeResult{ping(nil)}, events, nil},
		{"failover answered before the trigger", map[string]Threshold{"ping": {MaxTimeToFailoverAddress: ms}},
			[]ProbeResult{ping(func(p *ProbeResult) { p.FailoverFirstAnswer = 5 * s })}, events,
			[]c{{"max_time_to_failover_address", "max_time_to_failover_address <= 0.001 s", ""}}},
		{"failover never answered", map[string]Threshold{"ping": {MaxTimeToFailoverAddress: 2 * s}},
			[]ProbeResult{ping(nil)}, events,
			[]c{{"max_time_to_failover_address", "max_time_to_failover_address <= 2 s", "ping: failover address never answered (limit 2 s after the start of trigger migrate)"}}},
		{"failover without triggers counts from the run start", map[string]Threshold{"ping": {MaxTimeToFailoverAddress: 2 * s}},
			[]ProbeResult{ping(func(p *ProbeResult) { p.FailoverFirstAnswer = 2500 * ms })}, nil,
			[]c{{"max_time_to_failover_address", "max_time_to_failover_address <= 2 s", "ping: failover address answered 2.50 s after the run start > 2 s"}}},
		{"the failover address's own result is not judged", map[string]Threshold{"ping": {MaxTimeToFailoverAddress: 2 * s, MaxLost: intp(0)}},
			[]ProbeResult{
				ping(func(p *ProbeResult) { p.FailoverAddress, p.FailoverFirstAnswer = "10.0.1.2", 14*s }),
				ping(func(p *ProbeResult) { p.Address, p.FailoverFor, p.FailoverFirstAnswer = "10.0.1.2", "10.0.0.2", 14*s }),
			}, events,
			[]c{
				{"max_lost", "max_lost <= 0", "ping: lost 10 > 0"},
				{"max_time_to_failover_address", "max_time_to_failover_address <= 2 s", "ping: failover address answered 4.00 s after the start of trigger migrate > 2 s"},
			}},
		{"hypervisor downtime by name: one check per event over", map[string]Threshold{"ping": {MaxHypervisorDowntime: 100 * ms}},
			[]ProbeResult{ping(nil)}, events,
			[]c{
				{"max_hypervisor_downtime", "max_hypervisor_downtime <= 0.1 s", "ping: hypervisor downtime 312.0 ms > 0.1 s during trigger migrate"},
				{"max_hypervisor_downtime", "max_hypervisor_downtime <= 0.1 s", "ping: hypervisor downtime 150.0 ms > 0.1 s during trigger back"},
			}},
		{"hypervisor downtime by kind, at the limit", map[string]Threshold{"ssh": {MaxHypervisorDowntime: 312 * ms}},
			[]ProbeResult{ssh(nil)}, events,
			[]c{{"max_hypervisor_downtime", "max_hypervisor_downtime <= 0.312 s", ""}}},
		{"hypervisor downtime without hypervisor figures passes", map[string]Threshold{"ping": {MaxHypervisorDowntime: ms}},
			[]ProbeResult{ping(nil)}, events[3:],
			[]c{{"max_hypervisor_downtime", "max_hypervisor_downtime <= 0.001 s", ""}}},
		{"group members are labelled by address", map[string]Threshold{"ping": {MaxLost: intp(0)}},
			[]ProbeResult{ping(nil), ping(func(p *ProbeResult) { p.Address, p.Lost = "10.0.0.3", 0 })}, events,
			[]c{{"max_lost", "max_lost <= 0", "ping 10.0.0.2: lost 10 > 0"}, {"max_lost", "max_lost <= 0", ""}}},
		{"no samples", map[string]Threshold{"ping": {MaxGap: s, MaxLost: intp(0)}},
			[]ProbeResult{{ProbeMeta: ProbeMeta{Name: "ping", Kind: "icmp"}}}, events,
			[]c{{"samples", "samples > 0", "ping: no samples"}}},
		{"every kind in order", map[string]Threshold{"ssh": {MaxGap: s, MaxLost: intp(1), MaxLossPct: floatp(1), MaxStall: s, Survive: true,
			MaxTimeToFailoverAddress: s, MaxHypervisorDowntime: s}},
			[]ProbeResult{ssh(func(p *ProbeResult) { p.FailoverFirstAnswer = 10 * s })}, events,
			[]c{
				{"max_gap", "max_gap <= 1 s", "ssh: max gap 1.20 s > 1 s during trigger back"},
				{"max_lost", "max_lost <= 1", ""},
				{"max_loss_pct", "max_loss_pct <= 1%", ""},
				{"max_stall", "max_stall <= 1 s", "ssh: max stall 1.20 s > 1 s during trigger back"},
				{"survive", "session survives", ""},
				{"max_time_to_failover_address", "max_time_to_failover_address <= 1 s", ""},
				{"max_hypervisor_downtime", "max_hypervisor_downtime <= 1 s", ""},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &Run{Meta: Meta{Thresholds: tt.th}, Probes: tt.probes, Events: tt.events}
			var got []c
			var failures []string
			for _, ch := range Checks(run) {
				got = append(got, c{ch.Kind, ch.Limit, ch.Failure})
				if ch.Failure != "" {
					failures = append(failures, ch.Failure)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Checks =\n%q\nwant\n%q", got, tt.want)
			}
			v := Evaluate(run)
			if v.Pass != (len(failures) == 0) || !slices.Equal(v.Failures, failures) {
				t.Errorf("Evaluate = %+v; want the failing checks %q", v, failures)
			}
		})
	}
}
