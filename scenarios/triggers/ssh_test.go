package triggers

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial"
	"github.com/downtime-lab/downtime/probes/sshdial/sshdtest"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"golang.org/x/crypto/ssh"
)

func TestRemoteCommand(t *testing.T) {
	for _, tc := range []struct{ command, shell, want, err string }{
		{command: "uptime", want: "uptime"},
		{command: "echo a\necho b", want: "echo a\necho b"},
		{command: "Get-Date", shell: "powershell", want: powerShellPrefix + `^"Get-Date^"`},
		{command: "a\nb", shell: "powershell", err: "must be one line"},
		{command: "  ", err: "empty command"},
		{command: "a\x00b", err: "NUL"},
		{command: "x", shell: "fish", err: `unknown shell "fish"`},
	} {
		got, err := remoteCommand(tc.command, tc.shell)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("remoteCommand(%q, %q): err = %v, want %q", tc.command, tc.shell, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("remoteCommand(%q, %q) = %q, %v; want %q", tc.command, tc.shell, got, err, tc.want)
		}
	}
}

const (
	testPassword   = "pw-Zq8!secret-never-shown"
	testPassphrase = "pp-Kx3!secret-never-shown"
)

// encryptedKey writes an ed25519 key encrypted with passphrase.
func encryptedKey(t *testing.T, passphrase string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// goServerConfig returns settings for an in-process server (no root needed).
func goServerConfig(t *testing.T, srv *sshdtest.GoServer, hostKey ssh.PublicKey) sshdial.Config {
	t.Helper()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	sshdtest.WriteKnownHosts(t, kh, srv.Addr, hostKey, false)
	host, port := splitHostPort(t, srv.Addr)
	return sshdial.Config{Host: host, Port: port, User: "probe", KnownHosts: kh, Timeout: 5 * time.Second}
}

func TestSSHSecretsAndRefusals(t *testing.T) {
	srv := sshdtest.StartGoServer(t, false, testPassword, nil)
	ctx := context.Background()
	check := func(name string, cfg sshdial.Config, want string) {
		t.Helper()
		var out bytes.Buffer
		oc, err := NewSSH(cfg, "true", "").Fire(ctx, &out)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, want)
		}
		if oc.ExitCode != -1 {
			t.Errorf("%s: exit code %d, want -1", name, oc.ExitCode)
		}
		for _, secret := range []string{testPassword, testPassphrase} {
			if strings.Contains(fmt.Sprint(err), secret) || strings.Contains(out.String(), secret) {
				t.Errorf("%s: a secret shows in %v / %q", name, err, out.String())
			}
		}
		t.Logf("%s: %v", name, err)
	}

	cfg := goServerConfig(t, srv, srv.HostKey)
	cfg.Password = testPassword + "-wrong"
	check("wrong password", cfg, "authentication failed")

	cfg.Password = ""
	cfg.IdentityFile, cfg.Passphrase = encryptedKey(t, testPassphrase), testPassphrase+"-wrong"
	check("wrong passphrase", cfg, "passphrase")

	// The right password: the server lets us in but refuses sessions.
	cfg = goServerConfig(t, srv, srv.HostKey)
	cfg.Password = testPassword
	check("session refused", cfg, "open session")

	// known_hosts names another key for this address.
	other := sshdtest.StartGoServer(t, false, "", nil)
	cfg = goServerConfig(t, srv, other.HostKey)
	cfg.Password = testPassword
	check("host key refused", cfg, "host key mismatch")
}

