package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// longRun starts a run of icmp at 10 ms against the pair's server, from
// its client namespace (the CLI re-executes itself there), whose one
// trigger is a local command that sleeps for a minute. It returns once
// the trigger runs, with the PIDs of the trigger's shell and of the sleep
// it started in the background.
func longRun(t *testing.T, p *netns.Pair) (c *cli, dir string, shell, sleep int) {
	t.Helper()
	tmp := t.TempDir()
	pids := filepath.Join(tmp, "pids")
	sc := pingScenario(t, p, "long", "1s", `
  - {name: long, kind: exec, timeout: 1m, argv: [sh, -c, 'sleep 60 & echo $$ $! > %s.tmp && mv %s.tmp %s; wait']}
`, pids, pids, pids)
	dir = filepath.Join(tmp, "run")
	c = startCLI(t, nil, "run", "-q", "-o", dir, sc)
	waitFor(t, 20*time.Second, "the trigger to start", func() bool {
		_, err := os.Stat(pids)
		return err == nil
	})
	b, _ := os.ReadFile(pids)
	f := strings.Fields(string(b))
	if len(f) != 2 {
		t.Fatalf("trigger wrote %q", b)
	}
	shell, _ = strconv.Atoi(f[0])
	sleep, _ = strconv.Atoi(f[1])
	// Whatever happens, the sleep goes (by PID) when the test ends.
	t.Cleanup(func() {
		if alive(sleep) {
			_ = syscall.Kill(sleep, syscall.SIGKILL)
		}
	})
	// Some probing during the trigger: wait for the rows themselves, not
	// for time, so a slow machine cannot leave the run too short.
	waitRows(t, dir, 60)
	return c, dir, shell, sleep
}

// One SIGINT or SIGTERM, sent to the downtime process a user started:
// the trigger's process group is killed, probes stop, every file is
// written, the report is partial, exit 3; every attempt the server saw
// is a row on disk.
func TestSignalOnce(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := pair(t)
			c, dir, shell, sleep := longRun(t, p)
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := c.wait(t, 30*time.Second); code != scenarios.ExitNotRun {
				t.Fatalf("exit %d, want %d", code, scenarios.ExitNotRun)
			}
			for _, pid := range []int{shell, sleep} {
				if alive(pid) {
					t.Errorf("trigger process %d still runs", pid)
				}
			}
			checkReports(t, dir)
			rd := readRunDir(t, dir)
			if rd.summary == nil || !rd.summary.Partial || rd.summary.Reason != "interrupted" {
				t.Fatalf("summary: %+v", rd.summary)
			}
			if len(rd.events) != 1 || rd.events[0].Status != triggers.StatusCancel {
				t.Fatalf("events: %+v", rd.events)
			}
			echoes := icmpEchoes(t, p.Server)
			t.Logf("rows %d, summary sent %d, echo requests at the server %d", rd.rows, rd.sentOf("ping"), echoes)
			if rd.truncated || rd.rows != rd.sentOf("ping") || rd.rows < 50 {
				t.Errorf("rows %d (cut %t), summary sent %d", rd.rows, rd.truncated, rd.sentOf("ping"))
			}
			// A request sent as the probe stopped is not part of the run.
			if rd.rows > echoes || rd.rows < echoes-1 {
				t.Errorf("rows %d, but the server saw %d echo requests", rd.rows, echoes)
			}
			if !strings.Contains(c.stdout.String(), "partial run: interrupted") {
				t.Errorf("stdout does not say the run is partial")
			}
		})
	}
}

// A second signal quits at once; samples.csv stays valid, and
// `downtime report` rebuilds every other file from it, marked partial.
func TestSignalTwice(t *testing.T) {
	p := pair(t)
	c, dir, shell, sleep := longRun(t, p)
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(5 * time.Millisecond)
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	if code := c.wait(t, 10*time.Second); code != scenarios.ExitNotRun {
		t.Fatalf("exit %d, want %d", code, scenarios.ExitNotRun)
	}
	if !strings.Contains(c.stderr.String(), "downtime report "+dir) {
		t.Errorf("stderr does not say how to rebuild the reports")
	}
	waitFor(t, 5*time.Second, "the trigger's processes to end", func() bool { return !alive(shell) && !alive(sleep) })
	rd := readRunDir(t, dir)
	if rd.rows < 50 || rd.truncated {
		t.Fatalf("rows %d, cut %t", rd.rows, rd.truncated)
	}
	rebuild(t, dir, rd.rows)
}

