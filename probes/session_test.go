package probes_test

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/probes/sshdial"
	"github.com/downtime-lab/downtime/probes/sshdial/sshdtest"
	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// These tests run real peers (OpenSSH's sshd, a socat echo service) in the
// server namespace of a veth pair and the probe in the client namespace (the
// test re-runs itself there). Outages are DROP rules added and removed over
// netlink in the server namespace, so their true length is known.

const (
	sshPort  = 2222
	echoPort = 7007
)

// peer is what the parent passes to the child.
type peer struct {
	kind                string // "ssh" or "tcp"
	serverNS            string
	server, client4     netip.Addr
	client6             netip.Addr
	identity, knownHost string
}

func (p peer) env() map[string]string {
	return map[string]string{
		"KIND": p.kind, "SERVER_NS": p.serverNS, "SERVER": p.server.String(),
		"CLIENT4": p.client4.String(), "CLIENT6": p.client6.String(),
		"IDENTITY": p.identity, "KNOWN_HOSTS": p.knownHost,
	}
}

func peerFromEnv() peer {
	return peer{
		kind: netns.ChildEnv("KIND"), serverNS: netns.ChildEnv("SERVER_NS"),
		server:   netip.MustParseAddr(netns.ChildEnv("SERVER")),
		client4:  netip.MustParseAddr(netns.ChildEnv("CLIENT4")),
		client6:  netip.MustParseAddr(netns.ChildEnv("CLIENT6")),
		identity: netns.ChildEnv("IDENTITY"), knownHost: netns.ChildEnv("KNOWN_HOSTS"),
	}
}

// startPeer starts the server side of kind in p.Server (parent only).
func startPeer(t *testing.T, kind string, p *netns.Pair) peer {
	t.Helper()
	pr := peer{kind: kind, serverNS: p.Server.Name, server: p.Server4, client4: p.Client4, client6: p.Client6}
	switch kind {
	case "ssh":
		s := sshdtest.StartSSHD(t, p.Server, p.Server4, sshPort)
		pr.identity, pr.knownHost = s.IdentityFile, s.KnownHosts
	case "tcp":
		startEcho(t, p.Server, p.Server4, echoPort)
	}
	return pr
}

// startEcho runs socat as a TCP echo service in ns, killed by PID at the end.
func startEcho(t *testing.T, ns *netns.NS, addr netip.Addr, port int) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("needs socat (apt-get install socat)")
	}
	cmd := ns.Command(context.Background(), "socat",
		fmt.Sprintf("TCP-LISTEN:%d,bind=%s,fork,reuseaddr", port, addr), "PIPE")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start socat: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // socat and its forked children
		_ = cmd.Wait()
	})
	// Wait until it listens: dial from inside the namespace.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ns.Command(context.Background(), "socat", "-u", "OPEN:/dev/null",
			fmt.Sprintf("TCP:%s:%d", addr, port)).Run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("socat echo not listening: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newProbe builds the probe of pr.kind from the child.
func newProbe(t *testing.T, pr peer, spec probes.Spec) probes.Probe {
	t.Helper()
	spec.Name, spec.Target, spec.Address = pr.kind, "server", pr.server.String()
	if spec.Clock.Start().IsZero() {
		spec.Clock = probes.NewClock()
	}
	switch pr.kind {
	case "ssh":
		p, err := probes.NewSSH(spec, sshdial.Config{Port: sshPort, User: "root", IdentityFile: pr.identity, KnownHosts: pr.knownHost})
		if err != nil {
			t.Fatal(err)
		}
		return p
	default:
		p, err := probes.NewTCP(spec, echoPort)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// recorder collects samples from the probe's goroutines.
type recorder struct {
	mu      sync.Mutex
	samples []probes.Sample
}

func (r *recorder) emit(s probes.Sample) {
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

func (r *recorder) all() []probes.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]probes.Sample(nil), r.samples...)
}

// runWithOutage runs the probe, waits warm, blocks the client's addresses in
// the server namespace for outage, lets it recover for after, stops the
// probe, and returns the samples and the outage as run offsets.
func runWithOutage(t *testing.T, pr peer, spec probes.Spec, warm, outage, after time.Duration) (samples []probes.Sample, start, end time.Duration, clock probes.Clock) {
	t.Helper()
	clock = probes.NewClock() // one clock for the probe and the truth
	spec.Clock = clock
	p := newProbe(t, pr, spec)
	var rec recorder
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx, rec.emit) }()
	time.Sleep(warm)
	s, e, err := netns.Outage(pr.serverNS, outage, pr.client4, pr.client6)
	if err != nil {
		cancel()
		<-errc
		t.Fatalf("outage: %v", err)
	}
	time.Sleep(after)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rec.all(), clock.Offset(s), clock.Offset(e), clock
}

