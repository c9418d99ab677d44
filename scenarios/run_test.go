package scenarios_test

import (
	"context"

	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// The injector is this test binary itself, run by an exec trigger: it
// drops the server's traffic over netlink for a known time and prints the
// ground truth, so the outage's length is known to the microsecond.
const injectEnv = "DT_TEST_INJECT" // "ns|addr[,addr...]|duration"

func TestInjector(t *testing.T) {
	spec := os.Getenv(injectEnv)
	if spec == "" {
		t.Skip("helper process for the runner tests, run by their exec triggers")
	}
	f := strings.Split(spec, "|")
	d, err := time.ParseDuration(f[2])
	if err != nil {
		t.Fatal(err)
	}
	var addrs []netip.Addr
	for _, a := range strings.Split(f[1], ",") {
		addrs = append(addrs, netip.MustParseAddr(a))
	}
	start, end, err := netns.Outage(f[0], d, addrs...)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("truth_us=%d\n", end.Sub(start).Microseconds())
}

// inChild runs the calling test inside the client namespace of a fresh
// pair, and returns the pair's facts in the child (ok false in the parent).
func inChild(t *testing.T) (serverNS, server4 string, ok bool) {
	t.Helper()
	if !netns.InChild() {
		p := netns.PairForTest(t)
		netns.RunTestIn(t, p.Client, map[string]string{"SERVER_NS": p.Server.Name, "SERVER4": p.Server4.String()})
		return "", "", false
	}
	return netns.ChildEnv("SERVER_NS"), netns.ChildEnv("SERVER4"), true
}

func load(t *testing.T, yaml string) *scenarios.Scenario {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, yaml)
	}
	return sc
}

// pingRun is a scenario that pings one address, the target "server".
type pingRun struct {
	name, addr                  string
	interval, timeout, baseline string
	settle                      string // "" for the default
}

// load loads the scenario with steps, the items of its triggers list.
func (p pingRun) load(t *testing.T, steps string) *scenarios.Scenario {
	t.Helper()
	settle := ""
	if p.settle != "" {
		settle = "settle: " + p.settle + "\n"
	}
	return load(t, fmt.Sprintf(`name: %s
targets:
  server: {address: %s}
probes:
  - {name: ping, kind: icmp, target: server, interval: %s, timeout: %s}
baseline: %s
%striggers:
%s`, p.name, p.addr, p.interval, p.timeout, p.baseline, settle, steps))
}

var truthRE = regexp.MustCompile(`truth_us=(\d+)`)

func truthOf(t *testing.T, dir string, ev triggers.Event) time.Duration {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ev.Output))
	if err != nil {
		t.Fatal(err)
	}
	m := truthRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("trigger %s printed no truth:\n%s", ev.Name, b)
	}
	us, _ := strconv.Atoi(string(m[1]))
	return time.Duration(us) * time.Microsecond
}