func TestSSHRealServer(t *testing.T) {
	r := startRemote(t, newNS(t, "ssh"))
	ctx := context.Background()
	dir := t.TempDir()

	t.Run("ok", func(t *testing.T) {
		var out bytes.Buffer
		oc, err := NewSSH(r.cfg, "echo to-stdout; echo to-stderr >&2", "").Fire(ctx, &out)
		if err != nil || oc.ExitCode != 0 {
			t.Fatalf("Fire: %+v, %v", oc, err)
		}
		if !strings.Contains(out.String(), "to-stdout") || !strings.Contains(out.String(), "to-stderr") {
			t.Errorf("output %q lacks stdout or stderr", out.String())
		}
		if strings.Contains(out.String(), "downtime-pid") {
			t.Errorf("the PID announcement leaked into the output: %q", out.String())
		}
	})
	t.Run("exit-status", func(t *testing.T) {
		var out bytes.Buffer
		oc, err := NewSSH(r.cfg, "echo bye; exit 3", "").Fire(ctx, &out)
		if err == nil || err.Error() != "exit status 3" || oc.ExitCode != 3 {
			t.Fatalf("Fire: %+v, %v; want exit status 3", oc, err)
		}
		if !strings.Contains(out.String(), "bye") {
			t.Errorf("output %q", out.String())
		}
	})
	t.Run("streams", func(t *testing.T) {
		// The command prints, then waits for a file the test creates only
		// once it has seen the first line: output must arrive while the
		// command still runs.
		gate := filepath.Join(dir, "gate")
		cmd := fmt.Sprintf("echo first; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo second", ShellQuote(gate))
		out := newSyncBuffer()
		type result struct {
			oc  Outcome
			err error
		}
		done := make(chan result, 1)
		go func() {
			oc, err := NewSSH(r.cfg, cmd, "").Fire(ctx, out)
			done <- result{oc, err}
		}()
		out.waitFor(t, "first", 30*time.Second)
		if strings.Contains(out.String(), "second") {
			t.Fatal("second line before the gate opened")
		}
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.err != nil || !strings.Contains(out.String(), "second") {
			t.Fatalf("Fire: %v, output %q", res.err, out.String())
		}
	})
	t.Run("connection-lost", func(t *testing.T) {
		gate := filepath.Join(dir, "gate-lost")
		t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o644) }) // ends the remote loop
		cmd := fmt.Sprintf("echo started; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done", ShellQuote(gate))
		out := newSyncBuffer()
		done := make(chan error, 1)
		go func() {
			_, err := NewSSH(r.cfg, cmd, "").Fire(ctx, out)
			done <- err
		}()
		out.waitFor(t, "started", 30*time.Second)
		r.proxy.Reset()
		err := <-done
		if err == nil || !strings.Contains(err.Error(), "connection lost") || !strings.Contains(err.Error(), "reset") {
			t.Fatalf("err = %v, want connection lost with the reset", err)
		}
		t.Logf("connection lost: %v", err)
	})
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the ")" that ends the command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitGone waits until none of pids runs, failing t after limit.
func waitGone(t *testing.T, limit time.Duration, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("remote process %d still running %v after the trigger returned", pid, limit)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// readPIDs waits for path to hold n PIDs, one a line.
func readPIDs(t *testing.T, path string, n int, limit time.Duration) []int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		b, _ := os.ReadFile(path)
		if f := strings.Fields(string(b)); len(f) == n && strings.HasSuffix(string(b), "\n") {
			pids := make([]int, n)
			for i, s := range f {
				pid, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("%s: %q", path, b)
				}
				pids[i] = pid
			}
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d PIDs in %s after %v: %q", n, path, limit, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSSHKillsRemoteCommand cancels a hung remote command and checks on
// the server that it is really gone: the shell and its child sleep.
func TestSSHKillsRemoteCommand(t *testing.T) {
	r := startRemote(t, newNS(t, "kill"))
	dir := t.TempDir()
	hung := func(pidFile string) string {
		return fmt.Sprintf("sleep 300 & echo $$ $! > %s; wait", ShellQuote(pidFile))
	}

	t.Run("SSHExec-client-kept-open", func(t *testing.T) {
		// The client stays open, so nothing but the SIGKILL can end the
		// command (a session without a pty is not hung up on close).
		client, err := sshdial.Dial(context.Background(), r.cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		pidFile := filepath.Join(dir, "exec.pid")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out bytes.Buffer
		type result struct {
			code int
			err  error
		}
		done := make(chan result, 1)
		go func() {
			code, err := SSHExec(ctx, client, hung(pidFile), &out)
			done <- result{code, err}
		}()
		pids := readPIDs(t, pidFile, 2, 30*time.Second)
		cancel()
		res := <-done
		if !errors.Is(res.err, context.Canceled) {
			t.Fatalf("SSHExec: %v, want context.Canceled", res.err)
		}
		waitGone(t, 10*time.Second, pids...)
		if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
			t.Errorf("client closed by SSHExec: %v", err)
		}
		if !strings.Contains(out.String(), "SIGKILL") {
			t.Errorf("output %q does not say the command was killed", out.String())
		}
		t.Logf("exit code after kill: %d", res.code)
	})
	t.Run("Fire-cancelled", func(t *testing.T) {
		pidFile := filepath.Join(dir, "fire.pid")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := NewSSH(r.cfg, hung(pidFile), "").Fire(ctx, &bytes.Buffer{})
			done <- err
		}()
		pids := readPIDs(t, pidFile, 2, 30*time.Second)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Fire: %v, want context.Canceled", err)
		}
		waitGone(t, 10*time.Second, pids...)
	})
}

