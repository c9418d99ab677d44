package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios"
)

// inTinyFS runs `downtime run` with its run directory on a tmpfs of 64 KiB
// that is mounted in a private mount namespace (unshare -m): nothing is
// left mounted, whatever happens to the test. mount holds extra tmpfs
// options (ro); filler is how many KiB to take before the run (-1: all).
// What the run left is copied to the returned directory.
func inTinyFS(t *testing.T, mountOpts string, fillKiB int, scenario string) (*cli, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a tmpfs in a private mount namespace")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	tmp := t.TempDir()
	mnt, out := filepath.Join(tmp, "mnt"), filepath.Join(tmp, "out")
	for _, d := range []string{mnt, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -u
mount -t tmpfs -o "size=64k,$2" tmpfs "$1" || exit 99
if [ "$3" -lt 0 ]; then cat /dev/zero > "$1/filler" 2>/dev/null
elif [ "$3" -gt 0 ]; then dd if=/dev/zero of="$1/filler" bs=1k count="$3" 2>/dev/null; fi
"$4" run -q -o "$1/run" "$5"
rc=$?
[ -d "$1/run" ] && cp -a "$1/run" "$6/"
exit $rc`
	c := startProc(t, nil, "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
		mnt, mountOpts, strconv.Itoa(fillKiB), self(t), scenario, out)
	c.wait(t, 60*time.Second)
	if c.code == 99 {
		t.Skip("cannot mount a tmpfs here")
	}
	return c, filepath.Join(out, "run")
}

// An output directory that cannot be written: a clear error at start,
// exit 3, before any probe or trigger.
func TestUnwritableRunDir(t *testing.T) {
	p := pair(t)
	marker := filepath.Join(t.TempDir(), "fired")
	sc := writeScenario(t, `name: ro
netns: %s
targets:
  server: {address: %s}
probes:
  - {name: ping, kind: icmp, target: server, interval: 10ms}
baseline: 200ms
triggers:
  - {name: t, kind: exec, argv: [touch, %s]}
`, p.Client.Name, p.Server4, marker)

	t.Run("read-only", func(t *testing.T) {
		c, _ := inTinyFS(t, "ro", 0, sc)
		checkStartError(t, c, marker, "read-only file system")
	})
	t.Run("full", func(t *testing.T) {
		c, _ := inTinyFS(t, "rw", -1, sc)
		checkStartError(t, c, marker, "no space left on device")
	})
	t.Run("not-a-directory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		c := runCLI(t, nil, "run", "-q", "-o", filepath.Join(file, "run"), sc)
		checkStartError(t, c, marker, "not a directory")
	})
}

func checkStartError(t *testing.T, c *cli, marker, want string) {
	t.Helper()
	if c.code != scenarios.ExitNotRun {
		t.Errorf("exit %d, want %d", c.code, scenarios.ExitNotRun)
	}
	if !strings.Contains(c.stderr.String(), want) {
		t.Errorf("stderr lacks %q", want)
	}
	if strings.Contains(c.stderr.String(), "baseline") {
		t.Error("the probes started")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a trigger fired")
	}
}

// The disk fills up mid-run: the run stops at once with a clear error,
// exit 3, and every file that reached the disk is valid; `downtime
// report` rebuilds the rest elsewhere, marked partial.
func TestDiskFullMidRun(t *testing.T) {
	p := pair(t)
	sc := writeScenario(t, `name: full
netns: %s
targets:
  server: {address: %s}
probes:
  - {name: ping, kind: icmp, target: server, interval: 10ms}
  - {name: ping2, kind: icmp, target: server, interval: 10ms}
baseline: 200ms
settle: 1s
triggers:
  - {name: long, kind: exec, timeout: 1m, argv: [sleep, "20"]}
`, p.Client.Name, p.Server4)
	c, dir := inTinyFS(t, "rw", 44, sc)
	if c.code != scenarios.ExitNotRun {
		t.Errorf("exit %d, want %d", c.code, scenarios.ExitNotRun)
	}
	const want = "writing samples.csv: no space left on device"
	if !strings.Contains(c.stderr.String(), want) {
		t.Errorf("stderr lacks %q", want)
	}
	rd := readRunDir(t, dir)
	if rd.rows < 20 || rd.truncated {
		t.Errorf("samples.csv: %d rows, ends inside a row: %t", rd.rows, rd.truncated)
	}
	t.Logf("%d rows reached the disk", rd.rows)
	rebuild(t, dir, rd.rows, "ping", "ping2")
	if _, err := os.Stat(filepath.Join(dir, reports.MetaFile)); err != nil {
		t.Error(err)
	}
}
