package probes_test

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// The group tests put many addresses on the server namespace's loopback,
// route them from the client through the veth, and ping them all from
// the client namespace (the test re-runs itself there).

// Address ranges of the group tests, inside the test's own namespaces.
var (
	grpFirst4 = netip.MustParseAddr("198.18.0.1")
	grpNet4   = "198.18.0.0/16"
	grpFirst6 = netip.MustParseAddr("fd00:d7::1")
	grpNet6   = "fd00:d7::/64"
)

// grpAddrs returns n consecutive addresses from first.
func grpAddrs(first netip.Addr, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i], first = first, first.Next()
	}
	return out
}

// grpIP runs `ip -n ns -batch -` with the given commands.
func grpIP(t *testing.T, ns string, cmds []string) {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s -batch: %v\n%s", ns, err, out)
	}
}

// grpLab is what the child sees: the server namespace and the targets.
type grpLab struct {
	serverNS         string
	server4, server6 netip.Addr
	addrs            []netip.Addr
}

// grpInClient gives the server n addresses of the v6 or v4 range, routes
// them from the client, and runs body in the client namespace. setup, if
// set, runs in the parent before the child.
func grpInClient(t *testing.T, v6 bool, n int, setup func(t *testing.T, p *netns.Pair), body func(t *testing.T, l grpLab)) {
	t.Helper()
	first, network, plen := grpFirst4, grpNet4, "/32"
	if v6 {
		first, network, plen = grpFirst6, grpNet6, "/128"
	}
	if !netns.InChild() {
		p := netns.PairForTest(t)
		var cmds []string
		for _, a := range grpAddrs(first, n) {
			cmds = append(cmds, "address add "+a.String()+plen+" dev lo")
		}
		grpIP(t, p.Server.Name, cmds)
		via := p.Server4
		if v6 {
			via = p.Server6
		}
		grpIP(t, p.Client.Name, []string{"route add " + network + " via " + via.String()})
		if setup != nil {
			setup(t, p)
		}
		netns.RunTestIn(t, p.Client, map[string]string{
			"SERVER_NS": p.Server.Name, "N": strconv.Itoa(n),
			"SERVER4": p.Server4.String(), "SERVER6": p.Server6.String(),
		})
		return
	}
	n, err := strconv.Atoi(netns.ChildEnv("N"))
	if err != nil {
		t.Fatal(err)
	}
	l := grpLab{serverNS: netns.ChildEnv("SERVER_NS"), addrs: grpAddrs(first, n)}
	l.server4 = netip.MustParseAddr(netns.ChildEnv("SERVER4"))
	l.server6 = netip.MustParseAddr(netns.ChildEnv("SERVER6"))
	body(t, l)
}

// grpSpecs makes one spec per address, all on one clock.
func grpSpecs(addrs []netip.Addr, interval, timeout time.Duration) []probes.Spec {
	clock := probes.NewClock()
	specs := make([]probes.Spec, len(addrs))
	for i, a := range addrs {
		specs[i] = probes.Spec{Name: "ping", Target: "vm" + strconv.Itoa(i), Address: a.String(),
			Interval: interval, Timeout: timeout, Clock: clock}
	}
	return specs
}