// One run, three outages of known length at a 10 ms interval: each is
// measured within its stated bound, and nothing else shows as a gap.
func TestRunMeasuresInjectedOutages(t *testing.T) {
	ns, server, ok := inChild(t)
	if !ok {
		return
	}
	outages := []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, time.Second}
	var steps strings.Builder
	for i := range outages {
		steps.WriteString(fmt.Sprintf("  - {name: cut%d, kind: exec, at: %s, timeout: 30s, argv: [%s, -test.run=^TestInjector$, -test.count=1]}\n",
			i+1, time.Duration(i)*1500*time.Millisecond, os.Args[0]))
	}
	sc := pingRun{name: "outages", addr: server, interval: "10ms", timeout: "500ms", baseline: "1s", settle: "1s"}.load(t, steps.String())
	dir := filepath.Join(t.TempDir(), "run")
	// The exec triggers inherit this: which namespace and address to cut.
	// Each trigger has its own length, so run them one by one below.
	var res scenarios.Result
	for i := range sc.Triggers {
		sc.Triggers[i].Argv = append([]string{"env", fmt.Sprintf("%s=%s|%s|%s", injectEnv, ns, server, outages[i])}, sc.Triggers[i].Argv...)
	}
	res = scenarios.Run(context.Background(), sc, scenarios.Options{Dir: dir})
	if res.Err != nil {
		t.Fatalf("run: %v", res.Err)
	}
	if res.Run.Partial {
		t.Fatalf("partial run: %s", res.Run.Reason)
	}
	if len(res.Run.Probes) != 1 {
		t.Fatalf("probes: %d", len(res.Run.Probes))
	}
	p := res.Run.Probes[0]
	if len(p.Gaps) != len(outages) {
		t.Fatalf("want %d gaps, got %d: %+v", len(outages), len(p.Gaps), p.Gaps)
	}
	for i, g := range p.Gaps {
		ev := res.Run.Events[i]
		if ev.Status != triggers.StatusOK {
			t.Fatalf("event %s: %s %s", ev.Name, ev.Status, ev.Error)
		}
		truth := truthOf(t, dir, ev)
		got := g.Duration()
		// The gap runs from the last good send before to the first good
		// send after: the outage lies in [measured − bound, measured]. 2 ms
		// of slack covers a packet in flight when a rule went in or out.
		if got < truth-2*time.Millisecond || got > truth+g.Bound+2*time.Millisecond {
			t.Errorf("outage %d: truth %s, measured %s ±%s", i+1, truth, got, g.Bound)
		}
		t.Logf("outage %d: truth %s measured %s bound %s error %s", i+1, truth, got, g.Bound, got-truth)
	}
	if res.Exit != scenarios.ExitPass {
		t.Errorf("exit %d, verdict %+v", res.Exit, res.Run.Verdict)
	}
	for _, f := range []string{reports.SamplesFile, reports.EventsFile, "gaps.csv", "summary.json", "report.md", "timeline.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
}

// A group target: every member is probed (through one socket), an outage
// of some members shows on exactly those, and the group is summed up.
func TestRunGroupTarget(t *testing.T) {
	ns, server, ok := inChild(t)
	if !ok {
		return
	}
	// 20 more addresses on the server, in the pair's /24.
	base := netip.MustParseAddr(server).As4()
	var addrs []string
	for i := range 20 {
		a := base
		a[3] = byte(100 + i)
		addr := netip.AddrFrom4(a).String()
		addrs = append(addrs, addr)
		if out, err := exec.Command("ip", "-n", ns, "addr", "add", addr+"/32", "dev", serverIf(t, ns)).CombinedOutput(); err != nil {
			t.Fatalf("ip addr add: %v: %s", err, out)
		}
	}
	cut := addrs[3:6]
	sc := load(t, fmt.Sprintf(`name: group
targets:
  vms: {range: %s-%s}
probes:
  - {name: ping, kind: icmp, target: vms, interval: 20ms, timeout: 300ms}
baseline: 500ms
settle: 800ms
triggers:
  - {name: cut, kind: exec, timeout: 30s, argv: [env, "%s=%s|%s|300ms", %s, -test.run=^TestInjector$, -test.count=1]}
`, addrs[0], addrs[len(addrs)-1], injectEnv, ns, strings.Join(cut, ","), os.Args[0]))
	dir := filepath.Join(t.TempDir(), "run")
	res := scenarios.Run(context.Background(), sc, scenarios.Options{Dir: dir})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Run.Probes) != len(addrs) {
		t.Fatalf("%d results for %d members", len(res.Run.Probes), len(addrs))
	}
	for _, p := range res.Run.Probes {
		wantGap := slices.Contains(cut, p.Address)
		if got := len(p.Gaps) > 0; got != wantGap {
			t.Errorf("%s: gaps %+v, want a gap: %v", p.Address, p.Gaps, wantGap)
		}
		if wantGap && (p.MaxGap < 300*time.Millisecond || p.MaxGap > 300*time.Millisecond+p.Gaps[0].Bound+2*time.Millisecond) {
			t.Errorf("%s: max gap %s ±%s for a 300 ms outage", p.Address, p.MaxGap, p.Gaps[0].Bound)
		}
	}
	if g := res.Run.Groups; len(g) != 1 || g[0].Members != len(addrs) || g[0].Max < 300*time.Millisecond || g[0].P50 != 0 {
		t.Errorf("groups: %+v", g)
	}
}

