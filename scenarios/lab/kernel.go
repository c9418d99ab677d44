package lab

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// kernelMeta is the Debian package whose dependency names the current cloud
// kernel image.
const kernelMeta = "linux-image-cloud-amd64"

// rootModules are the modules the guest needs; their dependencies are added.
var rootModules = []string{"virtio_pci", "virtio_net", "bonding"}

// guestKernel is an extracted (never installed) Debian cloud kernel.
type guestKernel struct {
	Package string // e.g. linux-image-6.1.0-56-cloud-amd64
	Release string // e.g. 6.1.0-56-cloud-amd64
	Vmlinuz string
	ModDir  string // .../lib/modules/<release>
}

// fetchKernel returns the current cloud kernel from the cache, fetching it
// with `apt-get download` and `dpkg -x` when it is not there yet. When apt
// cannot name the current version (no package lists, offline), the newest
// kernel already in the cache is used.
func fetchKernel(ctx context.Context, cacheDir string, logf func(string, ...any)) (*guestKernel, error) {
	root := filepath.Join(cacheDir, "kernel")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	pkg, aptErr := resolveKernelPackage(ctx, root)
	if aptErr != nil {
		cached, err := newestCachedKernel(root)
		if err != nil {
			return nil, fmt.Errorf("%w (and no kernel in %s; run scenarios/lab/install-deps.sh first)", aptErr, root)
		}
		logf("lab: %v; using cached %s", aptErr, cached)
		pkg = cached
	}
	dir := filepath.Join(root, pkg)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		logf("lab: fetching %s with apt-get download", pkg)
		if err := downloadKernel(ctx, root, pkg, dir); err != nil {
			return nil, err
		}
	}
	return openKernel(dir, pkg)
}

// aptLists is where apt keeps the package lists; its modification time
// changes when apt-get update brings new ones.
const aptLists = "/var/lib/apt/lists"

// resolveKernelPackage names the current kernel package. apt-cache takes
// seconds here, so the answer is remembered for as long as apt's package
// lists stay the same.
func resolveKernelPackage(ctx context.Context, root string) (string, error) {
	memo := filepath.Join(root, "current")
	st, err := os.Stat(aptLists)
	if err != nil {
		return currentKernelPackage(ctx)
	}
	stamp := strconv.FormatInt(st.ModTime().UnixNano(), 10)
	if b, err := os.ReadFile(memo); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 && f[0] == stamp {
			return f[1], nil
		}
	}
	pkg, err := currentKernelPackage(ctx)
	if err == nil {
		_ = os.WriteFile(memo, []byte(stamp+" "+pkg+"\n"), 0o644) // only a shortcut
	}
	return pkg, err
}

// currentKernelPackage asks apt which versioned image the meta package
// depends on.
func currentKernelPackage(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", kernelMeta).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %w", kernelMeta, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("apt-cache depends %s: no linux-image dependency listed", kernelMeta)
}

func newestCachedKernel(root string) (string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(root, e.Name(), ".complete")); err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", errors.New("no cached kernel")
	}
	sort.Strings(names)
	return names[len(names)-1], nil
}

// downloadKernel fetches and unpacks pkg into a private temporary directory
// and renames it into place, so a crash never leaves a half-extracted tree
// that looks complete.
func downloadKernel(ctx context.Context, root, pkg, dir string) error {
	tmp, err := os.MkdirTemp(root, ".fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dl := exec.CommandContext(ctx, "apt-get", "download", pkg)
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s: %w: %s", pkg, err, lastLine(out))
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s: expected one .deb, found %d", pkg, len(debs))
	}
	x := filepath.Join(tmp, "x")
	if out, err := exec.CommandContext(ctx, "dpkg", "-x", debs[0], x).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg -x %s: %w: %s", filepath.Base(debs[0]), err, lastLine(out))
	}
	if err := os.WriteFile(filepath.Join(x, ".complete"), nil, 0o644); err != nil {
		return err
	}
	return installDir(x, dir)
}

// installDir renames the complete tree x to dir. Rename never replaces a
// non-empty directory, so a concurrent lab up that got there first wins
// and its tree stays intact; an incomplete leftover is moved aside first.
func installDir(x, dir string) error {
	err := os.Rename(x, dir)
	if err == nil {
		return nil
	}
	if _, serr := os.Stat(filepath.Join(dir, ".complete")); serr == nil {
		return nil // someone else installed it
	}
	aside := filepath.Join(filepath.Dir(x), "leftover")
	if rerr := os.Rename(dir, aside); rerr == nil {
		_ = os.RemoveAll(aside)
		err = os.Rename(x, dir)
	}
	if err != nil {
		return fmt.Errorf("install kernel into cache: %w", err)
	}
	return nil
}

func openKernel(dir, pkg string) (*guestKernel, error) {
	vmlinuz, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	mods, _ := filepath.Glob(filepath.Join(dir, "lib", "modules", "*"))
	if len(vmlinuz) != 1 || len(mods) != 1 {
		return nil, fmt.Errorf("kernel cache %s: expected one vmlinuz and one modules tree", dir)
	}
	return &guestKernel{Package: pkg, Release: filepath.Base(mods[0]), Vmlinuz: vmlinuz[0], ModDir: mods[0]}, nil
}

// kmod is one kernel module file.
type kmod struct {
	Name string // with underscores, as the kernel names it
	Path string
}

// moduleOrder returns roots and everything they depend on, each after its
// dependencies: the order insmod needs when there is no modules.dep.
func moduleOrder(modDir string, roots []string) ([]kmod, error) {
	index := map[string]string{}
	err := filepath.WalkDir(filepath.Join(modDir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			index[modName(strings.TrimSuffix(d.Name(), ".ko"))] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index modules: %w", err)
	}
	var order []kmod
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(chain, name), " -> "))
		}
		p, ok := index[name]
		if !ok {
			return fmt.Errorf("module %s not found under %s (compressed modules are not supported)", name, modDir)
		}
		state[name] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, kmod{Name: name, Path: p})
		return nil
	}
	for _, r := range roots {
		if err := visit(modName(r), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleDepends reads the depends= entry of a module's .modinfo section,
// which is what `strings X.ko | grep ^depends=` shows.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: .modinfo: %w", filepath.Base(path), err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				if d = strings.TrimSpace(d); d != "" {
					deps = append(deps, modName(d))
				}
			}
			return deps, nil
		}
	}
	return nil, nil
}

func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// lastLine returns the last non-empty line of a command's output, for
// error messages that stay one line long.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
