package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// GoServer is a minimal in-process SSH server on loopback: it authenticates
// by password or by one public key and answers every global request (with
// a failure reply, as OpenSSH does for keepalive@openssh.com). No shell.
type GoServer struct {
	Addr    string // host:port
	HostKey ssh.PublicKey

	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// StartGoServer listens on 127.0.0.1 (or "[::1]" if ipv6), accepting
// password (if non-empty) and clientKey (if non-nil). It stops when t ends.
func StartGoServer(t testing.TB, ipv6 bool, password string, clientKey ssh.PublicKey) *GoServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{}
	if password != "" {
		cfg.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == password {
				return nil, nil
			}
			return nil, errRefused
		}
	}
	if clientKey != nil {
		want := string(clientKey.Marshal())
		cfg.PublicKeyCallback = func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == want {
				return nil, nil
			}
			return nil, errRefused
		}
	}
	cfg.AddHostKey(signer)
	network, addr := "tcp4", "127.0.0.1:0"
	if ipv6 {
		network, addr = "tcp6", "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := &GoServer{Addr: ln.Addr().String(), HostKey: signer.PublicKey(), ln: ln}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		s.CloseConns()
		_ = ln.Close()
		wg.Wait()
	})
	return s
}

// CloseConns drops every connection accepted so far (the listener stays).
func (s *GoServer) CloseConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

func serve(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs) // replies false to want-reply requests
	for nc := range chans {
		_ = nc.Reject(ssh.Prohibited, "no channels here")
	}
}

type refused struct{}

func (refused) Error() string { return "refused" }

var errRefused error = refused{}
