package triggers

import (
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial"
	"github.com/downtime-lab/downtime/probes/sshdial/sshdtest"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// The remote tests run a real OpenSSH sshd inside a network namespace,
// listening on that namespace's loopback, so that it keeps answering while
// a test takes the namespace's other links down. The test process reaches
// it through nsProxy: a listener on the root namespace's loopback whose
// upstream sockets are opened inside the namespace. The proxy also lets a
// test cut a connection mid-command.

const sshdPort = 2222

// newNS returns a fresh namespace, deleted when t ends.
func newNS(t *testing.T, role string) *netns.NS {
	t.Helper()
	netns.NeedRoot(t)
	n, err := netns.New(netns.UniqueName(role))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close netns: %v", err)
		}
	})
	return n
}

// remoteHost is an sshd in a namespace and the settings to reach it.
type remoteHost struct {
	sshd  *sshdtest.SSHD
	proxy *nsProxy
	cfg   sshdial.Config
}

// startRemote starts sshd inside ns and returns how to reach it as root.
func startRemote(t *testing.T, ns *netns.NS) *remoteHost {
	t.Helper()
	s := sshdtest.StartSSHD(t, ns, netip.MustParseAddr("127.0.0.1"), sshdPort)
	px := startProxy(t, ns, s.HostPort())
	kh := filepath.Join(t.TempDir(), "known_hosts")
	sshdtest.WriteKnownHosts(t, kh, px.addr, s.HostKey, false)
	host, port := splitHostPort(t, px.addr)
	return &remoteHost{sshd: s, proxy: px, cfg: sshdial.Config{
		Host: host, Port: port, User: s.User, IdentityFile: s.IdentityFile,
		KnownHosts: kh, Timeout: 10 * time.Second,
	}}
}

func splitHostPort(t *testing.T, hostport string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, n
}

// nsProxy forwards connections from the root namespace's loopback to
// target inside a namespace.
type nsProxy struct {
	addr  string
	ln    net.Listener
	mu    sync.Mutex
	conns []*net.TCPConn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, ns *netns.NS, target string) *nsProxy {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &nsProxy{addr: ln.Addr().String(), ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var up net.Conn
			err = ns.Do(func() error {
				var err error
				up, err = net.DialTimeout("tcp", target, 5*time.Second)
				return err
			})
			if err != nil {
				t.Logf("proxy: dial %s in %s: %v", target, ns.Name, err)
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c.(*net.TCPConn), up.(*net.TCPConn))
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.Reset()
		p.wg.Wait()
	})
	return p
}

func (p *nsProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.(*net.TCPConn).CloseWrite()
}

// Reset aborts every connection with a TCP reset, as a crashed peer or a
// middlebox would.
func (p *nsProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.SetLinger(0)
		_ = c.Close()
	}
	p.conns = nil
}

// syncBuffer is an io.Writer safe for concurrent use that can wait for a
// string to appear.
type syncBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the buffer holds want, failing t after limit (a
// bound against hanging, not a speed expectation).
func (s *syncBuffer) waitFor(t *testing.T, want string, limit time.Duration) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !strings.Contains(s.String(), want) {
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("no %q in output after %v:\n%s", want, limit, s.String())
		}
	}
}
