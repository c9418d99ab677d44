package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"debug/elf"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// labKeys are the lab's SSH keys, made fresh at every lab up.
type labKeys struct {
	ClientKey      string // private key file for probes (0600)
	KnownHosts     string // the guest's host key, for host key checking
	authorizedKeys []byte
	hostKey        []byte // dropbear's private host key, for the guest only
}

// makeKeys generates the probes' client key (OpenSSH format) and the
// guest's dropbear host key (with dropbearkey, since dropbear reads its own
// format), and writes a known_hosts file naming the guest's addresses.
func makeKeys(ctx context.Context, stateDir string, guestAddrs []string) (*labKeys, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "downtime-lab")
	if err != nil {
		return nil, err
	}
	k := &labKeys{
		ClientKey:  filepath.Join(stateDir, "id_ed25519"),
		KnownHosts: filepath.Join(stateDir, "known_hosts"),
	}
	if err := os.WriteFile(k.ClientKey, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	k.authorizedKeys = ssh.MarshalAuthorizedKey(sshPub)

	hostKeyFile := filepath.Join(stateDir, "dropbear_ed25519_host_key")
	_ = os.Remove(hostKeyFile) // dropbearkey refuses to overwrite
	if out, err := exec.CommandContext(ctx, "dropbearkey", "-t", "ed25519", "-f", hostKeyFile).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dropbearkey: %w: %s", err, lastLine(out))
	}
	if k.hostKey, err = os.ReadFile(hostKeyFile); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "dropbearkey", "-y", "-f", hostKeyFile).Output()
	if err != nil {
		return nil, fmt.Errorf("dropbearkey -y: %w", err)
	}
	hostPub, err := parseDropbearPub(out)
	if err != nil {
		return nil, err
	}
	line := knownhosts.Line(guestAddrs, hostPub) + "\n"
	if err := os.WriteFile(k.KnownHosts, []byte(line), 0o644); err != nil {
		return nil, err
	}
	return k, nil
}

// parseDropbearPub finds the OpenSSH public key line in `dropbearkey -y`
// output.
func parseDropbearPub(out []byte) (ssh.PublicKey, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "ssh-") {
			pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
			if err != nil {
				return nil, fmt.Errorf("dropbearkey -y: %w", err)
			}
			return pk, nil
		}
	}
	return nil, fmt.Errorf("dropbearkey -y printed no public key")
}

// writeInitrd writes the guest's initrd: the cached base archive followed
// by a small archive with this lab's secrets. The kernel unpacks
// concatenated cpio archives in order.
func writeInitrd(path, base string, k *labKeys, community string) error {
	return writeFileAtomic(path, 0o600, func(w io.Writer) error {
		f, err := os.Open(base)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		cw := newCPIOWriter(w)
		cw.Dir("root", 0o700)
		cw.Dir("root/.ssh", 0o700)
		cw.File("root/.ssh/authorized_keys", 0o600, k.authorizedKeys)
		cw.Dir("etc/dropbear", 0o700)
		cw.File("etc/dropbear/dropbear_ed25519_host_key", 0o600, k.hostKey)
		cw.Dir("etc/snmp", 0o755)
		conf := fmt.Sprintf("rocommunity %s default\nrocommunity6 %s default\n", community, community)
		cw.File("etc/snmp/snmpd.conf", 0o600, []byte(conf))
		return cw.Close()
	})
}

// isDynamic reports whether an ELF binary needs a dynamic loader.
func isDynamic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}
