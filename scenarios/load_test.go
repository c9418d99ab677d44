package scenarios_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/downtime-lab/downtime/scenarios"
)

// invalidFiles lists every file in testdata/invalid with the first line of
// the error it must produce, after "testdata/invalid/NAME.yaml".
var invalidFiles = []struct{ name, want string }{
	{"address-file-bad", `:3: targets.farm.file: bad-hosts.txt line 4: "not an address" is not an IP address or hostname`},
	{"address-file-missing", `:3: targets.farm.file: "testdata/invalid/no-such-hosts.txt" does not exist`},
	{"alias-cycle", `:2: alias *p refers to a node that contains it`},
	{"alias-bomb", `:7: aliases expand the document beyond 1000000 nodes (an alias bomb?)`},
	{"argv-string", `:7: triggers[0].argv: expected a list, got a string`},
	{"bad-address", `:3: targets.guest.address: "10.0.0.300" is not an IP address or hostname`},
	{"bad-cidr", `:3: targets.farm.range: "10.0.0.0/33" is not a CIDR prefix (e.g. 10.0.0.0/24)`},
	{"bad-range", `:3: targets.farm.range: "10.0.0.20-10.0.0.10" ends before it starts`},
	{"baseline-short", `:8: baseline: "3s" is shorter than the longest probe interval (5s, probes[0])`},
	{"binary", `:2: invalid YAML: control characters are not allowed`},
	{"bool-yes", `:7: probes[0].insecure_ignore_host_key: "yes" is not a boolean (use true or false)`},
	{"cidr-too-big", `:3: targets.farm.range: "10.0.0.0/8" holds more than 10000 addresses, the most a group may have`},
	{"comments-only", `:1: empty file (no YAML document)`},
	{"dangling-target", `:4: probes[0].target: no target named "gust" (targets: guest)`},
	{"duplicate-key", `:8: probes[0].interval: key given twice (first at line 7)`},
	{"duplicate-probe-names", `:7: probes[1].name: "icmp" is already the name of probes[0]; names must be unique`},
	{"duplicate-trigger-names", `:7: triggers[1].name: "cut" is already the name of triggers[0]; names must be unique`},
	{"duration-overflow", `:5: settle: "9999999999h" is not a duration (use e.g. 10ms, 1s)`},
	{"empty", `:1: empty file (no YAML document)`},
	{"env-secret", `:8: probes[0].password_env: not an environment variable name (give the name of a variable that holds the secret, never the secret itself)`},
	{"interval-bare-number", `:7: probes[0].interval: "10" is not a duration (use e.g. 10ms, 1s)`},
	{"interval-negative", `:7: probes[0].interval: "-5ms" is negative`},
	{"key-wrong-kind", `:8: probes[0].oid: not a key of kind ssh`},
	{"known-hosts-missing", `:7: probes[0].known_hosts: "testdata/invalid/no-such-known-hosts" does not exist (give known_hosts, or set insecure_ignore_host_key: true)`},
	{"link-bad-action", `:8: triggers[0].action: "flap" is not one of down or up`},
	{"link-user-without-host", `:9: triggers[0].user: only used with host (without host the action runs locally)`},
	{"merge-bad", `:5: probes[0]: << merges a mapping or a list of mappings, not a number`},
	{"missing-identity", `:8: probes[0].identity_file: "testdata/invalid/keys/nope" does not exist`},
	{"multi-doc", `:5: a second YAML document; a scenario file holds one (remove the ---)`},
	{"name-list", `:1: name: expected a string, got a list`},
	{"netns-bad", `:4: netns: "../etc" is not a network namespace name`},
	{"no-name", `:1: name: required`},
	{"no-probes", `:4: probes: at least one probe is required`},
	{"no-targets", `:2: probes[0].target: no target named "guest" (no targets are defined)`},
	{"null-probe", `:5: probes[0]: empty list item`},
	{"port-on-icmp", `:7: probes[0].port: not a key of kind icmp`},
	{"port-range", `:7: probes[0].port: 70000 is out of range (1 to 65535)`},
	{"port-string", `:7: probes[0].port: "echo" is not an integer`},
	{"probe-named-like-kind", `:6: probes[1].name: "tcp" is a probe kind; only a tcp probe may have that name`},
	{"qmp-no-uri", `:6: triggers[0].uri: required (where to migrate, e.g. tcp:127.0.0.1:4444)`},
	{"qmp-set-link-no-up", `:6: triggers[0].up: required (true or false)`},
	{"repeat-negative", `:5: repeat: -1 is out of range (0 to 10000)`},
	{"snmp-timeout", `:8: probes[0].timeout: "100ms" must be shorter than the interval (100ms): the probe sends one request per interval, without retries`},
	{"snmp-v3-no-auth", `:5: probes[0].auth_protocol: required (MD5, SHA, SHA224, SHA256, SHA384 or SHA512)`},
	{"ssh-no-host", `:6: triggers[0].host: required (the machine to run the command on)`},
	{"stall-over-timeout", `:8: probes[0].stall: "2s" is longer than the timeout (1s)`},
	{"stall-over-timeout-snmp", `:5: probes[0].stall: "900ms" is longer than the timeout (800ms)`},
	{"tabs", `:3: invalid YAML: found character that cannot start any token`},
	{"threshold-dangling", `:6: thresholds.pign: no probe named "pign" (probes: ping; kinds: icmp, tcp, ssh, snmp) (did you mean ping?)`},
	{"threshold-hypervisor", `:6: thresholds.ping.max_hypervisor_downtime: no trigger reports hypervisor downtime (a qmp migrate or virsh trigger does)`},
	{"threshold-pct", `:6: thresholds.ping.max_loss_pct: "150" is not a percentage (0 to 100)`},
	{"threshold-stall-icmp", `:6: thresholds.icmp.max_stall: only for tcp and ssh probes`},
	{"timeout-absurd", `:7: probes[0].timeout: "100h" is too long (at most 1h)`},
	{"top-scalar", `:1: expected a mapping of keys (name:, probes:, ...) at the top, got a string`},
	{"trigger-before-baseline", `:7: triggers[0].at: "-1s" is before the end of the baseline (at counts from the end of the baseline: use 0s or more)`},
	{"two-address-keys", `:5: targets.guest.range: give only one of address, addresses, file or range (also address)`},
	{"unclosed-flow", `:3: invalid YAML: did not find expected ',' or ']'`},
	{"unknown-anchor", `:4: invalid YAML: unknown anchor 'p' referenced`},
	{"unknown-key", `:7: probes[0]: unknown key "intervall" (did you mean interval?)`},
	{"unknown-kind", `:5: probes[0].kind: "ping" is not one of icmp, tcp, ssh or snmp`},
	{"unknown-top-key", `:4: unknown key "probe" (did you mean probes?)`},
	{"virsh-bad-flag", `:9: triggers[0].flags[1]: "tunneled" is not a virsh migrate flag (live, persistent, undefinesource, compressed, auto-converge, postcopy, tunnelled, p2p, copy-storage-all, copy-storage-inc, or key=value) (did you mean tunnelled?)`},
	{"wait-no-duration", `:6: triggers[0].duration: required (how long to wait, e.g. 5s)`},
}

