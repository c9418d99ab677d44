package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial/sshdtest"
	"github.com/downtime-lab/downtime/scenarios"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// A trigger that fails is recorded with its output, the probes run
// through settle, and the verdict fails naming it (exit 1); one that hangs
// past its timeout is killed, process group and all.
func TestTriggerFailsAndHangs(t *testing.T) {
	p := pair(t)
	tmp := t.TempDir()
	pidf := filepath.Join(tmp, "hung.pid")
	sc := pingScenario(t, p, "failing", "700ms", `
  - {name: broken, kind: exec, argv: [sh, -c, "echo going wrong; exit 7"]}
  - {name: hung, kind: exec, at: 100ms, timeout: 300ms, argv: [sh, -c, 'echo $$ > %s; exec sleep 30']}
`, pidf)
	dir := filepath.Join(tmp, "run")
	c := runCLI(t, nil, "run", "-q", "-o", dir, sc)
	if c.code != scenarios.ExitFail {
		t.Fatalf("exit %d, want %d", c.code, scenarios.ExitFail)
	}
	if pid := pidIn(pidf); pid == 0 || alive(pid) {
		t.Errorf("hung trigger's process %d: alive %t", pid, pid != 0 && alive(pid))
	}
	checkReports(t, dir)
	rd := readRunDir(t, dir)
	ev := rd.events
	if len(ev) != 2 || ev[0].Status != triggers.StatusFailed || ev[0].ExitCode != 7 || ev[1].Status != triggers.StatusTimeout {
		t.Fatalf("events: %+v", ev)
	}
	if out, _ := os.ReadFile(filepath.Join(dir, ev[0].Output)); !strings.Contains(string(out), "going wrong") {
		t.Errorf("trigger output not kept: %q", out)
	}
	if rd.summary.Partial || !strings.Contains(strings.Join(rd.summary.Verdict.Failures, "\n"), "broken") {
		t.Errorf("verdict: %+v (partial %t)", rd.summary.Verdict, rd.summary.Partial)
	}
	// A request sent as the probe stopped is not part of the run.
	if echoes := icmpEchoes(t, p.Server); rd.rows != rd.sentOf("ping") || rd.rows > echoes || rd.rows < echoes-1 {
		t.Errorf("rows %d, summary sent %d, server saw %d", rd.rows, rd.sentOf("ping"), echoes)
	}
	// The probes went on through the 700 ms settle after the hung trigger
	// was killed. Checked on the schedule, not by counting rows, so a slow
	// start of the probe cannot fail it; half the settle leaves room for
	// a loaded machine's late ticks.
	if last, want := rd.last["ping"], ev[1].End+350*time.Millisecond; last < want {
		t.Errorf("last attempt due at %s: the probes did not run through settle (want ≥ %s)", last, want)
	}
}

