package sshdial

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial/sshdtest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

const (
	testPassword   = "pw-Zq8!secret-never-shown"
	testPassphrase = "pp-Kx3!secret-never-shown"
)

// newKey writes a fresh ed25519 key (encrypted if passphrase != "") with
// the given mode and returns its path, signer.
func newKey(t *testing.T, passphrase string, mode os.FileMode) (string, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return path, signer
}

func splitAddr(t *testing.T, hostport string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// configFor returns a Config for srv with known_hosts holding key.
func configFor(t *testing.T, srv *sshdtest.GoServer, key ssh.PublicKey, hashed bool) Config {
	t.Helper()
	host, port := splitAddr(t, srv.Addr)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	sshdtest.WriteKnownHosts(t, kh, srv.Addr, key, hashed)
	return Config{Host: host, Port: port, User: "probe", KnownHosts: kh, Timeout: 5 * time.Second}
}

func dialOK(t *testing.T, cfg Config) {
	t.Helper()
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Fatalf("keepalive: %v", err)
	}
}

func TestDialKey(t *testing.T) {
	key, signer := newKey(t, "", 0o600)
	for _, tc := range []struct {
		name         string
		ipv6, hashed bool
	}{{"v4", false, false}, {"v4-hashed", false, true}, {"v6", true, false}, {"v6-hashed", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sshdtest.StartGoServer(t, tc.ipv6, "", signer.PublicKey())
			cfg := configFor(t, srv, srv.HostKey, tc.hashed)
			cfg.IdentityFile = key
			dialOK(t, cfg)
		})
	}
}

func TestDialPassword(t *testing.T) {
	srv := sshdtest.StartGoServer(t, false, testPassword, nil)
	cfg := configFor(t, srv, srv.HostKey, false)
	cfg.Password = testPassword
	dialOK(t, cfg)

	cfg.Password = testPassword + "-wrong"
	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("wrong password: err = %v, want authentication failed", err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestDialPassphrase(t *testing.T) {
	key, signer := newKey(t, testPassphrase, 0o600)
	srv := sshdtest.StartGoServer(t, false, "", signer.PublicKey())
	cfg := configFor(t, srv, srv.HostKey, false)
	cfg.IdentityFile = key
	cfg.Passphrase = testPassphrase
	dialOK(t, cfg)

	cfg.Passphrase = testPassphrase + "-wrong"
	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") || strings.Contains(err.Error(), testPassphrase) {
		t.Fatalf("wrong passphrase: err = %v", err)
	}
	cfg.Passphrase = ""
	_, err = Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("no passphrase: err = %v", err)
	}
}

func TestDialAgent(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _ = agent.ServeAgent(keyring, c) }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	srv := sshdtest.StartGoServer(t, false, "", signer.PublicKey())
	cfg := configFor(t, srv, srv.HostKey, false)
	cfg.UseAgent = true
	dialOK(t, cfg)
}

func TestDialHostKeyMismatch(t *testing.T) {
	key, signer := newKey(t, "", 0o600)
	srv := sshdtest.StartGoServer(t, false, "", signer.PublicKey())
	cfg := configFor(t, srv, signer.PublicKey(), false) // a key that is not the host's
	cfg.IdentityFile = key
	_, err := Dial(context.Background(), cfg)
	want := []string{"ssh " + srv.Addr + ": host key mismatch", "ED25519 " + ssh.FingerprintSHA256(srv.HostKey), cfg.KnownHosts + " (line 3)"}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Fatalf("err = %v, want it to contain %q", err, w)
		}
	}
	t.Logf("mismatch: %v", err)
}

func TestDialHostUnknown(t *testing.T) {
	key, signer := newKey(t, "", 0o600)
	srv := sshdtest.StartGoServer(t, false, "", signer.PublicKey())
	other := sshdtest.StartGoServer(t, false, "", nil)
	cfg := configFor(t, other, srv.HostKey, false) // known_hosts names only the other server
	host, port := splitAddr(t, srv.Addr)
	cfg.Host, cfg.Port, cfg.IdentityFile = host, port, key
	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no key for host") || !strings.Contains(err.Error(), "ssh-keyscan -p "+strconv.Itoa(port)) {
		t.Fatalf("err = %v, want no key for host with an ssh-keyscan hint", err)
	}
	t.Logf("unknown: %v", err)

	cfg.InsecureIgnoreHostKey = true
	dialOK(t, cfg)
	if w := InsecureWarning(host); !strings.Contains(w, "WARNING") || !strings.Contains(w, host) {
		t.Errorf("InsecureWarning = %q", w)
	}
}

func TestDialHandshakeTimeout(t *testing.T) {
	// Accepts TCP and never sends the SSH banner.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	defer func() {
		ln.Close()
		<-accepted
		for _, c := range held {
			c.Close()
		}
	}()
	key, _ := newKey(t, "", 0o600)
	host, port := splitAddr(t, ln.Addr().String())
	cfg := Config{Host: host, Port: port, User: "probe", IdentityFile: key, InsecureIgnoreHostKey: true, Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err = Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "handshake timed out after 300ms") {
		t.Fatalf("err = %v, want handshake timed out after 300ms", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("returned after %v, before the deadline", took)
	}

	// Cancelling ctx interrupts the handshake too.
	cfg.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = Dial(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled: err = %v", err)
	}
}

func TestDialBadSettings(t *testing.T) {
	key, _ := newKey(t, "", 0o644)
	var warnings []string
	base := Config{Host: "127.0.0.1", Port: 1, User: "u", InsecureIgnoreHostKey: true, Timeout: time.Second,
		Warn: func(m string) { warnings = append(warnings, m) }}

	cfg := base
	cfg.IdentityFile = filepath.Join(t.TempDir(), "missing")
	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "identity file") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing key: err = %v", err)
	}

	cfg = base
	_, err = Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no authentication method") {
		t.Errorf("no auth: err = %v", err)
	}

	cfg = base
	cfg.IdentityFile = key
	_, _ = Dial(context.Background(), cfg) // port 1: refused, after loading the key
	if len(warnings) != 1 || !strings.Contains(warnings[0], "readable by group or others") {
		t.Errorf("warnings = %q, want one about the key's mode", warnings)
	}

	cfg = base
	cfg.IdentityFile, cfg.InsecureIgnoreHostKey = key, false
	cfg.KnownHosts = filepath.Join(t.TempDir(), "none")
	_, err = Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "known_hosts") {
		t.Errorf("missing known_hosts: err = %v", err)
	}

	cfg = base
	cfg.UseAgent = true
	t.Setenv("SSH_AUTH_SOCK", "")
	_, err = Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Errorf("agent without socket: err = %v", err)
	}
}