// inChild runs body in the client namespace with a fresh pair and peer of
// kind; in the parent it sets them up and re-runs the test in the child.
func inChild(t *testing.T, kind string, body func(t *testing.T, pr peer)) {
	t.Helper()
	if netns.InChild() {
		body(t, peerFromEnv())
		return
	}
	p := netns.PairForTest(t)
	pr := startPeer(t, kind, p)
	netns.RunTestIn(t, p.Client, pr.env())
}

func checkSeqs(t *testing.T, samples []probes.Sample) {
	t.Helper()
	seen := map[uint64]bool{}
	var maxSeq uint64
	for _, s := range samples {
		if seen[s.Seq] {
			t.Errorf("seq %d emitted twice", s.Seq)
		}
		seen[s.Seq] = true
		maxSeq = max(maxSeq, s.Seq)
	}
	if len(samples) > 0 && uint64(len(samples)) != maxSeq+1 {
		t.Errorf("%d samples for seqs 0..%d: some attempt was never reported", len(samples), maxSeq)
	}
}

func TestSessionSurvivesShortOutage(t *testing.T) {
	for _, kind := range []string{"ssh", "tcp"} {
		t.Run(kind, func(t *testing.T) {
			inChild(t, kind, func(t *testing.T, pr peer) {
				const interval, outage = 100 * time.Millisecond, 2 * time.Second
				spec := probes.Spec{Interval: interval, Timeout: 10 * time.Second}
				samples, start, end, _ := runWithOutage(t, pr, spec, time.Second, outage, 4*time.Second)
				checkSeqs(t, samples)
				for _, s := range samples {
					if s.Lost || s.Session != 1 {
						t.Fatalf("session did not survive: seq %d lost=%t session=%d err=%q", s.Seq, s.Lost, s.Session, s.Err)
					}
				}
				pm := reports.ProbeMeta{Name: kind, Kind: kind, Interval: interval, Timeout: spec.Timeout, Stall: max(2*interval, 100*time.Millisecond)}
				gaps := reports.FindGaps(pm, samples)
				truth := end - start
				var worst reports.Gap
				for _, g := range gaps {
					if g.Start < end && g.End > start && g.Duration() > worst.Duration() {
						worst = g
					}
				}
				t.Logf("%s: outage %v (truth), stall %v (last answer %v before the outage start, first answer %v after its end), %d samples, %d gaps",
					kind, truth, worst.Duration(), start-worst.Start, worst.End-end, len(samples), len(gaps))
				if worst.Duration() < truth-interval {
					t.Errorf("stall %v shorter than the outage %v − interval", worst.Duration(), truth)
				}
				// TCP's retransmission timer backs off while the path is
				// down (about 0.2, 0.4, 0.8 s ...), so the stall ends at the
				// first retransmission after the outage: up to about the
				// last backoff (~1 s here) late. Allow 2 s.
				if worst.Duration() > truth+2*time.Second {
					t.Errorf("stall %v exceeds outage %v + 2s of retransmission slack", worst.Duration(), truth)
				}
			})
		})
	}
}

func TestSessionLostAndReconnected(t *testing.T) {
	for _, kind := range []string{"ssh", "tcp"} {
		t.Run(kind, func(t *testing.T) {
			inChild(t, kind, func(t *testing.T, pr peer) {
				const interval, timeout, outage = 100 * time.Millisecond, time.Second, 3 * time.Second
				spec := probes.Spec{Interval: interval, Timeout: timeout}
				samples, start, end, _ := runWithOutage(t, pr, spec, time.Second, outage, 3*time.Second)
				checkSeqs(t, samples)
				var inFlight, reconnecting int
				var lostAt, firstBack time.Duration = -1, -1
				for _, s := range samples {
					switch {
					case s.Session == 1 && s.Lost:
						inFlight++
						if !strings.HasPrefix(s.Err, "session lost: no answer within 1s") {
							t.Errorf("seq %d: in-flight err %q", s.Seq, s.Err)
						}
						if lostAt < 0 || s.Sent < lostAt {
							lostAt = s.Sent
						}
					case s.Session == 0:
						reconnecting++
						if !s.Lost || !strings.HasPrefix(s.Err, "session lost") {
							t.Errorf("seq %d: session 0 but lost=%t err=%q", s.Seq, s.Lost, s.Err)
						}
					case s.Session == 2 && !s.Lost:
						if firstBack < 0 || s.Sent < firstBack {
							firstBack = s.Sent
						}
					case s.Session > 2:
						t.Errorf("seq %d: session %d, want at most 2", s.Seq, s.Session)
					}
				}
				if inFlight == 0 || reconnecting == 0 || firstBack < 0 {
					t.Fatalf("in flight %d, reconnecting %d, first answer of session 2 at %v: want a loss and a reconnection", inFlight, reconnecting, firstBack)
				}
				if lostAt < start-interval {
					t.Errorf("first lost attempt sent at %v, before the outage began at %v", lostAt, start)
				}
				if firstBack < end {
					t.Errorf("session 2 answered at %v, before the outage ended at %v", firstBack, end)
				}
				// What reports.Analyze makes of it.
				pm := reports.ProbeMeta{Name: kind, Kind: kind, Target: "server", Address: pr.server.String(), Interval: interval, Timeout: timeout, Stall: 2 * interval}
				run := reports.Analyze(reports.Meta{Probes: []reports.ProbeMeta{pm}}, samples, nil)
				if len(run.Probes) == 1 {
					r := run.Probes[0]
					t.Logf("analysis: sessions %d survived %t resets %+v", r.Sessions, r.Survived, r.Resets)
					if r.Survived || len(r.Resets) != 1 || r.Sessions != 2 {
						t.Errorf("analysis: sessions %d survived %t resets %d, want 2, false, 1", r.Sessions, r.Survived, len(r.Resets))
					}
				}
				t.Logf("%s: outage %v; first unanswered attempt %v after it began; %d lost in flight, %d while reconnecting; first answer on session 2 %v after the outage ended (%v after the first unanswered attempt)",
					kind, end-start, lostAt-start, inFlight, reconnecting, firstBack-end, firstBack-lostAt)
			})
		})
	}
}

