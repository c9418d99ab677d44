package sshdial

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authMethods builds the authentication methods cfg asks for, in the order
// OpenSSH tries them: key file, agent, password. The returned func closes
// the agent connection, if one was opened.
func authMethods(cfg Config) ([]ssh.AuthMethod, func(), error) {
	var methods []ssh.AuthMethod
	closeFn := func() {}
	if cfg.IdentityFile != "" {
		signer, err := loadKey(cfg)
		if err != nil {
			return nil, closeFn, err
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	if cfg.UseAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, closeFn, errors.New("use of the SSH agent asked for, but SSH_AUTH_SOCK is not set")
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, closeFn, fmt.Errorf("connect to the SSH agent: %w", err)
		}
		closeFn = func() { conn.Close() }
		methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	if cfg.Password != "" {
		pw := cfg.Password
		methods = append(methods, ssh.Password(pw),
			// Servers with PAM often offer only keyboard-interactive; answer
			// its hidden prompts with the password.
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					if !echos[i] {
						answers[i] = pw
					}
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		closeFn()
		return nil, func() {}, errors.New("no authentication method: set an identity file, the agent or a password")
	}
	return methods, closeFn, nil
}

// loadKey reads and decrypts cfg.IdentityFile. Errors name the file, never
// the passphrase.
func loadKey(cfg Config) (ssh.Signer, error) {
	path := cfg.IdentityFile
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("identity file %s is a directory", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		cfg.warn("identity file %s is readable by group or others (mode %#o); run chmod 600 on it", path, perm)
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return signer, nil
	case errors.As(err, &missing) && cfg.Passphrase == "":
		return nil, fmt.Errorf("identity file %s is encrypted and no passphrase is set", path)
	case errors.As(err, &missing):
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(cfg.Passphrase))
		if err != nil {
			// x/crypto reports a wrong passphrase as x509.IncorrectPasswordError
			// or a decryption failure; neither carries the passphrase.
			return nil, fmt.Errorf("identity file %s: cannot decrypt it with the passphrase given (wrong passphrase?)", path)
		}
		return signer, nil
	default:
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
}
