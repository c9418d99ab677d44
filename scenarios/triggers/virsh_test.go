package triggers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVirshArgs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"none", nil, "migrate --verbose vm1 qemu+ssh://dst/system"},
		{"usual", []string{"live", "persistent", "undefinesource"}, "migrate --live --persistent --undefinesource --verbose vm1 qemu+ssh://dst/system"},
		{"every switch", []string{"live", "persistent", "undefinesource", "compressed", "auto-converge", "postcopy", "tunnelled", "p2p", "copy-storage-all", "copy-storage-inc"},
			"migrate --live --persistent --undefinesource --compressed --auto-converge --postcopy --tunnelled --p2p --copy-storage-all --copy-storage-inc --verbose vm1 qemu+ssh://dst/system"},
		{"key=value", []string{"live", "bandwidth=100", "timeout=60", "migrate-disks=vda,vdb"},
			"migrate --live --bandwidth 100 --timeout 60 --migrate-disks vda,vdb --verbose vm1 qemu+ssh://dst/system"},
		{"value with =", []string{"migrateuri=tcp://10.0.0.2:49152?x=1"}, "migrate --migrateuri tcp://10.0.0.2:49152?x=1 --verbose vm1 qemu+ssh://dst/system"},
		{"dashes given", []string{"--live", "--bandwidth=5"}, "migrate --live --bandwidth 5 --verbose vm1 qemu+ssh://dst/system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := VirshConfig{Domain: "vm1", Destination: "qemu+ssh://dst/system", Flags: tc.flags}
			if got := strings.Join(VirshArgs(cfg), " "); got != tc.want {
				t.Errorf("VirshArgs =\n %s\nwant\n %s", got, tc.want)
			}
			if err := cfg.check(); err != nil {
				t.Errorf("check: %v", err)
			}
		})
	}
}

func TestVirshCheck(t *testing.T) {
	ok := VirshConfig{Domain: "vm1", Destination: "qemu+ssh://dst/system"}
	for _, tc := range []struct {
		mod  func(*VirshConfig)
		want string
	}{
		{func(c *VirshConfig) { c.Domain = "" }, "no domain"},
		{func(c *VirshConfig) { c.Destination = "" }, "no destination"},
		{func(c *VirshConfig) { c.Domain = "-x" }, "must not start with '-'"},
		{func(c *VirshConfig) { c.Flags = []string{"livee"} }, `"livee" is not a virsh migrate flag`},
		{func(c *VirshConfig) { c.Flags = []string{"=5"} }, "not key=value"},
		{func(c *VirshConfig) { c.Flags = []string{"bandwidth="} }, "not key=value"},
	} {
		cfg := ok
		tc.mod(&cfg)
		_, err := NewVirsh(cfg).Fire(context.Background(), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", cfg, err, tc.want)
		}
	}
}

// fixture returns a testdata file without its "#" header.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "#") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

func TestParseDomJobInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want *Hypervisor
		err  string
	}{
		{name: "completed", text: fixture(t, "domjobinfo-completed.txt"),
			want: &Hypervisor{Source: "virsh domjobinfo", DowntimeMS: 37, DowntimeNoNetMS: 32, TotalTimeMS: 1051, SetupTimeMS: 13}},
		{name: "older libvirt", text: fixture(t, "domjobinfo-old.txt"),
			want: &Hypervisor{Source: "virsh domjobinfo", DowntimeMS: 118, TotalTimeMS: 2784, SetupTimeMS: 21}},
		{name: "destination", text: fixture(t, "domjobinfo-incoming.txt"),
			want: &Hypervisor{Source: "virsh domjobinfo", DowntimeMS: 37, DowntimeNoNetMS: 32, TotalTimeMS: 1049, SetupTimeMS: 13}},
		{name: "CRLF", text: strings.ReplaceAll(fixture(t, "domjobinfo-completed.txt"), "\n", "\r\n"),
			want: &Hypervisor{Source: "virsh domjobinfo", DowntimeMS: 37, DowntimeNoNetMS: 32, TotalTimeMS: 1051, SetupTimeMS: 13}},
		{name: "no job", text: fixture(t, "domjobinfo-none.txt"), err: "no completed job (job type None)"},
		{name: "failed job", text: "Job type:         Failed      \nOperation:        Outgoing migration\n", err: "job type Failed"},
		{name: "empty", text: "", err: `no "Job type" line`},
		{name: "not domjobinfo", text: "error: failed to connect to the hypervisor\n", err: `no "Job type" line`},
		{name: "no downtime", text: "Job type:         Completed   \nTime elapsed:     5            ms\n", err: "without a total downtime"},
		{name: "bad number", text: "Job type:         Completed   \nTotal downtime:   x            ms\n", err: "Total downtime"},
		{name: "bad unit", text: "Job type:         Completed   \nTotal downtime:   37           s\n", err: "not a time in ms"},
		{name: "negative", text: "Job type:         Completed   \nTotal downtime:   -1           ms\n", err: "not a time in ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseDomJobInfo(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *h != *tc.want {
				t.Errorf("got %+v\nwant %+v", *h, *tc.want)
			}
		})
	}
}

