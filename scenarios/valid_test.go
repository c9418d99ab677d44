package scenarios_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/downtime-lab/downtime/scenarios"
)

// fakeHome points HOME at a directory with an empty ~/.ssh/known_hosts, so
// that the default known_hosts exists whatever machine runs the test.
func fakeHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	return home
}

func mustLoad(t *testing.T, path string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Load(path)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", path, err)
	}
	return s
}

func intp(i int) *int           { return &i }
func floatp(f float64) *float64 { return &f }
func boolp(b bool) *bool        { return &b }
func hashOf(t *testing.T, path string) string {
	t.Helper()
	s := mustLoad(t, path)
	if len(s.Hash) != 64 || strings.Trim(s.Hash, "0123456789abcdef") != "" {
		t.Fatalf("Hash = %q, want 64 hex digits", s.Hash)
	}
	return s.Hash
}

func TestExampleOutage(t *testing.T) {
	got := mustLoad(t, "examples/outage.yaml")
	want := &scenarios.Scenario{
		File:        "examples/outage.yaml",
		Name:        "outage-demo",
		Description: "free text",
		Targets:     []scenarios.Target{{Name: "guest", Address: "10.99.0.2", Members: []string{"10.99.0.2"}}},
		Probes: []scenarios.ProbeSpec{{
			Name: "ping", Kind: "icmp", Target: "guest",
			Interval: 10 * time.Millisecond, Timeout: time.Second,
		}},
		Baseline: 3 * time.Second,
		Settle:   5 * time.Second,
		Triggers: []scenarios.TriggerSpec{{
			Name: "cut", Kind: "exec", Argv: []string{"sh", "-c", "sleep 0.2"}, Timeout: time.Minute,
		}},
		Thresholds: map[string]scenarios.Threshold{"ping": {MaxGap: 2 * time.Second, MaxLost: intp(2)}},
		Repeat:     1, RepeatVerdict: "all",
		Hash: hashOf(t, "examples/outage.yaml"),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("examples/outage.yaml (-want +got):\n%s", d)
	}
}

