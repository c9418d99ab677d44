package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// asDowntime makes this test binary behave as the downtime command, so
// the process-level tests run the real CLI (signals, exit codes, the
// re-exec into a namespace, "downtime" in an exec trigger) without a
// separate build.
const asDowntime = "DT_TEST_AS_DOWNTIME"

func TestMain(m *testing.M) {
	if os.Getenv(asDowntime) == "1" {
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	// Run directories are checked for 0644/0755: make the umask the
	// usual one, whatever the caller's.
	syscall.Umask(0o022)
	os.Exit(m.Run())
}

// cli is one downtime process started by a test.
type cli struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuf
	done           chan struct{}
	code           int
}

// startCLI starts downtime with args and extra environment; the process
// is killed (by PID) when t ends, if it still runs.
func startCLI(t *testing.T, env []string, args ...string) *cli {
	t.Helper()
	return startProc(t, env, append([]string{self(t)}, args...)...)
}

// self is the path of this test binary, which is downtime with asDowntime set.
func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// startProc starts argv (downtime, or a wrapper that runs it) with the
// environment that makes this test binary downtime.
func startProc(t *testing.T, env []string, argv ...string) *cli {
	t.Helper()
	c := &cli{stdout: &syncBuf{}, stderr: &syncBuf{}, done: make(chan struct{})}
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = append(append(os.Environ(), asDowntime+"=1"), env...)
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		_ = c.cmd.Wait()
		c.code = c.cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
			return
		default:
		}
		if child := runnerPID(c.cmd.Process.Pid); child != 0 {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// runCLI runs downtime to the end and returns its exit code.
func runCLI(t *testing.T, env []string, args ...string) *cli {
	t.Helper()
	c := startCLI(t, env, args...)
	c.wait(t, 60*time.Second)
	return c
}

// wait waits for the process to exit, at most d.
func (c *cli) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		t.Fatalf("downtime still running after %s\nstderr:\n%s", d, c.stderr)
	}
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", c.code, c.stdout, c.stderr)
	return c.code
}

// output is everything the process printed.
func (c *cli) output() string { return c.stdout.String() + c.stderr.String() }

// waitFor polls until cond holds, failing t after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRows waits until samples.csv in dir holds at least n full rows.
func waitRows(t *testing.T, dir string, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d rows in %s", n, reports.SamplesFile), func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, reports.SamplesFile))
		return bytes.Count(b, []byte{'\n'})-1 >= n // less the header
	})
}

// runnerPID is the process that carries out the run: the CLI re-executes
// itself inside the scenario's namespace ("ip netns exec" execs it, so
// the child of pid is the runner). 0 when there is no child (yet).
func runnerPID(pid int) int {
	// A child is listed under the thread that forked it.
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			child, _ := strconv.Atoi(f[0])
			return child
		}
	}
	return 0
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// pidIn reads a PID a trigger wrote into a file.
func pidIn(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// writeScenario writes a scenario file and returns its path.
func writeScenario(t *testing.T, format string, args ...any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, format, args...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pingScenario writes a scenario named name that pings the pair's server
// every 10 ms from its client namespace (baseline 300ms, then settle) and
// runs steps, the YAML items of its triggers list, formatted with args.
func pingScenario(t *testing.T, p *netns.Pair, name, settle, steps string, args ...any) string {
	t.Helper()
	head := fmt.Sprintf(`name: %s
netns: %s
targets:
  server: {address: %s}
probes:
  - {name: ping, kind: icmp, target: server, interval: 10ms, timeout: 500ms}
baseline: 300ms
settle: %s
triggers:
`, name, p.Client.Name, p.Server4, settle)
	return writeScenario(t, "%s", head+fmt.Sprintf(steps, args...))
}

// pair is a client/server namespace pair for a CLI test; the CLI runs its
// probes in the client namespace (scenario key netns).
func pair(t *testing.T) *netns.Pair {
	t.Helper()
	p := netns.PairForTest(t)
	return p
}

// icmpEchoes is how many echo requests the server namespace has received:
// the ground truth for the attempts an icmp probe sent.
func icmpEchoes(t *testing.T, ns *netns.NS) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns.Name, "cat", "/proc/net/snmp").Output()
	if err != nil {
		t.Fatalf("read icmp counters: %v", err)
	}
	var names []string
	for line := range strings.SplitSeq(string(out), "\n") {
		rest, ok := strings.CutPrefix(line, "Icmp: ")
		if !ok {
			continue
		}
		if names == nil {
			names = strings.Fields(rest)
			continue
		}
		for i, v := range strings.Fields(rest) {
			if i < len(names) && names[i] == "InEchos" {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
	}
	t.Fatalf("no InEchos counter in:\n%s", out)
	return 0
}

// runDir is what a test reads back from a run directory.
type runDir struct {
	samples   map[string]int           // rows per probe
	last      map[string]time.Duration // latest scheduled time per probe
	rows      int
	truncated bool // the file ends inside a row
	events    []triggers.Event
	summary   *reports.Summary // nil when summary.json is absent
}

// readRunDir checks that samples.csv and events.csv parse, and reads
// summary.json if it is there.
func readRunDir(t *testing.T, dir string) runDir {
	t.Helper()
	rd := runDir{samples: map[string]int{}, last: map[string]time.Duration{}}
	f, err := os.Open(filepath.Join(dir, reports.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sr := reports.NewSampleReader(f)
	for {
		s, err := sr.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("%s is not valid: %v", reports.SamplesFile, err)
			}
			break
		}
		rd.samples[s.Probe]++
		rd.rows++
		rd.last[s.Probe] = max(rd.last[s.Probe], s.Scheduled)
	}
	rd.truncated = sr.Truncated()
	if b, err := os.ReadFile(filepath.Join(dir, reports.EventsFile)); err == nil {
		if rd.events, err = reports.ReadEvents(bytes.NewReader(b)); err != nil {
			t.Fatalf("%s is not valid: %v", reports.EventsFile, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, reports.SummaryFile)); err == nil {
		if rd.summary, err = reports.ReadSummary(bytes.NewReader(b)); err != nil {
			t.Fatalf("%s is not valid: %v", reports.SummaryFile, err)
		}
	}
	return rd
}

// sentOf is the attempts summary.json counts for probe, over its instances.
func (rd runDir) sentOf(probe string) int {
	n := 0
	for _, p := range rd.summary.Probes {
		if p.Name == probe {
			n += p.Sent
		}
	}
	return n
}

// reportFiles are the files WriteReports makes.
var reportFiles = []string{reports.GapsFile, reports.SummaryFile, reports.SummaryCSVFile, reports.ReportFile, reports.TimelineFile, reports.HTMLFile, reports.JUnitFile}

// checkReports checks every report file is there.
func checkReports(t *testing.T, dir string) {
	t.Helper()
	for _, f := range append([]string{reports.MetaFile, reports.SamplesFile, reports.EventsFile}, reportFiles...) {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
}

// syncBuf is a bytes.Buffer safe for a process's output and a test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
