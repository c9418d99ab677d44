package sshdial

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys checks the server's host key and remembers why it refused one,
// so Dial can report that instead of x/crypto's generic handshake error.
type hostKeys struct {
	callback   ssh.HostKeyCallback
	algorithms []string // the algorithms of the keys known for the host
	err        error    // set when callback refused the key
}

// HostKeyError says why a server's host key was refused.
type HostKeyError struct {
	Addr       string // host:port dialled
	Offered    string // key type and SHA256 fingerprint offered
	KnownHosts string // the file consulted
	Lines      []int  // lines holding other keys for the host; none if unknown
	Revoked    bool   // the key is marked @revoked
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key %s is marked @revoked in %s", e.Offered, e.KnownHosts)
	case len(e.Lines) == 0:
		host, port, _ := net.SplitHostPort(e.Addr)
		return fmt.Sprintf("no key for host in %s (add it with ssh-keyscan -p %s %s >> %s, after checking its fingerprint)",
			e.KnownHosts, port, host, e.KnownHosts)
	default:
		lines := make([]string, len(e.Lines))
		for i, l := range e.Lines {
			lines[i] = strconv.Itoa(l)
		}
		word := "line"
		if len(lines) > 1 {
			word = "lines"
		}
		return fmt.Sprintf("host key mismatch: the key offered (%s) is not the one in %s (%s %s)",
			e.Offered, e.KnownHosts, word, strings.Join(lines, ", "))
	}
}

// hostKeyChecker builds the host key callback cfg asks for.
func hostKeyChecker(cfg Config, addr string) (*hostKeys, error) {
	hk := &hostKeys{}
	if cfg.InsecureIgnoreHostKey {
		hk.callback = ssh.InsecureIgnoreHostKey()
		return hk, nil
	}
	file := cfg.KnownHosts
	if file == "" {
		file = homeFile(".ssh/known_hosts")
	}
	check, err := knownhosts.New(file)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w (add the host with ssh-keyscan, or set insecure_ignore_host_key)", err)
	}
	hk.algorithms = knownAlgorithms(check, addr)
	hk.callback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		if err == nil {
			return nil
		}
		e := &HostKeyError{Addr: addr, Offered: describe(key), KnownHosts: file}
		var keyErr *knownhosts.KeyError
		var revoked *knownhosts.RevokedError
		switch {
		case errors.As(err, &keyErr):
			for _, w := range keyErr.Want {
				e.Lines = append(e.Lines, w.Line)
			}
		case errors.As(err, &revoked):
			e.Revoked = true
		default:
			hk.err = fmt.Errorf("host key %s refused: %w", e.Offered, err)
			return hk.err
		}
		hk.err = e
		return e
	}
	return hk, nil
}

// describe names a key as OpenSSH does: "ED25519 SHA256:...".
func describe(key ssh.PublicKey) string {
	t := strings.TrimPrefix(key.Type(), "ssh-")
	switch {
	case strings.HasPrefix(t, "ecdsa"):
		t = "ECDSA"
	default:
		t = strings.ToUpper(t)
	}
	return t + " " + ssh.FingerprintSHA256(key)
}

// knownAlgorithms asks the known_hosts checker which keys it holds for addr
// (by offering a throwaway key) and returns their algorithms. Negotiating
// only those keeps a server that also has, say, an ECDSA key from offering
// it and failing a check its ED25519 key would pass.
func knownAlgorithms(check ssh.HostKeyCallback, addr string) []string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	// The remote address only matters when addr is empty; ours never is.
	if err := check(addr, &net.TCPAddr{}, probe.PublicKey()); !errors.As(err, &keyErr) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range keyErr.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// algorithmsFor maps a key type to the signature algorithms that use it.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
