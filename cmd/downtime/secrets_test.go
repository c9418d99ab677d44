package main

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/downtime-lab/downtime/probes/sshdial/sshdtest"
	"github.com/downtime-lab/downtime/scenarios"
)

func secret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "sekrit" + hex.EncodeToString(b)
}

// A run with a key passphrase (ssh probe on a real sshd), an SNMP
// community (real snmpd) and an SSH password (the in-process server, on
// the client namespace's loopback): none of them appears in any file of
// the run directory nor in the output. Files are 0644, the directory
// 0755, and a key readable by others is warned about.
func TestNoSecretLeaks(t *testing.T) {
	sshdtest.NeedSSHD(t)
	p := pair(t)
	server := p.Server4.String()
	community, passphrase, password := secret(t), secret(t), secret(t)
	startSNMPD(t, p.Server, server, community)
	sshd := startSSHD(t, p)

	// A second client key, with a passphrase, readable by all: a warning.
	key := filepath.Join(t.TempDir(), "id_pass")
	sshdtest.Keygen(t, key, passphrase)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(key + ".pub")
	auth, err := os.OpenFile(filepath.Join(sshd.Dir, "authorized_keys"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = auth.Write(pub)
	auth.Close()
	if err != nil {
		t.Fatal(err)
	}

	// The password server listens on the client namespace's loopback.
	var gs *sshdtest.GoServer
	if err := p.Client.Do(func() error {
		gs = sshdtest.StartGoServer(t, false, password, nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, gport, _ := net.SplitHostPort(gs.Addr)
	known := filepath.Join(t.TempDir(), "known_hosts")
	sshdtest.WriteKnownHosts(t, known, gs.Addr, gs.HostKey, false)

	sc := writeScenario(t, `name: secrets
netns: %s
targets:
  guest: {address: %s}
  local: {address: 127.0.0.1}
probes:
  - {name: snmp, kind: snmp, target: guest, interval: 100ms, community_env: DT_TEST_COMMUNITY}
  - {name: sshkey, kind: ssh, target: guest, interval: 100ms, user: root, identity_file: %s, passphrase_env: DT_TEST_PASSPHRASE, known_hosts: %s}
  - {name: sshpw, kind: ssh, target: local, port: %s, interval: 100ms, user: probe, password_env: DT_TEST_PASSWORD, known_hosts: %s}
baseline: 500ms
settle: 300ms
triggers:
  - {name: pause, kind: wait, duration: 200ms}
`, p.Client.Name, server, key, sshd.KnownHosts, gport, known)
	dir := filepath.Join(t.TempDir(), "run")
	env := []string{"DT_TEST_COMMUNITY=" + community, "DT_TEST_PASSPHRASE=" + passphrase, "DT_TEST_PASSWORD=" + password}
	c := runCLI(t, env, "run", "-q", "-o", dir, sc)
	if c.code != scenarios.ExitPass {
		t.Fatalf("exit %d, want %d", c.code, scenarios.ExitPass)
	}
	if !strings.Contains(c.output(), "readable by group or others") {
		t.Error("no warning about the key file readable by others")
	}
	// The report too (gives the probes' figures, never a secret).
	r := runCLI(t, env, "report", dir)
	rd := readRunDir(t, dir)
	for _, ps := range rd.summary.Probes {
		if ps.Received == 0 {
			t.Errorf("probe %s never got an answer: the secrets did not work", ps.Name)
		}
	}

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run directory mode %v (%v), want 0755", fi.Mode(), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"community": community, "passphrase": passphrase, "password": password}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", e.Name(), fi.Mode())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for what, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds the %s", e.Name(), what)
			}
		}
	}
	for what, s := range secrets {
		if strings.Contains(c.output()+r.output(), s) {
			t.Errorf("the output shows the %s", what)
		}
	}
	t.Logf("checked %d files and the output for 3 secrets", len(entries))
}
