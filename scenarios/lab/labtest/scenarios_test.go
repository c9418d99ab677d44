package labtest_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// The live-migration scenario, A→B, standby, B→A, through the runner: both
// migrations complete with a downtime QEMU reports, the ICMP probe's gap
// during each (the gap overlapping it, or starting before the next step) is no shorter than that downtime minus one interval, and the
// SSH session survives.
func TestLiveMigrationScenario(t *testing.T) {
	prefix, ok := inLab(t, false)
	if !ok {
		return
	}
	r := runScenario(t, "live-migration.yaml", prefix)
	evs := r.res.Run.Events
	ping := r.probe(t, "ping")
	migrations := 0
	for i, ev := range evs {
		if ev.Status != triggers.StatusOK {
			t.Errorf("event %s: %s %s", ev.Name, ev.Status, ev.Error)
			continue
		}
		if ev.Kind != "qmp" {
			continue
		}
		migrations++
		h := ev.Hypervisor
		if h == nil || h.DowntimeMS <= 0 {
			t.Errorf("event %s: no QEMU downtime: %+v", ev.Name, h)
			continue
		}
		downtime := time.Duration(h.DowntimeMS * float64(time.Millisecond))
		gap, lost := gapAfter(ping, evs, i)
		line := "event %s: QEMU downtime %.0f ms (total %.0f ms); gaps: icmp %.1f ms (%d lost)"
		args := []any{ev.Name, h.DowntimeMS, h.TotalTimeMS, ms(gap), lost}
		for _, name := range []string{"echo", "ssh", "snmp"} {
			g, l := gapAfter(r.probe(t, name), evs, i)
			line += ", " + name + " %.1f ms (%d)"
			args = append(args, ms(g), l)
		}
		t.Logf(line, args...)
		// While the guest is paused nothing answers: the probe must see at
		// least the pause, less the one interval a pause may fall between
		// two attempts. (If nothing was lost the gap is 0, and this holds
		// only for a pause shorter than one interval.)
		if gap < downtime-ping.Interval {
			t.Errorf("event %s: icmp gap %v shorter than QEMU's downtime %v minus the interval %v", ev.Name, gap, downtime, ping.Interval)
		}
		if !r.answeredAfter(ping, ev.End) {
			t.Errorf("event %s: the guest never answered ping after the migration", ev.Name)
		}
	}
	if migrations < 2 {
		t.Errorf("%d migrations, want at least 2 (there and back): %+v", migrations, evs)
	}
	for _, name := range []string{"ssh", "echo"} {
		if p := r.probe(t, name); !p.Survived {
			t.Errorf("%s session did not survive the migrations: %d sessions, resets %+v", name, p.Sessions, p.Resets)
		}
	}
	if !r.res.Run.Verdict.Pass {
		t.Errorf("verdict: %v", r.res.Run.Verdict.Failures)
	}
}

// The bond-failover scenario through the runner: net0 down (the bond
// fails over to eth1), then up (it fails back to eth0). Both events
// succeed, every probe answers after each, and the SSH session survives.
func TestBondFailoverScenario(t *testing.T) {
	prefix, ok := inLab(t, true)
	if !ok {
		return
	}
	r := runScenario(t, "bond-failover.yaml", prefix)
	evs := r.res.Run.Events
	if len(evs) != 2 || evs[0].Name != "net0-down" || evs[1].Name != "net0-up" {
		t.Fatalf("events: %+v", evs)
	}
	for i, ev := range evs {
		if ev.Status != triggers.StatusOK {
			t.Errorf("event %s: %s %s", ev.Name, ev.Status, ev.Error)
		}
		for _, name := range []string{"ping4", "ping6", "ssh"} {
			p := r.probe(t, name)
			gap, lost := gapAfter(p, evs, i)
			t.Logf("event %s: %s (%s) gap %.1f ms, %d lost", ev.Name, name, p.Address, ms(gap), lost)
			// The failover time is the bond's business (miimon 100 ms);
			// what must hold is that the service comes back after it.
			if !r.answeredAfter(p, ev.End) {
				t.Errorf("event %s: %s never answered after it", ev.Name, name)
			}
		}
	}
	if p := r.probe(t, "ssh"); !p.Survived {
		t.Errorf("ssh session did not survive the failover: resets %+v", p.Resets)
	}
	if !r.res.Run.Verdict.Pass {
		t.Errorf("verdict: %v", r.res.Run.Verdict.Failures)
	}
}