// grpStart starts a group in the background (see start), collecting its
// samples.
func grpStart(t *testing.T, specs []probes.Spec, cfg probes.ICMPConfig) *running {
	t.Helper()
	g, err := probes.NewICMPGroup(specs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(g)
	return start(g)
}

// grpOutEchos reads the echo requests this namespace's kernel has sent.
func grpOutEchos(t *testing.T, v6 bool) uint64 {
	t.Helper()
	file, prefix, field := "/proc/net/snmp", "Icmp:", "OutEchos"
	if v6 {
		file, prefix, field = "/proc/net/snmp6", "", "Icmp6OutEchos"
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if v6 {
			if len(fs) == 2 && fs[0] == field {
				n, _ := strconv.ParseUint(fs[1], 10, 64)
				return n
			}
			continue
		}
		if len(fs) == 0 || fs[0] != prefix {
			continue
		}
		if names == nil {
			names = fs
			continue
		}
		for i, name := range names {
			if name == field && i < len(fs) {
				n, _ := strconv.ParseUint(fs[i], 10, 64)
				return n
			}
		}
	}
	t.Fatalf("%s: no %s", file, field)
	return 0
}

// grpByAddr checks that every address has Seqs 0..n-1 exactly once, with
// the right labels, on its own fixed grid, the targets spread evenly over
// the interval, and returns the samples per address in Seq order.
func grpByAddr(t *testing.T, specs []probes.Spec, ss []probes.Sample) map[string][]probes.Sample {
	t.Helper()
	by := make(map[string][]probes.Sample, len(specs))
	for _, s := range ss {
		by[s.Address] = append(by[s.Address], s)
	}
	var first0 time.Duration
	for i, sp := range specs {
		got := by[sp.Address]
		if len(got) == 0 {
			t.Errorf("%s: no samples", sp.Address)
			continue
		}
		seqs := make([]probes.Sample, len(got))
		for _, s := range got {
			if s.Seq >= uint64(len(got)) || seqs[s.Seq].Address != "" {
				t.Errorf("%s: Seq %d out of range or emitted twice (%d samples)", sp.Address, s.Seq, len(got))
				continue
			}
			seqs[s.Seq] = s
		}
		by[sp.Address] = seqs
		for k, s := range seqs {
			if s.Probe != sp.Name || s.Target != sp.Target {
				t.Errorf("%s Seq %d: labels %q %q", sp.Address, k, s.Probe, s.Target)
			}
			if d := s.Scheduled - seqs[0].Scheduled; d != time.Duration(k)*sp.Interval {
				t.Errorf("%s Seq %d: scheduled %v after Seq 0, want %v", sp.Address, k, d, time.Duration(k)*sp.Interval)
			}
			if s.Sent < s.Scheduled {
				t.Errorf("%s Seq %d: sent %v before scheduled %v", sp.Address, k, s.Sent, s.Scheduled)
			}
			if s.Lost && s.Err == "" {
				t.Errorf("%s Seq %d: lost without a reason", sp.Address, k)
			}
		}
		if i == 0 {
			first0 = seqs[0].Scheduled
		}
		n := time.Duration(len(specs))
		iv, k := sp.Interval, time.Duration(i)
		if want := iv/n*k + iv%n*k/n; seqs[0].Scheduled-first0 != want {
			t.Errorf("%s: first attempt due %v after the first target's, want %v", sp.Address, seqs[0].Scheduled-first0, want)
		}
	}
	return by
}

// grpOutage pings n addresses, blocks those at the blocked indexes for
// outage, and checks that exactly those show one gap bounding the truth.
func grpOutage(t *testing.T, v6 bool, n int, blocked []int, outage time.Duration) {
	const (
		interval = 100 * time.Millisecond
		timeout  = 300 * time.Millisecond
		warm     = time.Second
		settle   = time.Second
		slack    = 2 * time.Millisecond // round trip and the kernel's ack of the rule
	)
	grpInClient(t, v6, n, nil, func(t *testing.T, l grpLab) {
		specs := grpSpecs(l.addrs, interval, timeout)
		isBlocked := make(map[string]bool)
		var victims []netip.Addr
		for _, i := range blocked {
			victims = append(victims, l.addrs[i])
			isBlocked[l.addrs[i].String()] = true
		}
		before := grpOutEchos(t, v6)
		r := grpStart(t, specs, probes.ICMPConfig{})
		time.Sleep(warm)
		start, end, err := netns.Outage(l.serverNS, outage, victims...)
		if err != nil {
			t.Fatalf("outage: %v", err)
		}
		truth := end.Sub(start)
		time.Sleep(settle)
		ss := r.stop(t)
		sent := grpOutEchos(t, v6) - before
		if uint64(len(ss)) != sent {
			t.Errorf("kernel sent %d echo requests, group emitted %d samples", sent, len(ss))
		}
		by := grpByAddr(t, specs, ss)
		var lost, gapped int
		for _, sp := range specs {
			pm := reports.ProbeMeta{Name: sp.Name, Kind: "icmp", Target: sp.Target, Address: sp.Address, Interval: interval, Timeout: timeout}
			gaps := reports.FindGaps(pm, by[sp.Address])
			for _, s := range by[sp.Address] {
				if s.Lost {
					lost++
				}
			}
			if !isBlocked[sp.Address] {
				if len(gaps) > 0 {
					t.Errorf("%s: phantom gaps %+v", sp.Address, gaps)
				}
				continue
			}
			if len(gaps) != 1 {
				t.Errorf("%s: %d gaps, want 1: %+v", sp.Address, len(gaps), gaps)
				continue
			}
			gapped++
			g := gaps[0]
			if g.Open || truth < g.Duration()-g.Bound-slack || truth > g.Duration()+slack {
				t.Errorf("%s: outage %v outside gap %v − bound %v (open %v)", sp.Address, truth, g.Duration(), g.Bound, g.Open)
			}
		}
		t.Logf("%d targets, %d samples (kernel: %d requests), %d lost; outage %v on %d targets, all %d gapped",
			len(specs), len(ss), sent, lost, truth, len(victims), gapped)
	})
}

// TestICMPGroupOutage200 pings 200 IPv4 addresses at 100 ms from one group
// and cuts 10 of them off for a second.
func TestICMPGroupOutage200(t *testing.T) {
	blocked := make([]int, 10)
	for i := range blocked {
		blocked[i] = 7 + 19*i
	}
	grpOutage(t, false, 200, blocked, time.Second)
}

// TestICMPGroupIPv6 does the same over IPv6 with 50 addresses.
func TestICMPGroupIPv6(t *testing.T) {
	grpOutage(t, true, 50, []int{0, 17, 49}, 500*time.Millisecond)
}

// grpAllowPing lets every group use unprivileged ICMP sockets in the
// current (test-owned) namespace.
func grpAllowPing(t *testing.T) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestICMPGroupMixedFamilies pings IPv4 and IPv6 addresses from one group,
// over raw sockets and over unprivileged datagram sockets.
func TestICMPGroupMixedFamilies(t *testing.T) {
	for _, priv := range []bool{true, false} {
		t.Run(fmt.Sprintf("privileged=%v", priv), func(t *testing.T) {
			grpInClient(t, false, 20, nil, func(t *testing.T, l grpLab) {
				if !priv {
					grpAllowPing(t)
				}
				addrs := append(l.addrs, l.server4, l.server6)
				specs := grpSpecs(addrs, 20*time.Millisecond, 200*time.Millisecond)
				before := grpOutEchos(t, false) + grpOutEchos(t, true)
				r := grpStart(t, specs, probes.ICMPConfig{Privileged: &priv})
				time.Sleep(time.Second)
				ss := r.stop(t)
				if sent := grpOutEchos(t, false) + grpOutEchos(t, true) - before; sent != uint64(len(ss)) {
					t.Errorf("kernel sent %d echo requests, group emitted %d samples", sent, len(ss))
				}
				by := grpByAddr(t, specs, ss)
				for a, s := range by {
					for _, x := range s {
						if x.Lost {
							t.Errorf("%s Seq %d lost: %s", a, x.Seq, x.Err)
						}
					}
				}
				t.Logf("%d samples from %d targets", len(ss), len(specs))
			})
		})
	}
}

// TestICMPGroupStopResolvesInFlight stops a group while its requests go
// unanswered: Run must wait for each one's timeout, emit it lost, and send
// nothing more.
func TestICMPGroupStopResolvesInFlight(t *testing.T) {
	const timeout = 300 * time.Millisecond
	grpInClient(t, false, 20, nil, func(t *testing.T, l grpLab) {
		specs := grpSpecs(l.addrs, 50*time.Millisecond, timeout)
		b, err := netns.NewBlocker(l.serverNS, l.addrs[:10]...)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		before := grpOutEchos(t, false)
		r := grpStart(t, specs, probes.ICMPConfig{})
		time.Sleep(300 * time.Millisecond)
		if _, err := b.Block(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		ss := r.stop(t)
		returned := specs[0].Clock.Now()
		if sent := grpOutEchos(t, false) - before; sent != uint64(len(ss)) {
			t.Errorf("kernel sent %d echo requests, group emitted %d samples", sent, len(ss))
		}
		by := grpByAddr(t, specs, ss)
		var lastLost time.Duration
		for _, a := range l.addrs[:10] {
			s := by[a.String()]
			last := s[len(s)-1]
			if !last.Lost || last.Err != "timeout" {
				t.Errorf("%s: last attempt %+v, want lost to a timeout", a, last)
			}
			lastLost = max(lastLost, last.Sent)
		}
		if returned < lastLost+timeout {
			t.Errorf("Run returned at %v, before the last request's timeout at %v", returned, lastLost+timeout)
		}
		for _, a := range l.addrs[10:] {
			for _, x := range by[a.String()] {
				if x.Lost {
					t.Errorf("%s Seq %d lost: %s", a, x.Seq, x.Err)
				}
			}
		}
	})
}

// TestICMPGroupSendErrors removes the route to the targets for a while:
// each attempt that cannot be sent is lost with the error's text, and the
// group keeps going once the route is back.
func TestICMPGroupSendErrors(t *testing.T) {
	grpInClient(t, false, 5, nil, func(t *testing.T, l grpLab) {
		specs := grpSpecs(l.addrs, 20*time.Millisecond, 200*time.Millisecond)
		route := func(verb string) {
			if out, err := exec.Command("ip", "route", verb, grpNet4, "via", l.server4.String()).CombinedOutput(); err != nil {
				t.Fatalf("ip route %s: %v\n%s", verb, err, out)
			}
		}
		r := grpStart(t, specs, probes.ICMPConfig{})
		time.Sleep(300 * time.Millisecond)
		route("del")
		time.Sleep(300 * time.Millisecond)
		route("add")
		time.Sleep(300 * time.Millisecond)
		ss := r.stop(t)
		for a, s := range grpByAddr(t, specs, ss) {
			var failed int
			for _, x := range s {
				switch {
				case x.Err == "send: network is unreachable":
					failed++
				case x.Lost:
					t.Errorf("%s Seq %d lost: %q", a, x.Seq, x.Err)
				}
			}
			if failed == 0 || s[len(s)-1].Lost {
				t.Errorf("%s: %d send errors, last attempt lost %v; want some, then answers", a, failed, s[len(s)-1].Lost)
			}
		}
	})
}