// A target silent during the baseline: the run stops before any trigger,
// exit 3, and the message names the target and the probe.
func TestBaselineUnreachable(t *testing.T) {
	p := pair(t)
	silent := p.Server4.Next().Next().Next()
	marker := filepath.Join(t.TempDir(), "fired")
	sc := writeScenario(t, `name: silent
netns: %s
targets:
  guest: {address: %s}
  server: {address: %s}
probes:
  - {name: ping, kind: icmp, target: server, interval: 50ms, timeout: 200ms}
  - {name: lost, kind: icmp, target: guest, interval: 50ms, timeout: 200ms}
baseline: 500ms
triggers:
  - {name: never, kind: exec, argv: [touch, %s]}
`, p.Client.Name, silent, p.Server4, marker)
	dir := filepath.Join(t.TempDir(), "run")
	c := runCLI(t, nil, "run", "-q", "-o", dir, sc)
	if c.code != scenarios.ExitNotRun {
		t.Fatalf("exit %d, want %d", c.code, scenarios.ExitNotRun)
	}
	want := fmt.Sprintf("target guest (%s) did not answer probe lost", silent)
	if !strings.Contains(c.stderr.String(), want) {
		t.Errorf("stderr lacks %q", want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a trigger fired at a target nobody could see")
	}
	rd := readRunDir(t, dir)
	if rd.summary == nil || !rd.summary.Partial || len(rd.events) != 0 {
		t.Fatalf("summary %+v, events %+v", rd.summary, rd.events)
	}
}

// sshTriggerRun starts a run whose trigger runs a long command over SSH on
// a real sshd in the server namespace; it returns once the remote command
// runs, with its PID (the namespaces share the file system).
func sshTriggerRun(t *testing.T, timeout time.Duration) (c *cli, dir string, sshd *sshdtest.SSHD, remote int, srv string) {
	t.Helper()
	sshdtest.NeedSSHD(t)
	p := pair(t)
	sshd = sshdtest.StartSSHD(t, p.Server, p.Server4, 22)
	tmp := t.TempDir()
	pidf := filepath.Join(tmp, "remote.pid")
	sc := pingScenario(t, p, "remote", "500ms", `
  - {name: remote, kind: ssh, timeout: %s, host: %s, user: root, identity_file: %s, known_hosts: %s, command: 'echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 60'}
`, timeout, p.Server4, sshd.IdentityFile, sshd.KnownHosts, pidf, pidf, pidf)
	dir = filepath.Join(tmp, "run")
	c = startCLI(t, nil, "run", "-q", "-o", dir, sc)
	waitFor(t, 20*time.Second, "the remote command to start", func() bool { return pidIn(pidf) != 0 })
	remote = pidIn(pidf)
	t.Cleanup(func() {
		if alive(remote) {
			_ = syscall.Kill(remote, syscall.SIGKILL)
		}
	})
	time.Sleep(200 * time.Millisecond)
	return c, dir, sshd, remote, p.Server4.String()
}

// SIGINT during an ssh trigger kills the remote command.
func TestSignalKillsRemoteCommand(t *testing.T) {
	c, dir, _, remote, _ := sshTriggerRun(t, time.Minute)
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	if code := c.wait(t, 30*time.Second); code != scenarios.ExitNotRun {
		t.Fatalf("exit %d, want %d", code, scenarios.ExitNotRun)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(remote) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// OpenSSH ignores signal requests in a root session, so this also
	// checks the trigger's other way of killing the command.
	if alive(remote) {
		t.Fatalf("remote command %d survived the cancelled trigger", remote)
	}
	rd := readRunDir(t, dir)
	if len(rd.events) != 1 || rd.events[0].Status != triggers.StatusCancel || !rd.summary.Partial {
		t.Fatalf("events %+v, summary %+v", rd.events, rd.summary)
	}
}

// The SSH connection to the hypervisor host dies during a trigger (its
// sshd connection process is killed): the event fails with the transport
// error, and the run goes on through settle to a verdict.
func TestSSHLinkDiesDuringTrigger(t *testing.T) {
	c, dir, sshd, _, _ := sshTriggerRun(t, time.Minute)
	// sshd forks a process per connection; killing it drops the TCP
	// connection as a dead host would, without touching the listener.
	conns := childrenOf(sshd.PID)
	if len(conns) == 0 {
		t.Fatal("sshd has no connection process")
	}
	for _, pid := range conns {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if code := c.wait(t, 30*time.Second); code != scenarios.ExitFail {
		t.Fatalf("exit %d, want %d", code, scenarios.ExitFail)
	}
	rd := readRunDir(t, dir)
	ev := rd.events
	if len(ev) != 1 || ev[0].Status != triggers.StatusFailed || ev[0].Error == "" || rd.summary.Partial {
		t.Fatalf("events %+v, summary %+v", ev, rd.summary)
	}
	t.Logf("event error: %s", ev[0].Error)
	if !strings.Contains(ev[0].Error, "ssh "+netip.MustParseAddr(sshd.Addr.String()).String()) {
		t.Errorf("error does not name the connection: %q", ev[0].Error)
	}
	checkReports(t, dir)
}

// childrenOf lists the child processes of pid, over all its threads.
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}