func TestParseVirshVersion(t *testing.T) {
	if got := parseVirshVersion(fixture(t, "virsh-version.txt")); got != "libvirt 9.0.0, QEMU 7.2.0" {
		t.Errorf("version %q", got)
	}
	if got := parseVirshVersion("error: failed to connect\n"); got != "" {
		t.Errorf("version of an error: %q", got)
	}
}

// fakeVirsh writes a stand-in for virsh into dir and returns its path and
// the log of its invocations. The real libvirt cannot run here (no
// libvirtd, and KVM is unusable on these machines), so the fake plays its
// part from the fixtures: it logs its environment's LC_ALL and argv, plays
// `migrate` by domain name (bad-cpu fails as libvirt does on a CPU
// mismatch; slow hangs until interrupted, recording that it was), and
// serves `domjobinfo` and `version` from testdata.
func fakeVirsh(t *testing.T, dir string) (bin, log string) {
	t.Helper()
	abs := func(name string) string {
		p, err := filepath.Abs(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return ShellQuote(p)
	}
	bin, log = filepath.Join(dir, "virsh"), filepath.Join(dir, "virsh.log")
	script := fmt.Sprintf(`#!/bin/sh
# A stand-in for virsh, written by virsh_test.go.
log=%[1]s
{ printf 'LC_ALL=%%s' "$LC_ALL"; for a in "$@"; do printf '\037%%s' "$a"; done; printf '\n'; } >> "$log"
show() { sed '/^#/d' "$1"; }
conn=
if [ "$1" = -c ]; then conn=$2; shift 2; fi
prev= last=
for a in "$@"; do prev=$last; last=$a; done
case "$1" in
migrate)
	dom=$prev
	case "$dom" in
	bad-cpu*)
		echo "error: operation failed: guest CPU doesn't match specification: missing features: invtsc" >&2
		exit 1 ;;
	slow*)
		trap 'echo interrupted > %[2]s; echo "error: operation aborted: migration out job: canceled by client" >&2; exit 1' INT
		printf 'Migration: [  1 %%%%]'
		echo $$ > %[3]s
		sleep 300
		exit 0 ;;
	esac
	for p in 12 57 98 100; do printf '\rMigration: [%%3d %%%%]' $p; done
	printf '\n'
	exit 0 ;;
domjobinfo)
	dom=$last
	case "$conn:$dom" in
	*:nojob*) show %[4]s ;;
	:gone*) echo "error: failed to get domain '$dom'" >&2; exit 1 ;;
	:old*) show %[5]s ;;
	:*) show %[6]s ;;
	*) show %[7]s ;;
	esac ;;
version) show %[8]s ;;
*) echo "error: unknown command: '$1'" >&2; exit 1 ;;
esac
`, ShellQuote(log), ShellQuote(filepath.Join(dir, "interrupted")), ShellQuote(filepath.Join(dir, "slow.pid")),
		abs("domjobinfo-none.txt"), abs("domjobinfo-old.txt"), abs("domjobinfo-completed.txt"), abs("domjobinfo-incoming.txt"), abs("virsh-version.txt"))
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, log
}

// calls reads the fake's log: one argv per call, LC_ALL first.
func calls(t *testing.T, log string) [][]string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out [][]string
	for line := range strings.Lines(string(b)) {
		out = append(out, strings.Split(strings.TrimSuffix(line, "\n"), "\x1f"))
	}
	return out
}

