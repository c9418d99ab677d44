package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// guestMAC is the MAC of the guest's first NIC; the second adds one.
const guestMAC = "52:54:00:77:00:1"

// qemuArgs is the QEMU command line of a side. Both sides get the same
// machine (the same CPU model above all, so a migration is possible); only
// the per-side paths and taps differ, and -incoming on a destination.
func qemuArgs(st *State, s *Side, incoming bool) []string {
	args := []string{
		"-name", "downtime-lab-" + st.Prefix + "-" + s.Name,
		"-M", "pc", "-m", "256", "-smp", "1", "-cpu", "qemu64",
		"-accel", st.Accel,
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", st.Kernel, "-initrd", st.Initrd, "-append", st.Append,
		"-serial", "file:" + s.Serial,
		"-qmp", "unix:" + s.QMP + ",server=on,wait=off",
	}
	for i, tap := range s.Taps {
		args = append(args,
			"-netdev", fmt.Sprintf("tap,id=%s,ifname=%s,script=no,downscript=no", s.Netdevs[i], tap),
			"-device", fmt.Sprintf("virtio-net-pci,netdev=%s,mac=%s%d", s.Netdevs[i], guestMAC, i))
	}
	if incoming {
		args = append(args, "-incoming", s.MigrateURI())
	}
	return args
}

// startQEMU starts a side's QEMU inside the hosts namespace, in its own
// session so it outlives the command that started it.
func startQEMU(st *State, s *Side, incoming bool) error {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return errors.New("qemu-system-x86_64 not found: run scenarios/lab/install-deps.sh")
	}
	logf, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	_ = os.Remove(s.QMP)
	// ip execs QEMU, so the PID is QEMU's own.
	cmd := exec.Command("ip", append([]string{"netns", "exec", st.HostsNS, qemu}, qemuArgs(st, s, incoming)...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start QEMU %s: %w", s.Name, err)
	}
	s.PID = cmd.Process.Pid
	// Reap it when it exits, should this process still be around.
	go func() { _ = cmd.Wait() }()
	return nil
}

// ourProcess reports whether pid is alive and is a QEMU of this lab (its
// command line names the lab's state directory), so that a recycled PID
// is never killed.
func ourProcess(pid int, stateDir string) bool {
	if pid <= 0 {
		return false
	}
	if exited(pid) {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte(stateDir+"/"))
}

// strays returns the PIDs of this lab's processes in its hosts namespace
// that state.json may not record (it was lost, or Up crashed before saving
// it): those whose command line names the lab's state directory, as every
// QEMU of the lab does. Other processes in the namespace are not ours.
func strays(cfg Config) []int {
	if _, err := os.Stat(filepath.Join("/run/netns", cfg.hostsNS())); err != nil {
		return nil
	}
	out, err := exec.Command("ip", "netns", "pids", cfg.hostsNS()).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && ourProcess(pid, cfg.stateDir()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// exited reports whether the process pid, a child we started, has ended:
// it is gone or a zombie. Its stat file, unlike its command line, reads
// the same through an exec.
func exited(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// stopQEMU ends a side's QEMU: SIGTERM, then SIGKILL if it lingers.
func stopQEMU(s *Side, stateDir string) error {
	if !ourProcess(s.PID, stateDir) {
		s.PID = 0
		return nil
	}
	_ = syscall.Kill(s.PID, syscall.SIGTERM)
	for sig, deadline := syscall.SIGTERM, time.Now().Add(5*time.Second); ; {
		if !ourProcess(s.PID, stateDir) {
			s.PID = 0
			return nil
		}
		if time.Now().After(deadline) {
			if sig == syscall.SIGKILL {
				return fmt.Errorf("QEMU %s (pid %d) does not exit", s.Name, s.PID)
			}
			sig, deadline = syscall.SIGKILL, time.Now().Add(5*time.Second)
			_ = syscall.Kill(s.PID, sig)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReady waits until the side's serial console shows the ready marker.
func waitReady(ctx context.Context, st *State, s *Side, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(s.Serial); err == nil && bytes.Contains(b, []byte(readyMarker)) {
			return nil
		}
		// Not ourProcess: while ip execs QEMU, /proc/PID/cmdline reads
		// empty for a moment, and a boot would be taken for a crash.
		if exited(s.PID) {
			return fmt.Errorf("QEMU %s exited during boot: %s", s.Name, tail(s.Log, 3))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("guest on %s not ready after %v; serial console: %s", s.Name, timeout, tail(s.Serial, 5))
		case <-tick.C:
		}
	}
}

// tail returns the last n lines of a file, joined with " | ".
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// runState asks a side's QEMU for its run state ("running", "inmigrate",
// "postmigrate", "paused", ...); "" when it does not answer.
func runState(ctx context.Context, s *Side) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	raw, err := triggers.QMPCall(ctx, s.QMP, "query-status", nil)
	if err != nil {
		return ""
	}
	var st struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(raw, &st) != nil {
		return ""
	}
	return st.Status
}

// waitRunState polls until the side reports want.
func waitRunState(ctx context.Context, s *Side, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got := runState(ctx, s)
		if got == want {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("QEMU %s: state %q, want %q: %s", s.Name, got, want, tail(s.Log, 3))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
