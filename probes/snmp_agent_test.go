package probes_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

const snmpdPath = "/usr/sbin/snmpd"

// agent is a real Net-SNMP snmpd in the server namespace, owned by the
// (child) test that started it and killed by PID at cleanup.
type agent struct {
	t         *testing.T
	ns        string
	listen    string
	conf, dir string
	cmd       *exec.Cmd
}

func startAgent(t *testing.T, nsName, listen, conf string) *agent {
	t.Helper()
	dir := t.TempDir()
	a := &agent{t: t, ns: nsName, listen: listen, conf: filepath.Join(dir, "snmpd.conf"), dir: dir}
	if err := os.WriteFile(a.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	a.start()
	t.Cleanup(a.stop)
	return a
}

func (a *agent) start() {
	a.t.Helper()
	// -C: read only our conf. The listen address goes on the command line
	// only; also naming it in the conf makes snmpd bind twice and fail.
	cmd := exec.Command("ip", "netns", "exec", a.ns, snmpdPath, "-f", "-C", "-c", a.conf,
		"-Lf", filepath.Join(a.dir, "snmpd.log"), a.listen)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(a.dir, "persist"), "MIBS=")
	// Should this test process die, snmpd dies too (ip execs snmpd, so the
	// signal setting reaches it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start snmpd: %v", err)
	}
	a.cmd = cmd
}

func (a *agent) stop() {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Kill()
	_ = a.cmd.Wait()
	a.cmd = nil
}

func (a *agent) restart() {
	a.stop()
	a.start()
}

