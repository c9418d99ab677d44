// Package sshdtest gives tests real SSH peers: an OpenSSH sshd started in a
// network namespace, and a minimal in-process x/crypto/ssh server for
// loopback tests that need no root. Only tests import it.
package sshdtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is a running OpenSSH server and the client-side files to reach it.
type SSHD struct {
	Addr         netip.Addr
	Port         int
	User         string
	IdentityFile string        // client private key, authorized on the server
	KnownHosts   string        // holds the server's host key (line 3)
	HostKey      ssh.PublicKey // the server's host key
	Dir          string
	PID          int // sshd listener
	log          *syncBuffer
}

// HostPort returns "host:port" of the server.
func (s *SSHD) HostPort() string { return net.JoinHostPort(s.Addr.String(), strconv.Itoa(s.Port)) }

// Log returns what sshd wrote so far (-e: its log goes to stderr).
func (s *SSHD) Log() string { return s.log.String() }

// NeedSSHD skips t unless OpenSSH's sshd and ssh-keygen are installed.
func NeedSSHD(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"/usr/sbin/sshd", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip("needs OpenSSH server (apt-get install openssh-server): " + bin + " not found")
		}
	}
}

// Keygen writes a new unencrypted (passphrase "") ed25519 key pair at path
// and path.pub and returns the public key.
func Keygen(t testing.TB, path, passphrase string) ssh.PublicKey {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "downtime-test", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// WriteKnownHosts writes a known_hosts file whose line 3 holds key for
// hostport (hashed if hashed is set); lines 1-2 are a comment and another
// host, so tests can check line numbers.
func WriteKnownHosts(t testing.TB, path, hostport string, key ssh.PublicKey, hashed bool) {
	t.Helper()
	host := knownhosts.Normalize(hostport)
	if hashed {
		host = knownhosts.HashHostname(host)
	}
	other := knownhosts.Line([]string{"[192.0.2.77]:2222"}, key)
	content := "# written by a downtime test\n" + other + "\n" + host + " " + string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(key))) + "\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// StartSSHD runs a real sshd (-D -e) inside ns, listening on addr:port,
// accepting a fresh client key for root, and stops it (by PID, with its
// process group) when t ends.
func StartSSHD(t testing.TB, ns *netns.NS, addr netip.Addr, port int) *SSHD {
	t.Helper()
	NeedSSHD(t)
	// Privilege separation needs this directory; the Debian package's
	// service would create it, but no service runs here.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("create /run/sshd: %v", err)
	}
	dir := t.TempDir()
	s := &SSHD{Addr: addr, Port: port, User: "root", Dir: dir, log: &syncBuffer{}}
	s.HostKey = Keygen(t, filepath.Join(dir, "host_ed25519"), "")
	s.IdentityFile = filepath.Join(dir, "id_ed25519")
	Keygen(t, s.IdentityFile, "")
	pub, err := os.ReadFile(s.IdentityFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	WriteKnownHosts(t, s.KnownHosts, s.HostPort(), s.HostKey, false)
	conf := fmt.Sprintf(`Port %d
ListenAddress %s
HostKey %s
AuthorizedKeysFile %s
UsePAM no
StrictModes no
PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel VERBOSE
`, port, addr, filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "authorized_keys"))
	confPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := ns.Command(context.Background(), "/usr/sbin/sshd", "-D", "-e", "-f", confPath)
	// Own process group: cleanup kills the listener and its per-connection
	// children by this group's id, and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	s.PID = cmd.Process.Pid
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			s.log.WriteLine(sc.Text())
			if strings.Contains(sc.Text(), "Server listening on") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-s.PID, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Errorf("sshd %d did not exit", s.PID)
		}
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.Log())
		}
	})
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("sshd exited at start: %v\n%s", err, s.Log())
	case <-time.After(10 * time.Second):
		t.Fatalf("sshd not listening after 10s:\n%s", s.Log())
	}
	return s
}

// syncBuffer collects log lines from a goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) WriteLine(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
	b.b.WriteByte('\n')
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