// serverIf is the name of the server's veth end in namespace ns.
func serverIf(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-o", "link", "show", "type", "veth").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		t.Fatalf("no veth in %s: %s", ns, out)
	}
	return strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]
}

// Compare finds a real regression between two sets of runs that differ
// only in the injected outage (200 ms against 800 ms, five repeats each),
// and no significant change between two sets with the same outage.
func TestCompareFindsInjectedRegression(t *testing.T) {
	ns, server, ok := inChild(t)
	if !ok {
		return
	}
	root := t.TempDir()
	set := func(name string, outage time.Duration) reports.RunSet {
		dir := filepath.Join(root, name)
		for i := range 5 {
			run := pingRun{name: "compare-" + name, addr: server, interval: "20ms", timeout: "300ms", baseline: "300ms", settle: "300ms"}
			sc := run.load(t, fmt.Sprintf(`
  - {name: cut, kind: exec, timeout: 30s, argv: [env, "%s=%s|%s|%s", %s, -test.run=^TestInjector$, -test.count=1]}
`, injectEnv, ns, server, outage, os.Args[0]))
			res := scenarios.Run(context.Background(), sc, scenarios.Options{Dir: filepath.Join(dir, fmt.Sprintf("r%02d", i+1))})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
		}
		rs, err := reports.LoadRunSet(dir)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	base, again, worse := set("base", 200*time.Millisecond), set("again", 200*time.Millisecond), set("worse", 800*time.Millisecond)
	tol, _ := reports.ParseTolerance("10%")
	if c := reports.Compare(base, worse, tol); !c.Regressed() {
		t.Errorf("200 ms → 800 ms outage not found as a regression: %+v", c.Subjects)
	}
	for _, s := range reports.Compare(base, again, tol).Subjects {
		if s.Change == reports.Regressed || s.Change == reports.Improved {
			t.Errorf("the same outage found as a significant change: %+v", s)
		}
	}
}

// TestMover is a helper process run by an exec trigger: like a Hyper-V
// Replica failover, the guest's address goes away and, after a while,
// comes back as another one. It prints when (CLOCK_MONOTONIC, ns).
func TestMover(t *testing.T) {
	spec := os.Getenv("DT_TEST_MOVE") // ns|dev|old/len|new/len|delay
	if spec == "" {
		t.Skip("helper process for TestRunFollowsFailoverAddress, run by its exec trigger")
	}
	f := strings.Split(spec, "|")
	delay, err := time.ParseDuration(f[4])
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "-n", f[0], "addr", "del", f[2], "dev", f[1]).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	time.Sleep(delay)
	if out, err := exec.Command("ip", "-n", f[0], "addr", "add", f[3], "dev", f[1]).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	added := monoNow()
	// A guest that comes up announces its address (gratuitous ARP), as
	// Hyper-V's network stack does; without it the peer's neighbour entry
	// for the new address waits out ARP's retry timer.
	addr, _, _ := strings.Cut(f[3], "/")
	if out, err := exec.Command("ip", "netns", "exec", f[0], "busybox", "arping", "-U", "-c", "1", "-I", f[1], addr).CombinedOutput(); err != nil {
		t.Fatalf("arping: %v: %s", err, out)
	}
	fmt.Printf("added_mono_ns=%d\n", added)
}

func monoNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// A guest that comes back at its failover address: the probe follows it,
// the gap ends with the first answer from the new address, and the time of
// that answer is measured within one interval of the truth.
func TestRunFollowsFailoverAddress(t *testing.T) {
	ns, server, ok := inChild(t)
	if !ok {
		return
	}
	a := netip.MustParseAddr(server).As4()
	a[3] = 77
	moved := netip.AddrFrom4(a).String()
	dev := serverIf(t, ns)
	const iv = 20 * time.Millisecond
	sc := load(t, fmt.Sprintf(`name: replica
targets:
  guest: {address: %s, failover_address: %s}
probes:
  - {name: ping, kind: icmp, target: guest, interval: 20ms, timeout: 300ms}
baseline: 500ms
settle: 1s
triggers:
  - {name: failover, kind: exec, timeout: 30s, argv: [env, "DT_TEST_MOVE=%s|%s|%s/24|%s/24|400ms", %s, -test.run=^TestMover$, -test.count=1, -test.v]}
thresholds:
  ping: {max_time_to_failover_address: 5s}
`, server, moved, ns, dev, server, moved, os.Args[0]))
	dir := filepath.Join(t.TempDir(), "run")
	start := monoNow()
	res := scenarios.Run(context.Background(), sc, scenarios.Options{Dir: dir})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	out, _ := os.ReadFile(filepath.Join(dir, res.Run.Events[0].Output))
	m := regexp.MustCompile(`added_mono_ns=(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("mover printed no time:\n%s", out)
	}
	added, _ := strconv.ParseInt(string(m[1]), 10, 64)
	truth := time.Duration(added - start) // run time of the new address, give or take the runner's start
	var p *reports.ProbeResult
	for i := range res.Run.Probes {
		if res.Run.Probes[i].FailoverFor == "" {
			p = &res.Run.Probes[i]
		}
	}
	if p == nil || p.FailoverAddress != moved {
		t.Fatalf("no result with the failover address folded in: %+v", res.Run.Probes)
	}
	first := p.FailoverFirstAnswer
	// Nothing answers at the new address before it exists. The first
	// attempt after that answers once the client has resolved the address:
	// at once on the mover's gratuitous ARP as a rule (within an interval
	// and a little), at worst at the kernel's next ARP retry (retrans_time,
	// 1 s; seen once in CI, 380 ms after the address came up).
	const arpRetry = time.Second
	if first < truth-2*time.Millisecond || first > truth+arpRetry+iv+20*time.Millisecond {
		t.Errorf("first answer from %s at %s, address added at %s", moved, first, truth)
	}
	// The guest was unreachable from the primary's last answer until the
	// new address answered: one gap, ending with that answer, as long as
	// the 400 ms the address was away plus the time the client took to
	// resolve the new one (plus the primary's edge).
	if len(p.Gaps) != 1 || p.Gaps[0].Open || p.Gaps[0].End != first {
		t.Fatalf("want one closed gap ending at the first answer %s: %+v", first, p.Gaps)
	}
	away := 400*time.Millisecond + max(0, first-truth)
	if g := p.Gaps[0].Duration(); g < 400*time.Millisecond || g > away+p.Gaps[0].Bound+50*time.Millisecond {
		t.Errorf("gap %s ±%s for a 400 ms move and a first answer %s after the address came up", g, p.Gaps[0].Bound, first-truth)
	}
	if !res.Run.Verdict.Pass {
		t.Errorf("verdict: %v", res.Run.Verdict.Failures)
	}
	t.Logf("address added at %s, first answer %s, gap %s ±%s", truth, first, p.Gaps[0].Duration(), p.Gaps[0].Bound)
}

// Steps run in order of their offsets, each after the one before has
// ended, unless it is marked parallel.
func TestRunTimelineOrderAndParallel(t *testing.T) {
	_, server, ok := inChild(t)
	if !ok {
		return
	}
	sc := pingRun{name: "timeline", addr: server, interval: "50ms", timeout: "300ms", baseline: "200ms", settle: "0s"}.load(t, `
  - {name: late, kind: wait, at: 300ms, duration: 100ms}
  - {name: follows-late, kind: wait, duration: 10ms}
  - {name: slow, kind: exec, at: 0s, argv: [sleep, "0.5"]}
  - {name: after-slow, kind: wait, at: 100ms, duration: 50ms}
  - {name: alongside, kind: wait, at: 100ms, duration: 50ms, parallel: true}
`)
	// In order of at: slow (0), after-slow (100ms), alongside (100ms, parallel),
	// late (300ms), follows-late (no at: late's). after-slow waits for slow
	// to end; alongside does not wait for after-slow; late waits for both;
	// follows-late runs after late, not first at offset 0.
	res := scenarios.Run(context.Background(), sc, scenarios.Options{Dir: filepath.Join(t.TempDir(), "run")})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	ev := map[string]triggers.Event{}
	var order []string
	for _, e := range res.Run.Events {
		ev[e.Name] = e
		order = append(order, e.Name)
	}
	if len(ev) != 5 {
		t.Fatalf("events: %v", order)
	}
	slow, after, along, late := ev["slow"], ev["after-slow"], ev["alongside"], ev["late"]
	if after.Start < slow.End {
		t.Errorf("after-slow started at %s, before slow ended at %s", after.Start, slow.End)
	}
	if along.Start >= after.End {
		t.Errorf("alongside (parallel) started at %s, after after-slow ended at %s", along.Start, after.End)
	}
	if late.Start < max(after.End, along.End) || late.Start < sc.Baseline+300*time.Millisecond {
		t.Errorf("late started at %s: before the steps before it ended, or before its offset", late.Start)
	}
	if f := ev["follows-late"]; f.Start < late.End {
		t.Errorf("follows-late (no at) started at %s, before late ended at %s", f.Start, late.End)
	}
}

// A run cut short in its timeline still runs the always steps it had not
// reached (a link taken down comes back up), at once, and not the others;
// a run that never got past its baseline runs none.
func TestRunAlwaysStepsWhenCutShort(t *testing.T) {
	_, server, ok := inChild(t)
	if !ok {
		return
	}
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	steps := fmt.Sprintf(`
  - {name: long, kind: wait, duration: 1h}
  - {name: plain, kind: exec, argv: [touch, %s]}
  - {name: restore, kind: exec, always: true, argv: [touch, %s]}
  - {name: restore-later, kind: exec, at: 1h, always: true, argv: [touch, %s]}
`, file("plain"), file("restore"), file("restore-later"))

	sc := pingRun{name: "cut", addr: server, interval: "20ms", timeout: "300ms", baseline: "200ms"}.load(t, steps)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := scenarios.Run(ctx, sc, scenarios.Options{Dir: filepath.Join(dir, "run"), Progress: func(p scenarios.Progress) {
		if p.Phase == "triggers" {
			cancel() // Ctrl-C while the wait step runs
		}
	}})
	if res.Run == nil || !res.Run.Partial {
		t.Fatalf("want a partial run, got err %v, run %+v", res.Err, res.Run)
	}
	status := map[string]triggers.Status{}
	for _, ev := range res.Run.Events {
		status[ev.Name] = ev.Status
	}
	for _, name := range []string{"restore", "restore-later"} {
		if status[name] != triggers.StatusOK {
			t.Errorf("always step %s: status %q, want ok (events %v)", name, status[name], status)
		}
		if _, err := os.Stat(file(name)); err != nil {
			t.Errorf("always step %s did not run: %v", name, err)
		}
	}
	if _, ran := status["plain"]; ran {
		t.Errorf("step plain ran after the run was cut: %v", status)
	}

	// A silent target aborts the run in its baseline: no step runs, the
	// always ones neither.
	os.Remove(file("restore"))
	sc = pingRun{name: "silent", addr: "192.0.2.1", interval: "20ms", timeout: "100ms", baseline: "200ms"}.load(t, steps)
	res = scenarios.Run(context.Background(), sc, scenarios.Options{Dir: filepath.Join(dir, "silent")})
	if res.Err == nil {
		t.Fatal("a run against a silent target did not abort")
	}
	if res.Run != nil && len(res.Run.Events) > 0 {
		t.Errorf("steps ran after a failed baseline: %+v", res.Run.Events)
	}
	if _, err := os.Stat(file("restore")); err == nil {
		t.Error("the always step ran after a failed baseline")
	}
}