func (a *agent) log() string {
	b, _ := os.ReadFile(filepath.Join(a.dir, "snmpd.log"))
	return string(b)
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func snmpProbe(t *testing.T, addr string, iv, timeout time.Duration, cfg probes.SNMPConfig) probes.Probe {
	t.Helper()
	p, err := probes.NewSNMP(probes.Spec{
		Name: "snmp", Target: "agent", Address: addr, Interval: iv, Timeout: timeout, Clock: probes.NewClock(),
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitReady polls until the agent answers (snmpd takes a moment to start).
func waitReady(t *testing.T, a *agent, addr string, cfg probes.SNMPConfig) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ss := collect(t, snmpProbe(t, addr, 100*time.Millisecond, 80*time.Millisecond, cfg), 100*time.Millisecond)
		if len(ss) > 0 && !ss[0].Lost {
			return
		}
	}
	t.Fatalf("snmpd at %s never answered; its log:\n%s", addr, a.log())
}

func secretsIn(ss []probes.Sample, secrets ...string) bool {
	for _, s := range ss {
		for _, sec := range secrets {
			if strings.Contains(s.Err, sec) || strings.Contains(s.Value, sec) {
				return true
			}
		}
	}
	return false
}

// TestSNMPAgent polls a real snmpd in the server namespace of a Pair from
// the client namespace.
func TestSNMPAgent(t *testing.T) {
	if !netns.InChild() {
		if _, err := os.Stat(snmpdPath); err != nil {
			t.Skip("needs snmpd (apt-get install snmpd)")
		}
		p := netns.PairForTest(t)
		netns.RunTestIn(t, p.Client, map[string]string{
			"SERVER_NS": p.Server.Name,
			"SERVER4":   p.Server4.String(),
			"SERVER6":   p.Server6.String(),
			"CLIENT4":   p.Client4.String(),
		})
		return
	}
	server4, server6 := netns.ChildEnv("SERVER4"), netns.ChildEnv("SERVER6")
	client4 := netip.MustParseAddr(netns.ChildEnv("CLIENT4"))
	community, authPass, privPass := randomSecret(t), randomSecret(t), randomSecret(t)
	conf := "rocommunity " + community + " default\n" +
		"rocommunity6 " + community + " default\n" +
		"createUser dtuser SHA \"" + authPass + "\" AES \"" + privPass + "\"\n" +
		"rouser dtuser priv\n"
	a := startAgent(t, netns.ChildEnv("SERVER_NS"), "udp:"+server4+":161,udp6:["+server6+"]:161", conf)
	v2c := probes.SNMPConfig{Community: community}
	waitReady(t, a, server4, v2c)

	t.Run("v2c", func(t *testing.T) {
		for _, addr := range []string{server4, server6} {
			ss := collect(t, snmpProbe(t, addr, 250*time.Millisecond, 200*time.Millisecond, v2c), 1500*time.Millisecond)
			if n := lost(ss); !mostlyAnswered(ss) {
				t.Fatalf("%s: %d of %d lost", addr, n, len(ss))
			}
			prev := ""
			for _, s := range ss {
				if s.Value == "" || (prev != "" && probes.UptimeWentBack(prev, s.Value)) {
					t.Errorf("%s seq %d: sysUpTime %q after %q", addr, s.Seq, s.Value, prev)
				}
				prev = s.Value
			}
			t.Logf("%s: %d polls, uptime %s..%s ticks, first RTT %v", addr, len(ss), ss[0].Value, prev, ss[0].RTT)
		}
	})

	t.Run("v1", func(t *testing.T) {
		cfg := v2c
		cfg.Version = "1"
		ss := collect(t, snmpProbe(t, server4, 250*time.Millisecond, 200*time.Millisecond, cfg), 1500*time.Millisecond)
		if n := lost(ss); !mostlyAnswered(ss) {
			t.Fatalf("%d of %d lost: %+v", n, len(ss), ss)
		}
	})

	t.Run("wrong_community", func(t *testing.T) {
		wrong := "not-" + community
		ss := collect(t, snmpProbe(t, server4, 50*time.Millisecond, 40*time.Millisecond, probes.SNMPConfig{Community: wrong}), 400*time.Millisecond)
		if n := lost(ss); n != len(ss) || n == 0 {
			t.Fatalf("%d of %d lost, want all", n, len(ss))
		}
		if secretsIn(ss, wrong, community) {
			t.Fatal("a community appears in a sample")
		}
	})

	t.Run("v3_authpriv", func(t *testing.T) {
		cfg := probes.SNMPConfig{Version: "3", SecurityName: "dtuser", AuthProtocol: "SHA", AuthPass: authPass, PrivProtocol: "AES", PrivPass: privPass}
		ss := collect(t, snmpProbe(t, server4, 250*time.Millisecond, 200*time.Millisecond, cfg), 2*time.Second)
		if n := lost(ss); !mostlyAnswered(ss) {
			t.Fatalf("%d of %d lost: %+v", n, len(ss), ss)
		}
		t.Logf("v3 authPriv: %d polls, first RTT %v (engine discovered by the warm-up GET)", len(ss), ss[0].RTT)

		bad := cfg
		bad.PrivPass = "wrong-" + privPass
		bad.AuthPass = "wrong-" + authPass
		ss = collect(t, snmpProbe(t, server4, 100*time.Millisecond, 80*time.Millisecond, bad), 300*time.Millisecond)
		if n := lost(ss); n != len(ss) {
			t.Errorf("wrong passphrases: %d of %d lost, want all", n, len(ss))
		}
		if secretsIn(ss, authPass, privPass) {
			t.Error("a passphrase appears in a sample")
		}
		t.Logf("wrong passphrases: first error %q", ss[0].Err)
	})

	t.Run("outage", func(t *testing.T) {
		const iv, outage = 100 * time.Millisecond, 2 * time.Second
		p := snmpProbe(t, server4, iv, 80*time.Millisecond, v2c)
		type window struct {
			start, end time.Time
			err        error
		}
		res := make(chan window, 1)
		go func() {
			time.Sleep(time.Second)
			s, e, err := netns.Outage(netns.ChildEnv("SERVER_NS"), outage, client4)
			res <- window{s, e, err}
		}()
		ss := collect(t, p, 4*time.Second)
		w := <-res
		if w.err != nil {
			t.Fatal(w.err)
		}
		// The outage is the longest run of lost polls; a poll lost on its
		// own elsewhere (a loaded machine answering in more than 80 ms) is
		// not the outage, and is only logged.
		want := int(outage / iv)
		n, run := lost(ss), longestLossRun(ss)
		t.Logf("outage %v (acked window %v) at interval %v: %d of %d polls lost, %d in a row, expected %d±1", outage, w.end.Sub(w.start), iv, n, len(ss), run, want)
		if run < want-1 || run > want+1 {
			t.Errorf("lost %d polls in a row, want %d±1", run, want)
		}
		for _, s := range ss {
			if s.Lost && s.Err != "timeout" {
				t.Errorf("seq %d: lost with %q, want timeout", s.Seq, s.Err)
			}
		}
	})

	t.Run("restart", func(t *testing.T) {
		p := snmpProbe(t, server4, 50*time.Millisecond, 40*time.Millisecond, v2c)
		restarted := make(chan struct{})
		go func() {
			defer close(restarted)
			time.Sleep(1200 * time.Millisecond)
			a.restart()
		}()
		ss := collect(t, p, 4*time.Second)
		<-restarted
		prev, back := "", 0
		for _, s := range ss {
			if s.Lost {
				continue
			}
			if prev != "" && probes.UptimeWentBack(prev, s.Value) {
				back++
				t.Logf("seq %d: sysUpTime went back from %s to %s ticks", s.Seq, prev, s.Value)
			}
			prev = s.Value
		}
		if back != 1 {
			t.Errorf("uptime went back %d times across one restart, want 1", back)
		}
		t.Logf("restart: %d of %d polls lost", lost(ss), len(ss))
	})
}

// mostlyAnswered: there are answers, each with a value, and at most one
// poll in ten was lost (a loaded test machine may miss a deadline; the
// protocol checks here are about answers, not speed).
func mostlyAnswered(ss []probes.Sample) bool {
	answered := 0
	for _, s := range ss {
		if !s.Lost {
			if s.Value == "" {
				return false
			}
			answered++
		}
	}
	return answered > 0 && lost(ss)*10 <= len(ss)
}

// longestLossRun is the longest run of consecutive lost polls, in Seq order.
func longestLossRun(ss []probes.Sample) int {
	sorted := append([]probes.Sample(nil), ss...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })
	best, cur := 0, 0
	for _, s := range sorted {
		if s.Lost {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}
