// Package sshdial turns user settings into an authenticated SSH client.
//
// It is the one place where downtime opens SSH connections: the ssh probe
// and the ssh, virsh and link triggers all dial through Dial, so host key
// checking, authentication and deadlines behave the same everywhere.
//
// Host keys are verified against a known_hosts file (hashed entries,
// "[host]:port" entries and IPv6 addresses work as in OpenSSH) unless the
// caller explicitly sets InsecureIgnoreHostKey; in that case the caller
// prints InsecureWarning. Secrets (password, passphrase) never appear in an
// error or a warning.
package sshdial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultTimeout bounds connect, handshake and authentication together
// when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config is what Dial needs. The caller has already read every value from
// the scenario and the environment; none of them is ever logged.
type Config struct {
	Host string // host name or address (IPv4, IPv6 without brackets)
	Port int    // 0 means 22
	User string

	IdentityFile string // private key file (OpenSSH or PEM format)
	Passphrase   string // for an encrypted IdentityFile
	Password     string // password (and keyboard-interactive) authentication
	UseAgent     bool   // ask the agent at $SSH_AUTH_SOCK for keys

	KnownHosts            string // known_hosts file; "" means ~/.ssh/known_hosts
	InsecureIgnoreHostKey bool   // accept any host key (the caller warns loudly)

	// Timeout bounds connect, handshake and authentication together;
	// 0 means DefaultTimeout.
	Timeout time.Duration

	// Warn, if set, receives warnings about the settings (e.g. a key file
	// readable by others). Dial never prints.
	Warn func(msg string)
}

// Addr is the "host:port" Dial connects to ("[v6]:port" for IPv6).
func (c Config) Addr() string {
	port := c.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c Config) warn(format string, args ...any) {
	if c.Warn != nil {
		c.Warn(fmt.Sprintf(format, args...))
	}
}

// InsecureWarning is the warning a caller must print when it dials host
// with InsecureIgnoreHostKey set.
func InsecureWarning(host string) string {
	return "WARNING: SSH host key checking is OFF for " + host +
		" (insecure_ignore_host_key): anyone on the network path can impersonate it; " +
		"add its key to known_hosts instead (ssh-keyscan)"
}

// Dial connects to cfg.Addr(), verifies the host key, authenticates and
// returns the client. Connect, handshake and authentication all run under
// ctx and under one deadline of cfg.Timeout: ssh.ClientConfig.Timeout
// alone would bound only the TCP connect, and a server that accepts but
// never speaks would hang the caller forever.
func Dial(ctx context.Context, cfg Config) (*ssh.Client, error) {
	addr := cfg.Addr()
	fail := func(err error) error { return fmt.Errorf("ssh %s: %w", addr, err) }
	if cfg.Host == "" {
		return nil, errors.New("ssh: no host set")
	}
	if cfg.User == "" {
		return nil, fail(errors.New("no user set"))
	}
	auth, closeAuth, err := authMethods(cfg)
	if err != nil {
		return nil, fail(err)
	}
	defer closeAuth()
	hk, err := hostKeyChecker(cfg, addr)
	if err != nil {
		return nil, fail(err)
	}
	timeout := cfg.timeout()
	ccfg := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auth,
		HostKeyCallback:   hk.callback,
		HostKeyAlgorithms: hk.algorithms,
		Timeout:           timeout,
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded && errors.Is(err, context.DeadlineExceeded) {
			return nil, fail(fmt.Errorf("connect timed out after %v", timeout))
		}
		return nil, fail(err)
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, fail(err)
	}
	// A cancelled ctx must interrupt a handshake blocked in a read.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, ccfg)
	stopped := stop()
	if err != nil {
		conn.Close()
		return nil, fail(handshakeError(ctx, err, hk, timeout))
	}
	if !stopped {
		// AfterFunc already ran: the deadline is in the past.
		c.Close()
		return nil, fail(context.Cause(ctx))
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, fail(err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// handshakeError turns what ssh.NewClientConn returned into a clear error.
func handshakeError(ctx context.Context, err error, hk *hostKeys, timeout time.Duration) error {
	if hk.err != nil {
		return hk.err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if ctx.Err() == context.Canceled {
			return ctx.Err()
		}
		return fmt.Errorf("handshake timed out after %v", timeout)
	}
	var noAuth *ssh.ServerAuthError
	if errors.As(err, &noAuth) || isAuthFailure(err) {
		return fmt.Errorf("authentication failed: %w", unwrapHandshake(err))
	}
	return unwrapHandshake(err)
}

// unwrapHandshake drops x/crypto's "ssh: handshake failed: " wrapper.
func unwrapHandshake(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}

func isAuthFailure(err error) bool {
	return strings.Contains(err.Error(), "unable to authenticate")
}

// homeFile returns ~/rel, or rel itself if the home directory is unknown.
func homeFile(rel string) string {
	home, err := os.UserHomeDir()
	if err != nil {
		return rel
	}
	return filepath.Join(home, rel)
}
