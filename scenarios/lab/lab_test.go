package lab_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/downtime-lab/downtime/probes/sshdial"
	"github.com/downtime-lab/downtime/scenarios"
	"github.com/downtime-lab/downtime/scenarios/lab"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// needLab skips unless this machine can run the lab (CI installs the
// packages with scenarios/lab/install-deps.sh).
func needLab(t *testing.T) {
	t.Helper()
	netns.NeedRoot(t)
	if err := lab.Missing(); err != nil {
		t.Skip(err)
	}
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// upForTest brings a lab with a unique prefix up; it is torn down when the
// test ends, and the teardown is checked.
func upForTest(t *testing.T, bond bool) (lab.Config, *lab.State) {
	t.Helper()
	needLab(t)
	cfg := lab.Config{Prefix: netns.UniqueName("lab"), Bond: bond, Log: logWriter{t}}
	t.Cleanup(func() { downAndCheck(t, cfg) })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	begin := time.Now()
	st, err := lab.Up(ctx, cfg)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("lab up took %v (accelerator %s)", time.Since(begin).Round(time.Millisecond), st.Accel)
	return cfg, st
}

// downAndCheck takes the lab down and checks that no namespace, process
// or state is left, and that a second Down is harmless.
func downAndCheck(t *testing.T, cfg lab.Config) {
	t.Helper()
	var pids []int
	if st, err := lab.LoadState(cfg); err == nil {
		for _, s := range st.Sides {
			pids = append(pids, s.PID)
		}
	}
	if err := lab.Down(cfg); err != nil {
		t.Errorf("lab down: %v", err)
	}
	if err := lab.Down(cfg); err != nil {
		t.Errorf("second lab down: %v", err)
	}
	for _, ns := range []string{cfg.Prefix + "-hosts", cfg.Prefix + "-client"} {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	if _, err := os.Stat(filepath.Join(lab.DefaultRunDir, cfg.Prefix)); err == nil {
		t.Errorf("state directory left behind")
	}
	for _, pid := range pids {
		// The process is reaped by the goroutine that started it.
		for deadline := time.Now().Add(5 * time.Second); pid > 0; {
			if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("QEMU pid %d still exists", pid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// inClient runs fn inside the lab's client namespace (sockets opened there
// stay there).
func inClient(st *lab.State, fn func() error) error {
	return (&netns.NS{Name: st.ClientNS}).Do(fn)
}

// waitPing pings addr from the client namespace until it answers.
func waitPing(t *testing.T, st *lab.State, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, err := exec.Command("ip", "netns", "exec", st.ClientNS, "ping", "-n", "-c", "1", "-W", "1", addr).CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ping %s: %v: %s", addr, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sshRun(t *testing.T, st *lab.State, cmd string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []byte
	err := inClient(st, func() error {
		c, err := sshdial.Dial(ctx, sshdial.Config{
			Host: st.Guest4, User: "root", IdentityFile: st.Key, KnownHosts: st.KnownHosts, Timeout: 20 * time.Second,
		})
		if err != nil {
			return err
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			return err
		}
		defer s.Close()
		out, err = s.CombinedOutput(cmd)
		return err
	})
	if err != nil {
		t.Fatalf("ssh %q: %v", cmd, err)
	}
	return string(out)
}

// checkGuest checks every service the probes use: ICMP (v4, v6), SSH with
// host key checking, SNMP and the TCP echo service.
func checkGuest(t *testing.T, st *lab.State) {
	t.Helper()
	waitPing(t, st, st.Guest4, 10*time.Second)
	waitPing(t, st, st.Guest6, 10*time.Second)
	if out := sshRun(t, st, "echo hello from $(hostname)"); !strings.Contains(out, "hello from guest") {
		t.Errorf("ssh output %q", out)
	}
	err := inClient(st, func() error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(st.Guest4, "7"), 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintln(c, "downtime echo"); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if line != "downtime echo\n" {
			return fmt.Errorf("echo answered %q", line)
		}
		return nil
	})
	if err != nil {
		t.Errorf("tcp echo: %v", err)
	}
	snmp := &gosnmp.GoSNMP{Target: st.Guest4, Port: 161, Community: "public", Version: gosnmp.Version2c, Timeout: 2 * time.Second, Retries: 3}
	if err := inClient(st, snmp.Connect); err != nil {
		t.Fatalf("snmp connect: %v", err)
	}
	defer snmp.Conn.Close()
	pkt, err := snmp.Get([]string{"1.3.6.1.2.1.1.3.0"})
	if err != nil || len(pkt.Variables) != 1 || pkt.Variables[0].Type != gosnmp.TimeTicks {
		t.Errorf("snmp get sysUpTime.0: %v %+v", err, pkt)
	}
}

func migrate(t *testing.T, from, to *lab.Side, quit bool) *triggers.Hypervisor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out strings.Builder
	oc, err := triggers.NewQMP(triggers.QMPConfig{Socket: from.QMP, Action: "migrate", URI: to.MigrateURI(), QuitSource: quit}).Fire(ctx, &out)
	t.Logf("migrate %s -> %s:\n%s", from.Name, to.Name, out.String())
	if err != nil {
		t.Fatalf("migrate %s -> %s: %v", from.Name, to.Name, err)
	}
	h := oc.Hypervisor
	if h == nil {
		t.Fatal("no hypervisor figures")
	}
	if h.TotalTimeMS <= 0 || h.DowntimeMS < 0 || h.DowntimeMS > h.TotalTimeMS {
		t.Errorf("downtime %v ms, total %v ms: out of relation", h.DowntimeMS, h.TotalTimeMS)
	}
	return h
}

// wantRunning waits (up to 10 s: a QEMU told to quit takes a moment to
// go) until side runs the guest and the other side is in state other.
func wantRunning(t *testing.T, cfg lab.Config, side string, other string) {
	t.Helper()
	o := "A"
	if side == "A" {
		o = "B"
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := lab.Status(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if info.Running == side && info.RunStates[o] == other {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status: running %q, states %v; want %s running, %s %s", info.Running, info.RunStates, side, o, other)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestLabMigrateThereAndBack(t *testing.T) {
	cfg, st := upForTest(t, false)
	a, b := &st.Sides[0], &st.Sides[1]
	wantRunning(t, cfg, "A", "inmigrate")
	checkGuest(t, st)
	checkScenarioFiles(t, st)

	h := migrate(t, a, b, true)
	t.Logf("A->B: QEMU downtime %.0f ms, total %.0f ms, setup %.0f ms", h.DowntimeMS, h.TotalTimeMS, h.SetupTimeMS)
	wantRunning(t, cfg, "B", "stopped")
	checkGuest(t, st)

	if _, err := lab.Standby(context.Background(), cfg); err != nil {
		t.Fatalf("standby: %v", err)
	}
	wantRunning(t, cfg, "B", "inmigrate")
	// Standby is idempotent while the destination waits.
	if _, err := lab.Standby(context.Background(), cfg); err != nil {
		t.Fatalf("second standby: %v", err)
	}
	h = migrate(t, b, a, false) // B stays, paused in postmigrate
	t.Logf("B->A: QEMU downtime %.0f ms, total %.0f ms, setup %.0f ms", h.DowntimeMS, h.TotalTimeMS, h.SetupTimeMS)
	wantRunning(t, cfg, "A", "postmigrate")
	waitPing(t, st, st.Guest4, 10*time.Second)

	if _, err := lab.Standby(context.Background(), cfg); err != nil {
		t.Fatalf("standby after postmigrate: %v", err)
	}
	wantRunning(t, cfg, "A", "inmigrate")
	waitPing(t, st, st.Guest6, 10*time.Second)
}

// checkScenarioFiles loads the lab's scenario files, rewritten for this
// lab, with the real loader (which checks that the key files exist).
func checkScenarioFiles(t *testing.T, st *lab.State) {
	t.Helper()
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 3 {
		t.Fatalf("scenario files: %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenarios.Parse(f, lab.RewriteForPrefix(data, st.Prefix, ""))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if sc.Netns != st.ClientNS {
			t.Errorf("%s: netns %q, want %q", f, sc.Netns, st.ClientNS)
		}
		for _, tr := range sc.Triggers {
			if tr.Kind == "qmp" && !strings.HasPrefix(tr.Socket, st.Dir+"/") {
				t.Errorf("%s: trigger %s: socket %s not in the lab", f, tr.Name, tr.Socket)
			}
		}
	}
}

// activeSlave reads the bond's active slave inside the guest.
func activeSlave(t *testing.T, st *lab.State) string {
	t.Helper()
	out := sshRun(t, st, "cat /sys/class/net/bond0/bonding/active_slave")
	return strings.TrimSpace(out)
}

func TestLabBondFailover(t *testing.T) {
	_, st := upForTest(t, true)
	a := &st.Sides[0]
	waitPing(t, st, st.Guest4, 10*time.Second)
	waitPing(t, st, st.Guest6, 10*time.Second)
	if got := activeSlave(t, st); got != "eth0" {
		t.Fatalf("active slave %q before the failure, want eth0", got)
	}
	setLink := func(up bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out strings.Builder
		if _, err := triggers.NewQMP(triggers.QMPConfig{Socket: a.QMP, Action: "set_link", Netdev: "net0", Up: up}).Fire(ctx, &out); err != nil {
			t.Fatalf("set_link net0 up=%t: %v", up, err)
		}
	}
	waitSlave := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; {
			got := activeSlave(t, st)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("active slave %q, want %s", got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	setLink(false)
	waitPing(t, st, st.Guest4, 10*time.Second)
	waitPing(t, st, st.Guest6, 10*time.Second)
	waitSlave("eth1")
	if out := sshRun(t, st, "cat /proc/net/bonding/bond0"); !strings.Contains(out, "Link Failure Count: 1") {
		t.Errorf("bond0 shows no link failure:\n%s", out)
	}
	setLink(true)
	waitSlave("eth0") // primary: fails back
	waitPing(t, st, st.Guest4, 10*time.Second)
}

func TestRewriteForPrefix(t *testing.T) {
	in := []byte("netns: dtlab-client\nsocket: /run/downtime-lab/dtlab/A.qmp\nargv: [downtime, lab, standby, --prefix, dtlab]\nname: lab-live-migration\n")
	got := string(lab.RewriteForPrefix(in, "dt9-lab", "/tmp/x"))
	want := "netns: dt9-lab-client\nsocket: /tmp/x/dt9-lab/A.qmp\nargv: [downtime, lab, standby, --prefix, dt9-lab]\nname: lab-live-migration\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestDownClearsLeftoversAndSparesOthers(t *testing.T) {
	netns.NeedRoot(t)
	cfg := lab.Config{Prefix: netns.UniqueName("lab")}
	dir := filepath.Join(lab.DefaultRunDir, cfg.Prefix)
	// A crashed lab: namespaces, a state file naming a PID that is not a
	// QEMU of this lab (as after PID reuse).
	for _, n := range []string{cfg.Prefix + "-hosts", cfg.Prefix + "-client"} {
		ns, err := netns.New(n)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ns.Close() })
	}
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// In the hosts namespace: a process of the lab that state.json does
	// not record (its command line names the state directory, as a QEMU's
	// does), and one that is not the lab's.
	if err := os.WriteFile(filepath.Join(dir, "A.serial"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	inHosts := func(args ...string) (*exec.Cmd, chan struct{}) {
		c := exec.Command("ip", append([]string{"netns", "exec", cfg.Prefix + "-hosts"}, args...)...)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		t.Cleanup(func() { _ = c.Process.Kill(); <-done })
		// Until ip has execed the command, the process is ip's, and for a
		// moment its command line reads empty.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c.Process.Pid))
			if bytes.HasPrefix(b, []byte(args[0]+"\x00")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not start in the hosts namespace: cmdline %q", args[0], b)
			}
		}
		return c, done
	}
	stray, strayDone := inHosts("tail", "-f", filepath.Join(dir, "A.serial"))
	bystander, _ := inHosts("sleep", "60")
	state := fmt.Sprintf(`{"prefix": %q, "state_dir": %q, "sides": [{"name": "A", "pid": %d}, {"name": "B", "pid": 0}]}`, cfg.Prefix, dir, other.Process.Pid)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := lab.Down(cfg); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("down killed a process that is not the lab's: %v", err)
	}
	if err := bystander.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("down killed a process in the hosts namespace that is not the lab's: %v", err)
	}
	select {
	case <-strayDone:
	case <-time.After(10 * time.Second):
		t.Errorf("down left the lab's unrecorded process %d running", stray.Process.Pid)
	}
	for _, n := range []string{cfg.Prefix + "-hosts", cfg.Prefix + "-client", "../../downtime-lab/" + cfg.Prefix} {
		if _, err := os.Stat(filepath.Join("/run/netns", n)); err == nil {
			t.Errorf("%s left behind", n)
		}
	}
	if _, err := lab.Status(context.Background(), cfg); !errors.Is(err, lab.ErrNoLab) {
		t.Errorf("status after down: %v, want ErrNoLab", err)
	}
}

func TestConfigRejectsBadPrefix(t *testing.T) {
	for _, p := range []string{"../x", "a b", "waytoolongprefix-1234"} {
		if err := lab.Down(lab.Config{Prefix: p}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
