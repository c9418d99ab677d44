// Package peers starts real services inside a network namespace, for the
// calibration command and for tests: an OpenSSH sshd, a TCP echo service
// (socat) and a Net-SNMP snmpd. Each runs in its own process group, dies
// with the process that started it, and is stopped by its own PID.
//
// Nothing here needs the testing package, so commands can use it too.
package peers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds the wait for a service to become ready.
const startTimeout = 10 * time.Second

// daemon is one service process started through `ip netns exec`, which
// execs the program: the PID is the service's own.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  lineLog

	exited chan struct{}
	once   sync.Once
}

// start runs argv inside namespace ns. ready, if set, is called with each
// line the service writes to stderr and reports when it is listening.
func start(ns, name string, argv []string, env []string, ready func(line string) bool) (*daemon, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = env
	// Own process group: Close kills the service and the per-connection
	// children it forked, and nothing else. Pdeathsig: should the starting
	// process die, the service dies too (ip execs it, so the setting holds).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("peers: start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, exited: make(chan struct{})}
	isReady := make(chan struct{})
	var readyOnce sync.Once
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.log.add(sc.Text())
			if ready != nil && ready(sc.Text()) {
				readyOnce.Do(func() { close(isReady) })
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	if ready == nil {
		return d, nil
	}
	select {
	case <-isReady:
		return d, nil
	case <-d.exited:
		return nil, fmt.Errorf("peers: %s exited at start: %s", name, d.log.tail())
	case <-time.After(startTimeout):
		_ = d.close()
		return nil, fmt.Errorf("peers: %s not ready after %v: %s", name, startTimeout, d.log.tail())
	}
}

// close kills the service's process group and waits for it to exit.
func (d *daemon) close() error {
	var err error
	d.once.Do(func() {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			err = fmt.Errorf("peers: %s (pid %d) did not exit", d.name, d.cmd.Process.Pid)
		}
	})
	return err
}

// pid is the service's process id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// lineLog keeps what a service wrote, for error messages.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// tail is the last few lines, enough to say why a service failed.
func (l *lineLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.lines)
	if n == 0 {
		return "(no output)"
	}
	return strings.Join(l.lines[max(0, n-5):], " | ")
}

// need reports a missing program with the package that provides it.
func need(program, pkg string) error {
	if _, err := exec.LookPath(program); err != nil {
		return fmt.Errorf("peers: needs %s (apt-get install %s)", program, pkg)
	}
	return nil
}

// waitCtx is a helper for readiness polls.
func waitCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Available reports the first program the peers need that is not
// installed, or nil when all of them are.
func Available() error {
	for _, p := range []struct{ program, pkg string }{
		{sshdPath, "openssh-server"}, {"socat", "socat"}, {snmpdPath, "snmpd"}, {"ip", "iproute2"},
	} {
		if err := need(p.program, p.pkg); err != nil {
			return err
		}
	}
	return nil
}