// SIGKILL of the process carrying out the run: samples.csv is valid up to
// its last full line, and `downtime report` rebuilds the rest, partial.
func TestSIGKILL(t *testing.T) {
	p := pair(t)
	c, dir, _, _ := longRun(t, p)
	runner := runnerPID(c.cmd.Process.Pid)
	if runner == 0 {
		t.Fatal("no re-executed runner process")
	}
	if err := syscall.Kill(runner, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(t, 10*time.Second); code != scenarios.ExitNotRun {
		t.Fatalf("exit %d, want %d", code, scenarios.ExitNotRun)
	}
	if !strings.Contains(c.stderr.String(), "killed") {
		t.Errorf("stderr does not say the run was killed")
	}
	rd := readRunDir(t, dir)
	if rd.rows < 50 || rd.summary != nil {
		t.Fatalf("rows %d, summary %+v", rd.rows, rd.summary)
	}
	rebuild(t, dir, rd.rows)
}

// rebuild runs `downtime report DIR` and checks every report is back,
// marked partial, counting every row.
func rebuild(t *testing.T, dir string, rows int, probes ...string) {
	t.Helper()
	for _, f := range reportFiles {
		_ = os.Remove(filepath.Join(dir, f))
	}
	r := runCLI(t, nil, "report", dir)
	if r.code != scenarios.ExitNotRun {
		t.Errorf("report of a partial run: exit %d, want %d", r.code, scenarios.ExitNotRun)
	}
	checkReports(t, dir)
	rd := readRunDir(t, dir)
	if rd.summary == nil || !rd.summary.Partial {
		t.Fatalf("rebuilt summary not partial: %+v", rd.summary)
	}
	if len(probes) == 0 {
		probes = []string{"ping"}
	}
	sent := 0
	for _, p := range probes {
		sent += rd.sentOf(p)
	}
	if sent != rows {
		t.Errorf("rebuilt summary counts %d attempts, samples.csv holds %d", sent, rows)
	}
	if rd.summary.Reason == "" {
		t.Errorf("reason: %q", rd.summary.Reason)
	}
	t.Logf("rebuilt: partial (%s), %d rows", rd.summary.Reason, rows)
}

// SIGKILL of the downtime process a user started, while its re-executed
// runner works in the namespace: the runner is told to stop (parent-death
// signal) and still writes its partial report.
func TestParentKilled(t *testing.T) {
	p := pair(t)
	c, dir, _, sleep := longRun(t, p)
	runner := runnerPID(c.cmd.Process.Pid)
	if runner == 0 {
		t.Fatal("no re-executed runner process")
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 10*time.Second)
	waitFor(t, 30*time.Second, "the runner to finish", func() bool { return !alive(runner) })
	if alive(sleep) {
		t.Error("the trigger's process survived")
	}
	rd := readRunDir(t, dir)
	if rd.summary == nil || !rd.summary.Partial || rd.summary.Reason != "interrupted" || rd.rows != rd.sentOf("ping") {
		t.Fatalf("summary %+v, rows %d", rd.summary, rd.rows)
	}
	checkReports(t, dir)
}

// One SIGINT during a long step: the always step after it (a NIC brought
// back up, in real use) still runs, the other steps do not, and the run is
// partial with exit 3.
func TestSignalRunsAlwaysSteps(t *testing.T) {
	p := pair(t)
	tmp := t.TempDir()
	started, restored, skipped := filepath.Join(tmp, "started"), filepath.Join(tmp, "restored"), filepath.Join(tmp, "skipped")
	sc := pingScenario(t, p, "undo", "1s", `
  - {name: down, kind: exec, timeout: 1m, argv: [sh, -c, 'touch %s; exec sleep 60']}
  - {name: other, kind: exec, argv: [touch, %s]}
  - {name: up, kind: exec, always: true, argv: [touch, %s]}
`, started, skipped, restored)
	dir := filepath.Join(tmp, "run")
	c := startCLI(t, nil, "run", "-o", dir, sc)
	waitFor(t, 20*time.Second, "the first step to start", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(t, 30*time.Second); code != scenarios.ExitNotRun {
		t.Fatalf("exit %d, want %d", code, scenarios.ExitNotRun)
	}
	if _, err := os.Stat(restored); err != nil {
		t.Errorf("the always step did not run: %v", err)
	}
	if _, err := os.Stat(skipped); err == nil {
		t.Error("a step that is not always ran after the interrupt")
	}
	rd := readRunDir(t, dir)
	var got []string
	for _, e := range rd.events {
		got = append(got, e.Name+"="+string(e.Status))
	}
	if want := []string{"down=cancelled", "up=ok"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events %v, want %v", got, want)
	}
	if rd.summary == nil || !rd.summary.Partial {
		t.Errorf("summary: %+v", rd.summary)
	}
	if !strings.Contains(c.stderr.String(), "always step(s) up") {
		t.Errorf("the log does not say it ran the always step:\n%s", c.stderr.String())
	}
}
