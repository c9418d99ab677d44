package probes_test

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// These tests probe from the client namespace of a netns Pair: the parent
// creates the Pair (and owns its cleanup) and re-runs the test inside the
// client namespace, where the whole child process, and so the probe's
// sockets, live. Faults are injected from the child, whose monotonic clock
// then times both the fault and the samples.

// lab is the Pair as a child sees it.
type lab struct {
	serverNS, clientIf, serverIf       string
	client4, server4, client6, server6 netip.Addr
}

// inClient runs body inside the client namespace of a fresh Pair. setup,
// if set, runs in the parent first (e.g. to start something in the server
// namespace); its cleanups run after the child is done.
func inClient(t *testing.T, setup func(t *testing.T, p *netns.Pair), body func(t *testing.T, l lab)) {
	t.Helper()
	if !netns.InChild() {
		p := netns.PairForTest(t)
		if setup != nil {
			setup(t, p)
		}
		netns.RunTestIn(t, p.Client, map[string]string{
			"SERVER_NS": p.Server.Name, "CLIENT_IF": p.ClientIf, "SERVER_IF": p.ServerIf,
			"CLIENT4": p.Client4.String(), "SERVER4": p.Server4.String(),
			"CLIENT6": p.Client6.String(), "SERVER6": p.Server6.String(),
		})
		return
	}
	l := lab{serverNS: netns.ChildEnv("SERVER_NS"), clientIf: netns.ChildEnv("CLIENT_IF"), serverIf: netns.ChildEnv("SERVER_IF")}
	for key, a := range map[string]*netip.Addr{"CLIENT4": &l.client4, "SERVER4": &l.server4, "CLIENT6": &l.client6, "SERVER6": &l.server6} {
		var err error
		if *a, err = netip.ParseAddr(netns.ChildEnv(key)); err != nil {
			t.Fatalf("child env %s: %v", key, err)
		}
	}
	body(t, l)
}

// Timing of the netns tests.
const (
	nsInterval = 10 * time.Millisecond
	nsTimeout  = 200 * time.Millisecond
	warmUp     = 200 * time.Millisecond // before a fault
	settle     = 250 * time.Millisecond // after it
)

// slack is what a measured gap may exceed truth + Bound by. Both ends of a
// gap sit on the send grid: the last good send is up to one interval
// before the fault began and the first good one up to one interval after
// it ended, so the gap overstates the outage by up to two intervals (plus
// lateness) while Bound holds one interval (plus lateness). The other
// interval is slack, with 2 ms for the round trip and the kernel's ack of
// the fault.
const slack = nsInterval + 2*time.Millisecond

func TestICMPNetnsSteady(t *testing.T) {
	inClient(t, nil, func(t *testing.T, l lab) {
		spec := icmpSpec(l.server4.String(), nsInterval, nsTimeout)
		p := newICMP(t, spec, probes.ICMPConfig{})
		before := outEchos(t, false)
		r := start(p)
		time.Sleep(time.Second)
		ss := r.stop(t)
		sent := outEchos(t, false) - before
		checkSamples(t, spec, ss)
		lost, maxRTT, maxLate := summary(ss)
		t.Logf("%d attempts, %d echo requests sent by the kernel's count, %d lost, max RTT %v, max lateness %v",
			len(ss), sent, lost, maxRTT, maxLate)
		if lost > 0 {
			t.Errorf("%d attempts lost with no outage", lost)
		}
		// A request the ticker sends after the stop is not part of the run.
		if n := uint64(len(ss)); sent < n || sent > n+1 {
			t.Errorf("kernel sent %d echo requests, probe emitted %d samples", sent, n)
		}
	})
}

// fault injects one outage from inside the client namespace and returns
// its true length, timed by the kernel's acks.
type fault func(t *testing.T, l lab) time.Duration

func block(d time.Duration, v6 bool) fault {
	return func(t *testing.T, l lab) time.Duration {
		addr := l.client4
		if v6 {
			addr = l.client6
		}
		start, end, err := netns.Outage(l.serverNS, d, addr)
		if err != nil {
			t.Fatalf("outage: %v", err)
		}
		return end.Sub(start)
	}
}

// linkDown takes the server's end of the veth down for d. The client's
// neighbour entry for the server is pinned first: losing carrier flushes
// it, and re-resolving it after the fault would wait for ARP's 1 s retry,
// which is the neighbour table's delay, not the link's.
func linkDown(d time.Duration) fault {
	return func(t *testing.T, l lab) time.Duration {
		pinNeighbour(t, l)
		down, err := netns.LinkSet(l.serverNS, l.serverIf, false)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(d)
		up, err := netns.LinkSet(l.serverNS, l.serverIf, true)
		if err != nil {
			t.Fatal(err)
		}
		return up.Sub(down)
	}
}