func TestPIDFilter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks func(marker string) []string
		want   string
		pid    int
	}{
		{"marker first", func(m string) []string { return []string{m + "4242\nerr 1\n", "err 2\n"} }, "err 1\nerr 2\n", 4242},
		{"marker split", func(m string) []string { return []string{m[:5], m[5:] + "42", "42\nafter"} }, "after", 4242},
		{"lines before", func(m string) []string { return []string{"from .bashrc\n", m + "77\n", "x\n"} }, "from .bashrc\nx\n", 77},
		{"no marker", func(string) []string { return []string{"csh: printf: not found\n", "partial"} }, "csh: printf: not found\npartial", 0},
		{"forged", func(string) []string { return []string{"downtime-pid-0000000000000000:99\n"} }, "downtime-pid-0000000000000000:99\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			f := newPIDFilter(&out)
			for _, c := range tc.chunks(string(f.marker)) {
				if n, err := f.Write([]byte(c)); n != len(c) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			f.flush()
			if out.String() != tc.want {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
			if pid := f.wait(time.Millisecond); pid != tc.pid {
				t.Errorf("pid %d, want %d", pid, tc.pid)
			}
		})
	}
}

// TestSSHExecCancelDeadNetwork cancels a command after the path to the
// server went silent (DROP rules in the server's namespace): SSHExec must
// still return, even though neither the signal nor the kill can arrive.
func TestSSHExecCancelDeadNetwork(t *testing.T) {
	ns := newNS(t, "dead")
	r := startRemote(t, ns)
	client, err := sshdial.Dial(context.Background(), r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	gate := filepath.Join(t.TempDir(), "gate")
	t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o644) }) // ends the remote loop
	cmd := fmt.Sprintf("echo started; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done", ShellQuote(gate))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		_, err := SSHExec(ctx, client, cmd, out)
		done <- err
	}()
	out.waitFor(t, "started", 30*time.Second)
	b, err := netns.NewBlocker(ns.Name, netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if _, err := b.Block(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("SSHExec: %v, want context.Canceled", err)
		}
		t.Logf("returned %v after the cancel, network dead", time.Since(start))
	case <-time.After(60 * time.Second):
		t.Fatal("SSHExec still blocked 60s after the cancel")
	}
}

// TestSSHLinkBlackholed: the path to the host drops everything (no reset,
// no close) while a command runs. The trigger's keepalive notices, and the
// step fails with a transport error long before its own timeout.
func TestSSHLinkBlackholed(t *testing.T) {
	ns := newNS(t, "hole")
	r := startRemote(t, ns)
	every, limit := keepAliveEvery, keepAliveTimeout
	keepAliveEvery, keepAliveTimeout = 200*time.Millisecond, time.Second
	t.Cleanup(func() { keepAliveEvery, keepAliveTimeout = every, limit })

	gate := filepath.Join(t.TempDir(), "gate")
	t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o644) }) // ends the remote loop
	cmd := fmt.Sprintf("echo started; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done", ShellQuote(gate))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		_, err := NewSSH(r.cfg, cmd, ShellPOSIX).Fire(ctx, out)
		done <- err
	}()
	out.waitFor(t, "started", 30*time.Second)
	b, err := netns.NewBlocker(ns.Name, netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if _, err := b.Block(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no answer to an SSH keepalive") || ctx.Err() != nil {
			t.Fatalf("Fire: %v (ctx %v), want a lost connection", err, ctx.Err())
		}
		t.Logf("Fire: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the trigger did not notice the dead link within 30 s")
	}
}
