package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial/sshdtest"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// daemon is a server process in a namespace, in a process group of its
// own, that a test can kill (the group, by its id) and start again, as a
// guest reboot would.
type daemon struct {
	t    *testing.T
	name string
	argv []string
	env  []string
	cmd  *exec.Cmd
	done chan struct{}
}

func startDaemon(t *testing.T, ns *netns.NS, name string, env []string, argv ...string) *daemon {
	t.Helper()
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Skipf("needs %s: %v", argv[0], err)
	}
	d := &daemon{t: t, name: name, argv: append([]string{"ip", "netns", "exec", ns.Name}, argv...), env: env}
	d.start()
	t.Cleanup(d.kill)
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	d.cmd = exec.Command(d.argv[0], d.argv[1:]...)
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start %s: %v", d.name, err)
	}
	d.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(d.cmd, d.done)
}

// kill kills the daemon's process group and waits for the daemon.
func (d *daemon) kill() {
	if d.cmd == nil {
		return
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.done
	d.cmd = nil
}

// startSNMPD runs a real snmpd on addr:161 in ns, answering community.
func startSNMPD(t *testing.T, ns *netns.NS, addr, community string) *daemon {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(conf, []byte("rocommunity "+community+" default\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// -C: only our conf; the address only on the command line (both
	// would make snmpd bind twice and fail).
	return startDaemon(t, ns, "snmpd", []string{"SNMP_PERSISTENT_DIR=" + filepath.Join(dir, "persist"), "MIBS="},
		"/usr/sbin/snmpd", "-f", "-C", "-c", conf, "-Lf", filepath.Join(dir, "snmpd.log"), "udp:"+addr+":161")
}

// startEcho runs a TCP echo server (socat) on addr:port in ns.
func startEcho(t *testing.T, ns *netns.NS, addr string, port int) *daemon {
	t.Helper()
	return startDaemon(t, ns, "echo", nil, "socat", fmt.Sprintf("TCP-LISTEN:%d,bind=%s,reuseaddr,fork", port, addr), "EXEC:cat")
}

// restartableSSHD is an OpenSSH server that can be killed with all its
// connections and started again with the same keys and config.
type restartableSSHD struct {
	*sshdtest.SSHD
	again *daemon // the restarted listener, if any
}

func startSSHD(t *testing.T, p *netns.Pair) *restartableSSHD {
	t.Helper()
	return &restartableSSHD{SSHD: sshdtest.StartSSHD(t, p.Server, p.Server4, 22)}
}

// kill kills the listener and every connection process (each runs in a
// session of its own, out of the listener's group).
func (s *restartableSSHD) kill() {
	pid := s.PID
	if s.again != nil {
		pid = s.again.cmd.Process.Pid
	}
	conns := childrenOf(pid)
	if s.again != nil {
		s.again.kill()
	} else {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	for _, c := range conns {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
}

// restart starts the listener again, with the same host key and config.
func (s *restartableSSHD) restart(t *testing.T, ns *netns.NS) {
	t.Helper()
	s.again = startDaemon(t, ns, "sshd", nil, "/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(s.Dir, "sshd_config"))
	// It listens within a few ms; the probe retries anyway.
	time.Sleep(50 * time.Millisecond)
}