func pinNeighbour(t *testing.T, l lab) {
	t.Helper()
	link, err := netlink.LinkByName(l.clientIf)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netlink.NeighList(link.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.IP.Equal(l.server4.AsSlice()) && n.HardwareAddr != nil {
			n.State = netlink.NUD_PERMANENT
			if err := netlink.NeighSet(&n); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no neighbour entry for %v after the warm-up", l.server4)
}

// clientAddr is the client's IPv4 address on its veth, as netlink wants it.
func clientAddr(t *testing.T, l lab) (netlink.Link, *netlink.Addr) {
	t.Helper()
	link, err := netlink.LinkByName(l.clientIf)
	if err != nil {
		t.Fatal(err)
	}
	return link, &netlink.Addr{IPNet: &net.IPNet{IP: l.client4.AsSlice(), Mask: net.CIDRMask(24, 32)}}
}

// noRoute removes the client's address, and with it its route to the
// server, for d: sends fail at once with "network is unreachable".
func noRoute(d time.Duration) fault {
	return func(t *testing.T, l lab) time.Duration {
		link, addr := clientAddr(t, l)
		if err := netlink.AddrDel(link, addr); err != nil {
			t.Fatal(err)
		}
		del := time.Now()
		time.Sleep(d)
		if err := netlink.AddrAdd(link, addr); err != nil {
			t.Fatal(err)
		}
		return time.Since(del)
	}
}

func TestICMPNetnsOutage(t *testing.T) {
	for _, c := range []struct {
		name    string
		v6      bool
		fault   fault
		wantErr string // Err of at least one lost attempt
	}{
		{"block-50ms", false, block(50*time.Millisecond, false), "timeout"},
		{"block-200ms", false, block(200*time.Millisecond, false), "timeout"},
		{"block-1s", false, block(time.Second, false), "timeout"},
		{"ipv6-block-200ms", true, block(200*time.Millisecond, true), "timeout"},
		{"link-down-200ms", false, linkDown(200 * time.Millisecond), "timeout"},
		{"send-error-200ms", false, noRoute(200 * time.Millisecond), "send: network is unreachable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inClient(t, nil, func(t *testing.T, l lab) {
				addr := l.server4
				if c.v6 {
					addr = l.server6
				}
				spec := icmpSpec(addr.String(), nsInterval, nsTimeout)
				p := newICMP(t, spec, probes.ICMPConfig{})
				r := start(p)
				time.Sleep(warmUp)
				truth := c.fault(t, l)
				time.Sleep(settle)
				ss := r.stop(t)
				checkSamples(t, spec, ss)
				checkGap(t, spec, ss, truth, c.wantErr)
			})
		})
	}
}

// checkGap asserts that the run has exactly one gap, closed, measured
// within [truth − 2 ms, truth + Bound + slack], with lost attempts saying
// why.
func checkGap(t *testing.T, spec probes.Spec, ss []probes.Sample, truth time.Duration, wantErr string) {
	t.Helper()
	meta := reports.ProbeMeta{Name: spec.Name, Kind: "icmp", Target: spec.Target, Address: spec.Address,
		Interval: spec.Interval, Timeout: spec.Timeout}
	gaps := reports.FindGaps(meta, ss)
	if len(gaps) != 1 || gaps[0].Open {
		t.Fatalf("want one closed gap, got %+v", gaps)
	}
	g := gaps[0]
	measured := g.Duration()
	t.Logf("truth %v, measured %v (bound ±%v), error %+v, %d lost of %d",
		truth.Round(time.Microsecond), measured.Round(time.Microsecond), g.Bound.Round(time.Microsecond),
		(measured - truth).Round(time.Microsecond), g.Lost, len(ss))
	if lo, hi := truth-2*time.Millisecond, truth+g.Bound+slack; measured < lo || measured > hi {
		t.Errorf("measured gap %v outside [%v, %v]", measured, lo, hi)
	}
	found := false
	for _, s := range ss[g.FirstSeq : g.LastSeq+1] {
		found = found || s.Err == wantErr
	}
	if !found {
		t.Errorf("no lost attempt in the gap says %q: %+v", wantErr, ss[g.FirstSeq])
	}
}