// TestDefaults loads a file giving only the required keys of every kind
// and checks every default the loader fills in.
func TestDefaults(t *testing.T) {
	home := fakeHome(t)
	kh := filepath.Join(home, ".ssh", "known_hosts")
	path := "testdata/valid/all-kinds.yaml"
	got := mustLoad(t, path)
	want := &scenarios.Scenario{
		File: path,
		Name: "all-kinds",
		Targets: []scenarios.Target{
			{Name: "guest", Address: "10.99.0.2", FailoverAddress: "10.99.0.3", Members: []string{"10.99.0.2"}},
			{Name: "v6", Address: "fd00::2", Members: []string{"fd00::2"}},
			{Name: "named", Address: "guest.example.com", Members: []string{"guest.example.com"}},
			{Name: "list", Addresses: []string{"10.0.0.1", "10.0.0.2"}, Members: []string{"10.0.0.1", "10.0.0.2"}},
			{Name: "farm", File: "farm.txt", Members: []string{"10.1.0.1", "10.1.0.2", "web1.example.com"}},
			{Name: "net30", Range: "10.2.0.0/30", Members: []string{"10.2.0.1", "10.2.0.2"}},
			{Name: "net31", Range: "10.3.0.0/31", Members: []string{"10.3.0.0", "10.3.0.1"}},
			{Name: "one", Range: "10.4.0.7/32", Members: []string{"10.4.0.7"}},
			{Name: "span", Range: "fd00::fe-fd00::101", Members: []string{"fd00::fe", "fd00::ff", "fd00::100", "fd00::101"}},
			{Name: "dash", Range: "10.5.0.254-10.5.1.1", Members: []string{"10.5.0.254", "10.5.0.255", "10.5.1.0", "10.5.1.1"}},
		},
		Probes: []scenarios.ProbeSpec{
			{Name: "icmp", Kind: "icmp", Target: "guest", Interval: time.Second, Timeout: time.Second},
			{Name: "tcp", Kind: "tcp", Target: "v6", Interval: time.Second, Timeout: 10 * time.Second,
				Stall: 2 * time.Second, Port: 7},
			{Name: "ssh", Kind: "ssh", Target: "named", Interval: time.Second, Timeout: 10 * time.Second,
				Stall: 2 * time.Second, Port: 22, User: "root", KnownHosts: kh},
			{Name: "snmp", Kind: "snmp", Target: "list", Interval: time.Second, Timeout: 800 * time.Millisecond,
				Port: 161, Version: "2c", OID: "1.3.6.1.2.1.1.3.0"},
			{Name: "slow-snmp", Kind: "snmp", Target: "farm", Interval: 3 * time.Second, Timeout: time.Second,
				Port: 161, Version: "2c", OID: "1.3.6.1.2.1.1.3.0"},
		},
		Baseline: 3 * time.Second,
		Settle:   5 * time.Second,
		Triggers: []scenarios.TriggerSpec{
			{Name: "exec0", Kind: "exec", Timeout: time.Minute, Argv: []string{"true"}},
			{Name: "ssh1", Kind: "ssh", Timeout: time.Minute, Host: "hv1", Port: 22, User: "root", KnownHosts: kh, Command: "uptime"},
			{Name: "qmp2", Kind: "qmp", Timeout: time.Minute, Socket: "testdata/valid/run/qmp.sock", Action: "migrate",
				URI: "tcp:127.0.0.1:4444", Poll: 20 * time.Millisecond},
			{Name: "virsh3", Kind: "virsh", Timeout: time.Minute, Domain: "vm1", Destination: "qemu+ssh://hv2/system"},
			{Name: "link4", Kind: "link", Timeout: time.Minute, Device: "eth0", Action: "down", Method: "ip"},
			{Name: "wait5", Kind: "wait", Duration: 2 * time.Second, Timeout: 2*time.Second + time.Minute},
		},
		Repeat: 1, RepeatVerdict: "all",
		Hash: hashOf(t, path),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

// TestEveryKey loads a file that sets every key, through anchors and merge
// keys, and checks nothing is lost or overridden by a default.
func TestEveryKey(t *testing.T) {
	fakeHome(t)
	path := "testdata/valid/full.yaml"
	got := mustLoad(t, path)
	dir := "testdata/valid"
	id, kh := filepath.Join(dir, "id_test"), filepath.Join(dir, "known_hosts")
	ping := scenarios.Threshold{MaxGap: 2 * time.Second, MaxLost: intp(2), MaxLossPct: floatp(0.5), MaxTimeToFailoverAddress: 3 * time.Second}
	want := &scenarios.Scenario{
		File:        path,
		Name:        "full",
		Description: "Two lines\nof text.\n",
		Targets:     []scenarios.Target{{Name: "guest", Address: "10.99.0.2", FailoverAddress: "10.99.0.3", Members: []string{"10.99.0.2"}}},
		Probes: []scenarios.ProbeSpec{
			{Name: "ping", Kind: "icmp", Target: "guest", Interval: 10 * time.Millisecond, Timeout: 500 * time.Millisecond, Size: 1400, Stall: 50 * time.Millisecond},
			{Name: "echo", Kind: "tcp", Target: "guest", Interval: 20 * time.Millisecond, Timeout: 2 * time.Second, Stall: 300 * time.Millisecond, Port: 7007},
			{Name: "session", Kind: "ssh", Target: "guest", Interval: time.Second, Timeout: 10 * time.Second, Stall: 2 * time.Second, Port: 2222,
				User: "admin", IdentityFile: id, PassphraseEnv: "KEY_PASS", PasswordEnv: "SSH_PASS", KnownHosts: kh},
			{Name: "v3", Kind: "snmp", Target: "guest", Interval: 5 * time.Second, Timeout: 2 * time.Second, Stall: time.Second, Port: 1161, Version: "3",
				OID: "1.3.6.1.2.1.1.3.0", SecurityName: "monitor", AuthProtocol: "SHA256", AuthEnv: "SNMP_AUTH", PrivProtocol: "AES", PrivEnv: "SNMP_PRIV"},
			{Name: "v1", Kind: "snmp", Target: "guest", Interval: time.Second, Timeout: 800 * time.Millisecond, Port: 161, Version: "1",
				CommunityEnv: "SNMP_COMMUNITY", OID: "1.3.6.1.2.1.1.3.0"},
		},
		Baseline: 6 * time.Second,
		Settle:   0,
		Triggers: []scenarios.TriggerSpec{
			{Name: "mark", Kind: "exec", Timeout: 5 * time.Second, Parallel: true, Argv: []string{"logger", "start"}},
			{Name: "remote", Kind: "ssh", At: time.Second, Timeout: time.Minute, Host: "192.0.2.10", Port: 2200, User: "root",
				InsecureIgnoreHostKey: true, Command: "Restart-NetAdapter -Name eth0", Shell: "powershell"},
			{Name: "unplug", Kind: "qmp", At: time.Second, Timeout: time.Minute, Socket: "/run/vm.qmp", Action: "set_link", Netdev: "net0", Up: boolp(false), Poll: 50 * time.Millisecond},
			{Name: "ask", Kind: "qmp", At: time.Second, Timeout: time.Minute, Socket: "/run/vm.qmp", Action: "query", Poll: 20 * time.Millisecond},
			{Name: "move", Kind: "virsh", At: time.Second, Timeout: time.Minute, Domain: "vm1", Destination: "qemu+ssh://hv2/system", Flags: []string{"live", "p2p", "bandwidth=100"},
				Host: "hv1.example.com", Port: 22, User: "admin", IdentityFile: id, PassphraseEnv: "KEY_PASS", PasswordEnv: "SSH_PASS", KnownHosts: kh},
			{Name: "bounce", Kind: "link", At: time.Second, Timeout: time.Minute, Device: "bond0.10", Action: "up", Method: "ifupdown", Host: "hv1", Port: 22, User: "root", InsecureIgnoreHostKey: true},
			{Name: "pause", Kind: "wait", At: time.Second, Duration: time.Minute, Timeout: 2 * time.Minute},
		},
		Thresholds: map[string]scenarios.Threshold{
			"icmp":    {MaxGap: 2 * time.Second, MaxLost: intp(5), MaxLossPct: floatp(0.5)},
			"ping":    ping,
			"session": {Survive: true, MaxStall: time.Second},
			"tcp":     {MaxStall: 800 * time.Millisecond},
			"echo":    {MaxStall: 800 * time.Millisecond},
			"v3":      {MaxHypervisorDowntime: 300 * time.Millisecond},
		},
		Repeat: 3, RepeatVerdict: "p95",
		Cooldown: 10 * time.Second,
		Netns:    "dt-client",
		Hash:     hashOf(t, path),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

func TestWarnings(t *testing.T) {
	fakeHome(t)
	t.Setenv("SNMP_COMMUNITY", "")
	t.Setenv("SSH_PASS", "s3cret-value")
	s := mustLoad(t, "testdata/valid/full.yaml")
	w := strings.Join(s.Warnings(), "\n")
	for _, want := range []string{"SNMP_COMMUNITY is not set; the community public is used", "KEY_PASS is not set", "SNMP_AUTH is not set"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if strings.Contains(w, "SSH_PASS") || strings.Contains(w, "s3cret") {
		t.Errorf("warnings mention a set variable or its value:\n%s", w)
	}
}

// TestFailoverLimitByKind: a kind's max_time_to_failover_address must reach
// a probe whose target has a failover address; the probes it skips are
// warned about, not silently passed.
func TestFailoverLimitByKind(t *testing.T) {
	const head = `name: t
targets:
  moved: {address: 10.0.0.2, failover_address: 10.0.1.2}
  fixed: {address: 10.0.0.3}
probes:
`
	const limit = "thresholds:\n  icmp: {max_time_to_failover_address: 5s}\n"
	s, err := scenarios.Parse("some.yaml", []byte(head+"  - {name: a, kind: icmp, target: moved}\n  - {name: b, kind: icmp, target: fixed}\n"+limit))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(s.Warnings(), "\n")
	if want := "probes[1] (b): thresholds.icmp.max_time_to_failover_address does not apply: target fixed has no failover_address"; !strings.Contains(w, want) {
		t.Errorf("warnings lack %q:\n%s", want, w)
	}
	if strings.Contains(w, "probes[0]") {
		t.Errorf("warning about the probe the limit reaches:\n%s", w)
	}
	_, err = scenarios.Parse("some.yaml", []byte(head+"  - {name: b, kind: icmp, target: fixed}\n"+limit))
	if want := "some.yaml:8: thresholds.icmp.max_time_to_failover_address: no icmp probe's target has a failover_address"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