func argvLine(argv []string) string { return strings.Join(argv, " | ") }

// checkCalls compares the logged calls with want (each without LC_ALL) and
// that every call ran in the C locale.
func checkCalls(t *testing.T, log string, want ...[]string) {
	t.Helper()
	got := calls(t, log)
	for i, c := range got {
		if c[0] != "LC_ALL=C" {
			t.Errorf("call %d ran with %s, want LC_ALL=C", i, c[0])
		}
		got[i] = c[1:]
	}
	if len(got) != len(want) {
		t.Fatalf("%d calls, want %d:\n%q", len(got), len(want), got)
	}
	for i := range want {
		if argvLine(got[i]) != argvLine(want[i]) {
			t.Errorf("call %d:\n got %s\nwant %s", i, argvLine(got[i]), argvLine(want[i]))
		}
	}
}

// virshCase is one migration played by the fake, locally and remotely.
type virshCase struct {
	name   string
	cfg    VirshConfig
	want   *Hypervisor // nil: no figures
	err    string      // "" for success
	code   int
	calls  func(cfg VirshConfig) [][]string
	output []string // must appear in the output
}

var completedFigures = &Hypervisor{Source: "virsh domjobinfo", DowntimeMS: 37, DowntimeNoNetMS: 32, TotalTimeMS: 1051, SetupTimeMS: 13, Version: "libvirt 9.0.0, QEMU 7.2.0"}

func virshCases() []virshCase {
	migrate := func(cfg VirshConfig) []string { return VirshArgs(cfg) }
	jobinfo := func(cfg VirshConfig) []string { return []string{"domjobinfo", "--completed", cfg.Domain} }
	destJobinfo := func(cfg VirshConfig) []string {
		return []string{"-c", cfg.Destination, "domjobinfo", "--completed", cfg.Domain}
	}
	version := []string{"version"}
	return []virshCase{
		{
			name: "completed",
			// An odd domain and a URI full of shell metacharacters: the
			// remote run must deliver them to virsh as single words.
			cfg: VirshConfig{Domain: `vm "one" it's $HOME`, Destination: "qemu+ssh://root@dst/system?keyfile=/k&no_verify=1",
				Flags: []string{"live", "persistent", "undefinesource", "bandwidth=100", "migrate-disks=vda,vdb"}},
			want: completedFigures,
			calls: func(c VirshConfig) [][]string {
				return [][]string{migrate(c), jobinfo(c), version}
			},
			output: []string{"Migration: [100 %]", "Total downtime:   37", "downtime 37 ms, total 1051 ms, setup 13 ms"},
		},
		{
			name: "older libvirt",
			cfg:  VirshConfig{Domain: "old-vm", Destination: "qemu+ssh://dst/system", Flags: []string{"live"}},
			want: &Hypervisor{Source: "virsh domjobinfo", DowntimeMS: 118, TotalTimeMS: 2784, SetupTimeMS: 21, Version: "libvirt 9.0.0, QEMU 7.2.0"},
			calls: func(c VirshConfig) [][]string {
				return [][]string{migrate(c), jobinfo(c), version}
			},
		},
		{
			name: "undefined on the source",
			cfg:  VirshConfig{Domain: "gone-vm", Destination: "qemu+ssh://dst/system", Flags: []string{"live", "undefinesource"}},
			want: &Hypervisor{Source: "virsh domjobinfo", DowntimeMS: 37, DowntimeNoNetMS: 32, TotalTimeMS: 1049, SetupTimeMS: 13, Version: "libvirt 9.0.0, QEMU 7.2.0"},
			calls: func(c VirshConfig) [][]string {
				return [][]string{migrate(c), jobinfo(c), destJobinfo(c), version}
			},
			output: []string{"failed to get domain 'gone-vm'", "asking the destination", "Operation:        Incoming migration"},
		},
		{
			name: "no figures anywhere",
			cfg:  VirshConfig{Domain: "nojob-vm", Destination: "qemu+ssh://dst/system", Flags: []string{"live"}},
			calls: func(c VirshConfig) [][]string {
				return [][]string{migrate(c), jobinfo(c), destJobinfo(c)}
			},
			output: []string{"no job figures: domjobinfo: no completed job (job type None)"},
		},
		{
			name: "CPU mismatch",
			cfg:  VirshConfig{Domain: "bad-cpu-vm", Destination: "qemu+ssh://dst/system", Flags: []string{"live"}},
			err:  "virsh migrate: exit status 1: error: operation failed: guest CPU doesn't match specification: missing features: invtsc",
			code: 1,
			calls: func(c VirshConfig) [][]string {
				return [][]string{migrate(c)}
			},
		},
	}
}