// TestICMPNetnsStartsWithoutRoute: the very first send fails, so pro-bing
// gives up at once; the probe must keep its schedule, count each due
// attempt as lost, and answer once the route is back.
func TestICMPNetnsStartsWithoutRoute(t *testing.T) {
	inClient(t, nil, func(t *testing.T, l lab) {
		link, addr := clientAddr(t, l)
		if err := netlink.AddrDel(link, addr); err != nil {
			t.Fatal(err)
		}
		spec := icmpSpec(l.server4.String(), nsInterval, nsTimeout)
		p := newICMP(t, spec, probes.ICMPConfig{})
		r := start(p)
		time.Sleep(200 * time.Millisecond)
		if err := netlink.AddrAdd(link, addr); err != nil {
			t.Fatal(err)
		}
		time.Sleep(settle)
		ss := r.stop(t)
		checkSamples(t, spec, ss)
		gaps := reports.FindGaps(reports.ProbeMeta{Interval: nsInterval, Timeout: nsTimeout}, ss)
		if len(gaps) != 1 || !gaps[0].Open || gaps[0].FirstSeq != 0 {
			t.Fatalf("want one gap open at the start, got %+v", gaps)
		}
		g := gaps[0]
		t.Logf("%d attempts lost before the route came back (%v), %d attempts in all", g.Lost, g.Duration(), len(ss))
		if g.Lost < 2 {
			t.Errorf("only %d attempts lost over 200 ms at a %v interval: the schedule stopped", g.Lost, nsInterval)
		}
		for _, s := range ss[:g.Lost] {
			if s.Err != "send: network is unreachable" {
				t.Errorf("Seq %d lost with %q", s.Seq, s.Err)
			}
		}
		// The restarted pingers keep the grid: due times one interval apart.
		for i := 1; i < g.Lost; i++ {
			if d := ss[i].Scheduled - ss[i-1].Scheduled; d < nsInterval || d%nsInterval != 0 {
				t.Errorf("Seq %d due %v after Seq %d", i, d, i-1)
			}
		}
	})
}

// TestICMPNetnsStopResolvesInFlight: attempts in flight when the run is
// cancelled are resolved (here: timed out) before Run returns, and none
// is emitted twice or dropped.
func TestICMPNetnsStopResolvesInFlight(t *testing.T) {
	inClient(t, nil, func(t *testing.T, l lab) {
		b, err := netns.NewBlocker(l.serverNS, l.client4)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, err := b.Block(); err != nil {
			t.Fatal(err)
		}
		spec := icmpSpec(l.server4.String(), nsInterval, nsTimeout)
		p := newICMP(t, spec, probes.ICMPConfig{})
		before := outEchos(t, false)
		r := start(p)
		time.Sleep(150 * time.Millisecond)
		cancelled := spec.Clock.Now()
		ss := r.stop(t)
		returned := spec.Clock.Now()
		sent := outEchos(t, false) - before
		checkSamples(t, spec, ss)
		last := ss[len(ss)-1]
		t.Logf("%d attempts, kernel sent %d; cancelled at %v, last attempt sent %v, Run returned %v",
			len(ss), sent, cancelled, last.Sent, returned)
		for _, s := range ss {
			if !s.Lost || s.Err != "timeout" {
				t.Errorf("Seq %d: lost=%v err=%q during a full block", s.Seq, s.Lost, s.Err)
			}
		}
		if returned < last.Sent+spec.Timeout {
			t.Errorf("Run returned at %v, before the last attempt's timeout at %v", returned, last.Sent+spec.Timeout)
		}
		if n := uint64(len(ss)); sent < n || sent > n+1 {
			t.Errorf("kernel sent %d echo requests, probe emitted %d samples", sent, n)
		}
	})
}

// TestICMPNetnsUnprivileged: with neither socket kind allowed, NewICMP
// says how to allow one (a fresh namespace's ping_group_range admits no
// group); once allowed, an unprivileged IPv6 probe works.
func TestICMPNetnsUnprivileged(t *testing.T) {
	inClient(t, nil, func(t *testing.T, l lab) {
		unprivileged := false
		spec := icmpSpec(l.server6.String(), nsInterval, nsTimeout)
		_, err := probes.NewICMP(spec, probes.ICMPConfig{Privileged: &unprivileged})
		if err == nil {
			t.Fatal("unprivileged socket opened with ping_group_range excluding us")
		}
		t.Logf("error: %v", err)
		for _, want := range []string{"run as root", "sysctl -w net.ipv4.ping_group_range='0 2147483647'"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q", want)
			}
		}

		allowUnprivilegedPing(t)
		p := newICMP(t, spec, probes.ICMPConfig{Privileged: &unprivileged})
		r := start(p)
		time.Sleep(warmUp)
		ss := r.stop(t)
		checkSamples(t, spec, ss)
		if lost, _, _ := summary(ss); lost > 0 {
			t.Errorf("%d of %d attempts lost", lost, len(ss))
		}
	})
}

// allowUnprivilegedPing admits every group to ICMP datagram sockets in
// this (the client) namespace only: the setting is per namespace.
func allowUnprivilegedPing(t *testing.T) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0); err != nil {
		t.Fatal(err)
	}
}
