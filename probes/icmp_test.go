package probes_test

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
)

// icmpSpec is the spec of a test probe.
func icmpSpec(addr string, interval, timeout time.Duration) probes.Spec {
	return probes.Spec{
		Name: "ping", Target: "host", Address: addr,
		Interval: interval, Timeout: timeout, Clock: probes.NewClock(),
	}
}

// newICMP makes a probe, skipping the test when this machine allows no
// ICMP socket (not root, and ping_group_range excludes us).
func newICMP(t *testing.T, spec probes.Spec, cfg probes.ICMPConfig) *probes.ICMP {
	t.Helper()
	p, err := probes.NewICMP(spec, cfg)
	if err != nil && strings.Contains(err.Error(), "ping_group_range=") {
		t.Skipf("needs an ICMP socket: %v", err)
	}
	if err != nil {
		t.Fatalf("NewICMP: %v", err)
	}
	t.Logf("probe: %v", p)
	return p
}

// running is a probe running in the background, its samples collected.
type running struct {
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	got    []probes.Sample
}

func start(p probes.Probe) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- p.Run(ctx, func(s probes.Sample) {
			r.mu.Lock()
			r.got = append(r.got, s)
			r.mu.Unlock()
		})
	}()
	return r
}

// stop cancels the run, waits for Run to return and gives the samples in
// Seq order.
func (r *running) stop(t *testing.T) []probes.Sample {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.got)
	slices.SortFunc(out, func(a, b probes.Sample) int { return int(a.Seq) - int(b.Seq) })
	return out
}

// checkSamples asserts what holds for every run: each Seq from 0 emitted
// exactly once, labelled from the spec, never sent before it was due, due
// times in order, answers within the timeout.
func checkSamples(t *testing.T, spec probes.Spec, ss []probes.Sample) {
	t.Helper()
	if len(ss) == 0 {
		t.Fatal("no samples")
	}
	for i, s := range ss {
		if s.Seq != uint64(i) {
			t.Fatalf("sample %d has Seq %d: Seqs must run 0.. with each once", i, s.Seq)
		}
		if s.Probe != spec.Name || s.Target != spec.Target || s.Address != spec.Address {
			t.Fatalf("sample %d labelled %q/%q/%q", i, s.Probe, s.Target, s.Address)
		}
		if s.Sent < s.Scheduled {
			t.Errorf("Seq %d sent %v before it was due %v", s.Seq, s.Sent, s.Scheduled)
		}
		if i > 0 && s.Scheduled < ss[i-1].Scheduled {
			t.Errorf("Seq %d due %v before Seq %d (%v)", s.Seq, s.Scheduled, i-1, ss[i-1].Scheduled)
		}
		if !s.Lost && (s.RTT <= 0 || s.RTT > spec.Timeout) {
			t.Errorf("Seq %d answered with RTT %v", s.Seq, s.RTT)
		}
		if s.Lost && s.Err == "" {
			t.Errorf("Seq %d lost without a reason", s.Seq)
		}
	}
}

// summary is the figures of a run worth logging.
func summary(ss []probes.Sample) (lost int, maxRTT, maxLate time.Duration) {
	for _, s := range ss {
		if s.Lost {
			lost++
		} else {
			maxRTT = max(maxRTT, s.RTT)
		}
		maxLate = max(maxLate, s.Sent-s.Scheduled)
	}
	return lost, maxRTT, maxLate
}

func TestICMPLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			spec := icmpSpec(addr, 10*time.Millisecond, time.Second)
			p := newICMP(t, spec, probes.ICMPConfig{})
			r := start(p)
			time.Sleep(300 * time.Millisecond)
			ss := r.stop(t)
			checkSamples(t, spec, ss)
			lost, maxRTT, maxLate := summary(ss)
			t.Logf("%d attempts, %d lost, max RTT %v, max lateness %v", len(ss), lost, maxRTT, maxLate)
			if lost > 0 {
				t.Errorf("%d attempts to loopback lost", lost)
			}
			if len(ss) < 2 {
				t.Errorf("only %d attempts in 30 intervals", len(ss))
			}
		})
	}
}

func TestICMPResolvesOnce(t *testing.T) {
	p := newICMP(t, icmpSpec("localhost", 10*time.Millisecond, time.Second), probes.ICMPConfig{})
	if !p.IP().IsLoopback() {
		t.Errorf("localhost resolved to %v", p.IP())
	}
	if s := p.String(); !strings.Contains(s, "resolved from localhost") || !strings.Contains(s, "socket") {
		t.Errorf("String() = %q: should name the address used and the socket kind", s)
	}
}

func TestNewICMPRejects(t *testing.T) {
	ok := icmpSpec("127.0.0.1", 10*time.Millisecond, time.Second)
	for name, c := range map[string]struct {
		spec probes.Spec
		cfg  probes.ICMPConfig
	}{
		"zero interval":   {with(ok, func(s *probes.Spec) { s.Interval = 0 }), probes.ICMPConfig{}},
		"zero timeout":    {with(ok, func(s *probes.Spec) { s.Timeout = 0 }), probes.ICMPConfig{}},
		"seq wraps":       {with(ok, func(s *probes.Spec) { s.Timeout = 1 << 16 * s.Interval }), probes.ICMPConfig{}},
		"no clock":        {with(ok, func(s *probes.Spec) { s.Clock = probes.Clock{} }), probes.ICMPConfig{}},
		"empty address":   {with(ok, func(s *probes.Spec) { s.Address = "" }), probes.ICMPConfig{}},
		"tiny payload":    {ok, probes.ICMPConfig{Size: 8}},
		"huge payload":    {ok, probes.ICMPConfig{Size: 70000}},
		"unresolvable":    {with(ok, func(s *probes.Spec) { s.Address = "no-such-host.invalid" }), probes.ICMPConfig{}},
		"negative sizing": {ok, probes.ICMPConfig{Size: -1}},
	} {
		if _, err := probes.NewICMP(c.spec, c.cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func with(s probes.Spec, f func(*probes.Spec)) probes.Spec {
	f(&s)
	return s
}

// outEchos reads the kernel's count of echo requests sent from this
// process's network namespace (/proc/net is per namespace).
func outEchos(t *testing.T, v6 bool) uint64 {
	t.Helper()
	file, key := "/proc/net/snmp", "OutEchos"
	if v6 {
		file, key = "/proc/net/snmp6", "Icmp6OutEchos"
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case v6 && len(fields) == 2 && fields[0] == key:
			n, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		case !v6 && len(fields) > 0 && fields[0] == "Icmp:" && header == nil:
			header = fields
		case !v6 && len(fields) == len(header) && fields[0] == "Icmp:":
			i := slices.Index(header, key)
			n, err := strconv.ParseUint(fields[i], 10, 64)
			if i < 0 || err != nil {
				t.Fatalf("%s: no %s", file, key)
			}
			return n
		}
	}
	t.Fatalf("%s: no %s", file, key)
	return 0
}