// forwardDelay is what bond-failback-stp.yaml sets on the lab switch.
const forwardDelay = 2 * time.Second

// Seed 002 in the lab, and its remedy, in one bonded lab. Ground truth is
// the kernel's spanning tree: a switch port that comes up does not forward
// for 2 × forward_delay, so under STP the failback's gap must reach at
// least that far past the port's coming up. With the bond's updelay (5 s)
// longer than that, eth0 becomes active only once its port forwards, and
// the guest must keep answering while the port cannot forward yet.
func TestBondFailbackScenarios(t *testing.T) {
	prefix, ok := inLab(t, true)
	if !ok {
		return
	}
	for _, tc := range []struct {
		file   string
		costly bool // the failback waits for the port
	}{
		{"bond-failback-stp.yaml", true},
		{"bond-failback-updelay.yaml", false},
	} {
		r := runScenario(t, tc.file, prefix)
		evs := r.res.Run.Events
		at := map[string]int{}
		for i, ev := range evs {
			at[ev.Name] = i
			if ev.Status != triggers.StatusOK {
				t.Errorf("%s: event %s: %s %s", tc.file, ev.Name, ev.Status, ev.Error)
			}
		}
		portUp, ok1 := at["port-up"]
		plug, ok2 := at["net0-up"]
		if !ok1 || !ok2 {
			t.Fatalf("%s: events: %+v", tc.file, evs)
		}
		forwarding := evs[portUp].Start + 2*forwardDelay
		for _, name := range []string{"ping4", "ping6"} {
			p := r.probe(t, name)
			var back reports.Gap // the failback's gap: the longest after the plug
			for _, g := range p.Gaps {
				if g.End > evs[plug].Start && g.Duration() > back.Duration() {
					back = g
				}
			}
			t.Logf("%s: %s failback gap %.1f ms (±%.1f), port forwards from %.3f s", tc.file, name, ms(back.Duration()), ms(back.Bound), forwarding.Seconds())
			// Timers run in jiffies: allow one tick per STP state.
			const tick = 10 * time.Millisecond
			if tc.costly && back.End < forwarding-2*tick {
				t.Errorf("%s: %s answered again (sent at %v) before the port could forward (%v)", tc.file, name, back.End, forwarding)
			}
			// With updelay the bond stays on eth1 while eth0's port listens
			// and learns, so the guest answers then (under STP alone
			// nothing is answered in that window).
			if from, to := evs[plug].End+500*time.Millisecond, forwarding-100*time.Millisecond; !tc.costly && !r.answeredBetween(p, from, to) {
				t.Errorf("%s: %s: no attempt sent between %v and %v was answered: updelay did not hold eth0 back", tc.file, name, from, to)
			}
			if !r.answeredAfter(p, forwarding) {
				t.Errorf("%s: %s never answered after the port forwarded", tc.file, name)
			}
		}
		if p := r.probe(t, "ssh"); !p.Survived {
			t.Errorf("%s: ssh session did not survive: resets %+v", tc.file, p.Resets)
		}
		// The file leaves the lab's switch as it found it: STP off and the
		// kernel's MAC ageing, which STP can leave at 2 × forward_delay
		// when switched off during a topology change, and which decides
		// whether the next run's failback waits for a stale entry.
		out, err := exec.Command("ip", "-n", prefix+"-hosts", "-d", "link", "show", "br0").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"ageing_time 30000 ", "stp_state 0 "} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: after the run, br0 lacks %q:\n%s", tc.file, want, out)
			}
		}
	}
}