func runVirshCase(t *testing.T, tc virshCase, cfg VirshConfig, log string) {
	t.Helper()
	var out bytes.Buffer
	oc, err := NewVirsh(cfg).Fire(context.Background(), &out)
	t.Logf("output:\n%s", out.String())
	if tc.err != "" {
		if err == nil || err.Error() != tc.err {
			t.Fatalf("err = %v\nwant %s", err, tc.err)
		}
	} else if err != nil {
		t.Fatalf("Fire: %v", err)
	}
	if oc.ExitCode != tc.code {
		t.Errorf("exit code %d, want %d", oc.ExitCode, tc.code)
	}
	switch {
	case tc.want == nil && oc.Hypervisor != nil:
		t.Errorf("figures %+v, want none", *oc.Hypervisor)
	case tc.want != nil && (oc.Hypervisor == nil || *oc.Hypervisor != *tc.want):
		t.Errorf("figures %+v\nwant %+v", oc.Hypervisor, *tc.want)
	}
	for _, s := range tc.output {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q", s)
		}
	}
	checkCalls(t, log, tc.calls(tc.cfg)...)
}

// TestVirshLocal runs the fake virsh first on PATH, as argv (no shell).
func TestVirshLocal(t *testing.T) {
	for _, tc := range virshCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, log := fakeVirsh(t, dir)
			t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			runVirshCase(t, tc, tc.cfg, log)
		})
	}
}

// TestVirshRemote runs the same fake through a real sshd: the command line
// crosses the remote shell, so every word must arrive intact.
func TestVirshRemote(t *testing.T) {
	r := startRemote(t, newNS(t, "virsh"))
	for _, tc := range virshCases() {
		t.Run(tc.name, func(t *testing.T) {
			bin, log := fakeVirsh(t, t.TempDir())
			cfg := tc.cfg
			cfg.Remote, cfg.Binary = &r.cfg, bin
			runVirshCase(t, tc, cfg, log)
		})
	}
}

// TestVirshInterrupt cancels a hanging migration: virsh must get SIGINT
// (on which the real one aborts the job) before anything harsher.
func TestVirshInterrupt(t *testing.T) {
	run := func(t *testing.T, cfg VirshConfig, dir string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := newSyncBuffer()
		done := make(chan error, 1)
		go func() {
			_, err := NewVirsh(cfg).Fire(ctx, out)
			done <- err
		}()
		pids := readPIDs(t, filepath.Join(dir, "slow.pid"), 1, 30*time.Second)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Fire: %v, want context.Canceled", err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "interrupted")); err != nil || string(b) != "interrupted\n" {
			t.Errorf("virsh was not interrupted: %q, %v", b, err)
		}
		waitGone(t, 10*time.Second, pids...)
		t.Logf("output:\n%s", out.String())
	}
	cfg := VirshConfig{Domain: "slow-vm", Destination: "qemu+ssh://dst/system", Flags: []string{"live"}}
	t.Run("local", func(t *testing.T) {
		dir := t.TempDir()
		bin, _ := fakeVirsh(t, dir)
		c := cfg
		c.Binary = bin
		run(t, c, dir)
	})
	t.Run("remote", func(t *testing.T) {
		r := startRemote(t, newNS(t, "vint"))
		dir := t.TempDir()
		bin, _ := fakeVirsh(t, dir)
		c := cfg
		c.Binary, c.Remote = bin, &r.cfg
		run(t, c, dir)
	})
}