func TestSSHWrongHostKey(t *testing.T) {
	if !netns.InChild() {
		p := netns.PairForTest(t)
		srv := sshdtest.StartSSHD(t, p.Server, p.Server4, sshPort)
		// known_hosts with another key for this very host, on line 3.
		other := sshdtest.Keygen(t, t.TempDir()+"/other", "")
		sshdtest.WriteKnownHosts(t, srv.KnownHosts, srv.HostPort(), other, true)
		netns.RunTestIn(t, p.Client, peer{kind: "ssh", serverNS: p.Server.Name, server: p.Server4, client4: p.Client4, client6: p.Client6,
			identity: srv.IdentityFile, knownHost: srv.KnownHosts}.env())
		return
	}
	pr := peerFromEnv()
	p := newProbe(t, pr, probes.Spec{Interval: 100 * time.Millisecond, Timeout: 5 * time.Second})
	var rec recorder
	err := p.Run(context.Background(), rec.emit)
	want := "ssh " + pr.server.String() + ":" + strconv.Itoa(sshPort) + ": host key mismatch: the key offered (ED25519 SHA256:"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "(line 3)") {
		t.Fatalf("Run = %v, want %q ... (line 3)", err, want)
	}
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d samples emitted before the refusal", n)
	}
	t.Logf("refused: %v", err)
}

func TestTCPRefusedAtStart(t *testing.T) {
	inChild(t, "none", func(t *testing.T, pr peer) {
		p := newProbe(t, pr, probes.Spec{Interval: 100 * time.Millisecond, Timeout: 2 * time.Second})
		err := p.Run(context.Background(), func(probes.Sample) {})
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("Run = %v, want connection refused", err)
		}
	})
}

// TestSSHSecretsNeverShown runs an ssh probe with a password and an
// encrypted-key passphrase through a session loss and reconnections (on
// loopback, against the in-process server) and greps every Err for them.
func TestSSHSecretsNeverShown(t *testing.T) {
	const password, passphrase = "pw-Qe7!do-not-print", "pp-Lm2!do-not-print"
	srv := sshdtest.StartGoServer(t, false, password, nil)
	host, port, _ := strings.Cut(srv.Addr, ":")
	portN, _ := strconv.Atoi(port)
	kh := t.TempDir() + "/known_hosts"
	sshdtest.WriteKnownHosts(t, kh, srv.Addr, srv.HostKey, false)
	spec := probes.Spec{Name: "ssh", Target: "lo", Address: host, Interval: 20 * time.Millisecond, Timeout: time.Second, Clock: probes.NewClock()}
	cfg := sshdial.Config{Port: portN, User: "u", Password: password, Passphrase: passphrase, KnownHosts: kh}
	p, err := probes.NewSSH(spec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx, rec.emit) }()
	time.Sleep(200 * time.Millisecond)
	srv.CloseConns() // the session ends with EOF; the probe reconnects
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	samples := rec.all()
	checkSeqs(t, samples)
	var sessions = map[int]bool{}
	for _, s := range samples {
		sessions[s.Session] = true
		if strings.Contains(s.Err, password) || strings.Contains(s.Err, passphrase) {
			t.Fatalf("seq %d Err shows a secret: %q", s.Seq, s.Err)
		}
	}
	if !sessions[2] {
		t.Errorf("sessions seen %v: want a reconnection (session 2)", sessions)
	}

	// A wrong password at start: the error names neither secret.
	cfg.Password = password + "x"
	p, _ = probes.NewSSH(spec, cfg)
	err = p.Run(context.Background(), rec.emit)
	if err == nil || strings.Contains(err.Error(), password) || strings.Contains(err.Error(), passphrase) {
		t.Fatalf("Run with a wrong password = %v", err)
	}
	t.Logf("wrong password: %v", err)
}
