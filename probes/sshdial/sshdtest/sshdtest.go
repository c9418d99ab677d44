// Package sshdtest gives tests real SSH peers: an OpenSSH sshd started in a
// network namespace, and a minimal in-process x/crypto/ssh server for
// loopback tests that need no root. Only tests import it.
package sshdtest

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/lab/peers"
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
	Dir          string        // sshd_config, authorized_keys and the keys
	PID          int           // sshd listener
	peer         *peers.SSHD
}

// HostPort returns "host:port" of the server.
func (s *SSHD) HostPort() string { return net.JoinHostPort(s.Addr.String(), strconv.Itoa(s.Port)) }

// Log returns what sshd wrote so far (-e: its log goes to stderr).
func (s *SSHD) Log() string { return s.peer.Log() }

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
// accepting a fresh client key for root (the lab's peers.StartSSHD does
// the work), and stops it, with every session it forked, when t ends.
func StartSSHD(t testing.TB, ns *netns.NS, addr netip.Addr, port int) *SSHD {
	t.Helper()
	NeedSSHD(t)
	dir := t.TempDir()
	p, err := peers.StartSSHD(ns.Name, addr, port, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("stopping sshd: %v", err)
		}
		if t.Failed() {
			t.Logf("sshd log:\n%s", p.Log())
		}
	})
	s := &SSHD{Addr: addr, Port: port, User: p.User, IdentityFile: p.IdentityFile, KnownHosts: p.KnownHosts,
		HostKey: p.HostKey, Dir: dir, PID: p.PID(), peer: p}
	// Tests check that errors name the known_hosts line: put it on line 3.
	WriteKnownHosts(t, s.KnownHosts, s.HostPort(), s.HostKey, false)
	return s
}