// errLineRe is the shape of every problem: file:line: message.
var errLineRe = regexp.MustCompile(`^[^\n:]+:[1-9][0-9]*: \S`)

func TestInvalidFiles(t *testing.T) {
	fakeHome(t)
	t.Setenv("SSH_AUTH_SOCK", "")
	listed := map[string]bool{}
	for _, tc := range invalidFiles {
		listed[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tc.name+".yaml")
			s, err := scenarios.Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", s)
			}
			var es scenarios.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is %T, want a non-empty scenarios.Errors: %v", err, err)
			}
			first, _, _ := strings.Cut(err.Error(), "\n")
			if want := path + tc.want; first != want {
				t.Errorf("first problem:\n got: %s\nwant: %s", first, want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !errLineRe.MatchString(line) {
					t.Errorf("problem without file:line: prefix: %q", line)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("a secret leaked into the error: %v", err)
			}
		})
	}
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".yaml"); !listed[name] {
			t.Errorf("%s has no entry in invalidFiles", f)
		}
	}
	if len(listed) < 30 {
		t.Errorf("only %d invalid files; want at least 30", len(listed))
	}
}

func TestHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	data := append([]byte("name: huge\ndescription: "), bytes.Repeat([]byte("x"), scenarios.MaxFileSize)...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	want := path + ": file is larger than 1048576 bytes (1 MiB), too large for a scenario"
	if _, err := scenarios.Load(path); err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant: %s", err, want)
	}
	if _, err := scenarios.Parse("huge.yaml", data); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("Parse: %v, want too large", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := scenarios.Load("testdata/no-such-file.yaml")
	if want := "testdata/no-such-file.yaml: cannot read: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant: %s", err, want)
	}
}

// TestAllProblems checks that every problem is reported, in line order,
// not only the first.
func TestAllProblems(t *testing.T) {
	src := `name: many
targets:
  guest: {address: 10.0.0.2}
probes:
  - kind: icmp
    target: guest
    interval: fast
  - kind: tcp
    target: gust
    port: 0
triggers:
  - kind: exec
    at: -2s
thresholds:
  nope: {max_gap: 1s}
`
	_, err := scenarios.Parse("many.yaml", []byte(src))
	want := []string{
		`many.yaml:7: probes[0].interval: "fast" is not a duration (use e.g. 10ms, 1s)`,
		`many.yaml:9: probes[1].target: no target named "gust" (targets: guest)`,
		`many.yaml:10: probes[1].port: 0 is out of range (1 to 65535)`,
		`many.yaml:12: triggers[0].argv: required (the command and its arguments, e.g. [sh, -c, "..."])`,
		`many.yaml:13: triggers[0].at: "-2s" is before the end of the baseline (at counts from the end of the baseline: use 0s or more)`,
		`many.yaml:15: thresholds.nope: no probe named "nope" (probes: icmp, tcp; kinds: icmp, tcp, ssh, snmp)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    scenarios.Error
		want string
	}{
		{scenarios.Error{File: "a.yaml", Line: 3, Path: "probes[0].kind", Msg: "required"}, "a.yaml:3: probes[0].kind: required"},
		{scenarios.Error{File: "a.yaml", Line: 1, Msg: "empty file"}, "a.yaml:1: empty file"},
		{scenarios.Error{File: "a.yaml", Msg: "cannot read"}, "a.yaml: cannot read"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestManyProblemsCapped checks a file with thousands of bad entries gives
// a readable list.
func TestManyProblemsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: x\ntargets:\n  g:\n    addresses:\n")
	for range 5000 {
		b.WriteString("      - 300.0.0.1\n")
	}
	b.WriteString("probes: [{kind: icmp, target: g}]\n")
	_, err := scenarios.Parse("x.yaml", []byte(b.String()))
	var es scenarios.Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v", err)
	}
	if len(es) != 50 || !strings.Contains(es[49].Msg, "more problems") {
		t.Errorf("got %d problems, last %q; want 50 ending in a count", len(es), es[len(es)-1].Msg)
	}
}
