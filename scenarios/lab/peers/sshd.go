package peers

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshdPath is where Debian's openssh-server puts the daemon.
const sshdPath = "/usr/sbin/sshd"

// SSHD is a running OpenSSH server that accepts one fresh client key for
// root, and the client-side files to reach it with host key checking.
type SSHD struct {
	Addr         netip.Addr
	Port         int
	User         string
	IdentityFile string        // client private key (unencrypted), authorized on the server
	KnownHosts   string        // holds the server's host key for Addr:Port
	HostKey      ssh.PublicKey // the server's host key

	d *daemon
}

// StartSSHD runs sshd (-D -e) inside namespace ns, listening on addr:port,
// with its keys and configuration in dir (which must exist). It returns
// once sshd listens.
func StartSSHD(ns string, addr netip.Addr, port int, dir string) (*SSHD, error) {
	if err := need(sshdPath, "openssh-server"); err != nil {
		return nil, err
	}
	// Privilege separation needs this directory; the package's service
	// would create it, but no service runs here.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, fmt.Errorf("peers: create /run/sshd: %w", err)
	}
	s := &SSHD{Addr: addr, Port: port, User: "root",
		IdentityFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	hostKeyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	hostKey, err := writeKey(hostKeyFile)
	if err != nil {
		return nil, err
	}
	s.HostKey = hostKey
	clientKey, err := writeKey(s.IdentityFile)
	if err != nil {
		return nil, err
	}
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(clientKey), 0o600); err != nil {
		return nil, err
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(s.HostPort())}, hostKey)
	if err := os.WriteFile(s.KnownHosts, []byte(line+"\n"), 0o600); err != nil {
		return nil, err
	}
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
MaxStartups 100
`, port, addr, hostKeyFile, authorized)
	confPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	s.d, err = start(ns, "sshd", []string{sshdPath, "-D", "-e", "-f", confPath}, nil,
		func(l string) bool { return strings.Contains(l, "Server listening on") })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// HostPort returns "host:port" of the server.
func (s *SSHD) HostPort() string { return net.JoinHostPort(s.Addr.String(), strconv.Itoa(s.Port)) }

// PID is the sshd listener's process id.
func (s *SSHD) PID() int { return s.d.pid() }

// Log returns what sshd wrote so far.
func (s *SSHD) Log() string { return s.d.log.String() }

// Close stops sshd and every session it forked.
func (s *SSHD) Close() error { return s.d.close() }

// writeKey writes a new unencrypted ed25519 private key, in OpenSSH's
// format, at path and returns its public key.
func writeKey(path string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "downtime-peers")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}
