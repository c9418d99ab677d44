package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// guestInit is the guest's /init.
//
//go:embed guestinit.sh
var guestInit []byte

// readyMarker is what /init prints on the serial console once every
// daemon has started.
const readyMarker = "DOWNTIME-LAB-READY"

// initramfsFormat changes whenever the layout below changes, so that cached
// archives built by older code are not reused.
const initramfsFormat = "dtlab-initramfs-1"

// guestBinaries are copied into the guest with their shared libraries.
var guestBinaries = []string{"dropbear", "snmpd"}

// hostFile is a file of this machine copied into the guest.
type hostFile struct {
	Src, Dst string
	Mode     os.FileMode
}

// buildBaseInitramfs returns the path of the shared part of the guest's
// initramfs (busybox, daemons, libraries, modules, /init), building it
// unless a cached archive with the same inputs exists. Per-lab secrets go
// in a separate overlay archive (see writeOverlay).
func buildBaseInitramfs(ctx context.Context, cacheDir string, k *guestKernel) (string, error) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("busybox not found: install busybox-static")
	}
	if dynamic, err := isDynamic(busybox); err != nil || dynamic {
		return "", fmt.Errorf("%s is not a static busybox: install busybox-static", busybox)
	}
	applets, err := busyboxApplets(ctx, busybox)
	if err != nil {
		return "", err
	}
	mods, err := moduleOrder(k.ModDir, rootModules)
	if err != nil {
		return "", err
	}
	files := []hostFile{{Src: busybox, Dst: "bin/busybox", Mode: 0o755}}
	libs := map[string]bool{}
	for _, name := range guestBinaries {
		p, err := exec.LookPath(name)
		if err != nil {
			if p, err = exec.LookPath("/usr/sbin/" + name); err != nil {
				return "", fmt.Errorf("%s not found: run scenarios/lab/install-deps.sh", name)
			}
		}
		files = append(files, hostFile{Src: p, Dst: "usr/sbin/" + name, Mode: 0o755})
		deps, err := sharedLibs(ctx, p)
		if err != nil {
			return "", err
		}
		for _, l := range deps {
			libs[l] = true
		}
	}
	libList := make([]string, 0, len(libs))
	for l := range libs {
		libList = append(libList, l)
	}
	sort.Strings(libList)
	for _, l := range libList {
		files = append(files, hostFile{Src: l, Dst: l, Mode: 0o755})
	}
	var modList strings.Builder
	for _, m := range mods {
		files = append(files, hostFile{Src: m.Path, Dst: "lib/modules/" + m.Name + ".ko", Mode: 0o644})
		modList.WriteString(m.Name + "\n")
	}

	key, err := initramfsKey(files, applets, modList.String())
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "initramfs")
	out := filepath.Join(dir, key[:16]+".cpio")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	err = writeFileAtomic(out, 0o644, func(w io.Writer) error {
		cw := newCPIOWriter(w)
		for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "root", "etc/dtlab", "var/log", "var/lib/snmp"} {
			cw.Dir(d, 0o755)
		}
		cw.CharDev("dev/console", 0o600, 5, 1)
		cw.CharDev("dev/null", 0o666, 1, 3)
		for _, f := range files {
			data, err := os.ReadFile(f.Src)
			if err != nil {
				return err
			}
			cw.File(f.Dst, f.Mode, data)
		}
		for _, a := range applets {
			cw.Symlink(a, "/bin/busybox")
		}
		cw.File("init", 0o755, guestInit)
		cw.File("etc/dtlab/modules", 0o644, []byte(modList.String()))
		for name, content := range guestEtc {
			cw.File(name, 0o644, []byte(content))
		}
		return cw.Close()
	})
	if err != nil {
		return "", fmt.Errorf("build initramfs: %w", err)
	}
	return out, nil
}

// guestEtc holds the guest's small configuration files.
var guestEtc = map[string]string{
	"etc/passwd":        "root:x:0:0:root:/root:/bin/sh\n",
	"etc/group":         "root:x:0:\n",
	"etc/shells":        "/bin/sh\n",
	"etc/hosts":         "127.0.0.1 localhost\n::1 localhost\n",
	"etc/nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files\n",
}

// initramfsKey hashes every input of the base archive. Host files are
// keyed by path, size and modification time, as make would, which is
// enough to notice a package upgrade without reading 25 MB.
func initramfsKey(files []hostFile, applets []string, modList string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", initramfsFormat, guestInit, modList)
	for _, a := range applets {
		fmt.Fprintln(h, a)
	}
	for name, c := range guestEtc {
		fmt.Fprintf(h, "%s=%q\n", name, c)
	}
	for _, f := range files {
		st, err := os.Stat(f.Src)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %s %o %d %d\n", f.Src, f.Dst, f.Mode, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// busyboxApplets lists the applet paths to link to busybox, without the
// busybox entry itself (a link there would replace the binary).
func busyboxApplets(ctx context.Context, busybox string) ([]string, error) {
	out, err := exec.CommandContext(ctx, busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list-full: %w", err)
	}
	var applets []string
	for _, l := range strings.Fields(string(out)) {
		l = strings.Trim(l, "/")
		if l == "" || filepath.Base(l) == "busybox" || strings.Contains(l, "..") {
			continue
		}
		applets = append(applets, l)
	}
	sort.Strings(applets)
	return applets, nil
}

// sharedLibs lists the absolute paths ldd reports for a binary, the
// dynamic loader included.
func sharedLibs(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		}
	}
	return libs, nil
}

// writeFileAtomic writes path through a temporary file in the same
// directory and renames it into place, so readers never see a partial file
// and concurrent builders never corrupt each other.
func writeFileAtomic(path string, perm os.FileMode, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
