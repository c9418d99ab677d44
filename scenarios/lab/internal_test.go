package lab

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

func TestCPIOExtractsWithBusybox(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("needs busybox (busybox-static) to read the archive back")
	}
	var buf bytes.Buffer
	cw := newCPIOWriter(&buf)
	cw.Dir("etc", 0o755)
	cw.File("etc/deep/conf", 0o600, []byte("a=1\n"))
	cw.File("bin/odd", 0o755, []byte("12345")) // a length that needs padding
	cw.Symlink("bin/sh", "/bin/odd")
	cw.File("empty", 0o644, nil)
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not 4-aligned", buf.Len())
	}
	dir := t.TempDir()
	cmd := exec.Command(bb, "cpio", "-i", "-d")
	cmd.Dir, cmd.Stdin = dir, &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("busybox cpio -i: %v: %s", err, out)
	}
	for name, want := range map[string]string{"etc/deep/conf": "a=1\n", "bin/odd": "12345", "empty": ""} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "etc/deep/conf")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("etc/deep/conf mode: %v %v", st.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || target != "/bin/odd" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
}

// TestModuleOrder uses the kernel in the default cache, when a lab up has
// put one there.
func TestModuleOrder(t *testing.T) {
	root := filepath.Join(DefaultCacheDir, "kernel")
	name, err := newestCachedKernel(root)
	if err != nil {
		t.Skip("no cached guest kernel (run downtime lab up once)")
	}
	k, err := openKernel(filepath.Join(root, name), name)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := moduleOrder(k.ModDir, rootModules)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
	}
	t.Logf("insmod order: %v", names)
	before := func(a, b string) {
		i, j := slices.Index(names, a), slices.Index(names, b)
		if i < 0 || j < 0 || i > j {
			t.Errorf("%s must come before %s in %v", a, b, names)
		}
	}
	before("virtio_ring", "virtio_pci")
	before("virtio", "virtio_net")
	before("failover", "net_failover")
	before("net_failover", "virtio_net")
	before("tls", "bonding")
	if _, err := moduleOrder(k.ModDir, []string{"no_such_module"}); err == nil {
		t.Error("a missing module gave no error")
	}
}

func TestInstallDirKeepsTheWinner(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "k")
	mk := func(name, marker string) string {
		p := filepath.Join(root, name, "x")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, marker), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := installDir(mk("t1", ".complete"), dir); err != nil {
		t.Fatal(err)
	}
	if err := installDir(mk("t2", ".complete"), dir); err != nil {
		t.Fatalf("second install: %v", err)
	}
	// An incomplete leftover is replaced.
	dir2 := filepath.Join(root, "k2")
	if err := installDir(mk("t3", "partial"), dir2); err != nil {
		t.Fatal(err)
	}
	if err := installDir(mk("t4", ".complete"), dir2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, ".complete")); err != nil {
		t.Errorf("leftover not replaced: %v", err)
	}
}

// TestExitedThroughExec: QEMU is started by `ip netns exec`, and while ip
// execs it, /proc/PID/cmdline reads empty (seen on nearly every start), so
// a boot check by command line took a booting QEMU for one that had
// exited ("QEMU A exited during boot" with an empty log, a CI flake).
// exited must say "running" through the exec.
func TestExitedThroughExec(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	ns, err := netns.New(netns.UniqueName("exec"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.Close() })
	file := filepath.Join(t.TempDir(), "serial")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		cmd := exec.Command("ip", "netns", "exec", ns.Name, "tail", "-f", file)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		for range 500 { // the first moments of the child, exec included
			if exited(pid) {
				t.Errorf("pid %d taken for exited while it runs", pid)
				break
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if !exited(pid) {
			t.Errorf("pid %d not taken for exited after it was reaped", pid)
		}
	}
}
