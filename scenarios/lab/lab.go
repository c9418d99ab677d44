// Package lab is downtime's built-in local lab: a real QEMU guest that can
// be live-migrated between two "hypervisor hosts" on one machine while the
// probes measure it.
//
// The lab lives in two network namespaces. PREFIX-hosts holds a bridge with
// the taps of QEMU A and QEMU B (the two hosts) and one end of a veth;
// PREFIX-client holds the other end, where the probes run. The guest is
// Debian's cloud kernel with a small initramfs (busybox, dropbear, snmpd,
// a TCP echo service on port 7), fetched and built into a cache directory.
// Its state (namespaces, addresses, QMP sockets, PIDs, keys) is recorded in
// RunDir/PREFIX/state.json, so that status, standby and down can run from
// other processes.
package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// Up builds the lab and boots the guest on side A, with side B waiting as
// the incoming migration destination. Leftovers of an earlier lab with the
// same prefix (a crash, a forgotten down) are removed first. On failure
// everything Up made is removed again.
func Up(ctx context.Context, cfg Config) (*State, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("lab: needs root (network namespaces, taps)")
	}
	if err := Missing(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if _, err := LoadState(cfg); err == nil {
		cfg.logf("lab: taking the earlier lab %s down first", cfg.Prefix)
	}
	if err := Down(cfg); err != nil {
		return nil, fmt.Errorf("lab: clear leftovers: %w", err)
	}
	begin := time.Now()
	k, err := fetchKernel(ctx, cfg.CacheDir, cfg.logf)
	if err != nil {
		return nil, fmt.Errorf("lab: guest kernel: %w", err)
	}
	base, err := buildBaseInitramfs(ctx, cfg.CacheDir, k)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	cfg.logf("lab: guest assets ready in %v (kernel %s)", time.Since(begin).Round(time.Millisecond), k.Release)

	st := newState(cfg, k)
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		return nil, err
	}
	fail := func(err error) (*State, error) {
		if derr := Down(cfg); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, fmt.Errorf("lab: %w", err)
	}
	keys, err := makeKeys(ctx, st.Dir, []string{st.Guest4, st.Guest6})
	if err != nil {
		return fail(err)
	}
	st.Key, st.KnownHosts = keys.ClientKey, keys.KnownHosts
	if err := writeInitrd(st.Initrd, base, keys, cfg.Community); err != nil {
		return fail(err)
	}
	if err := st.save(); err != nil { // from here on Down finds what to undo
		return fail(err)
	}
	if err := setupNetwork(ctx, st); err != nil {
		return fail(err)
	}
	a, b := &st.Sides[0], &st.Sides[1]
	bootStart := time.Now()
	if err := bootFirst(ctx, cfg, st, a); err != nil {
		return fail(err)
	}
	cfg.logf("lab: guest ready on A under %s after %v", st.Accel, time.Since(bootStart).Round(time.Millisecond))
	st.Active = "A"
	if err := startIncoming(ctx, cfg, st, b); err != nil {
		return fail(err)
	}
	if err := st.save(); err != nil {
		return fail(err)
	}
	cfg.logf("lab: up in %v; state %s", time.Since(begin).Round(time.Millisecond), statePath(st.Dir))
	return st, nil
}

func newState(cfg Config, k *guestKernel) *State {
	dir := cfg.stateDir()
	st := &State{
		Prefix: cfg.Prefix, Dir: dir,
		HostsNS: cfg.hostsNS(), ClientNS: cfg.clientNS(), Bridge: bridgeName,
		Bond:    cfg.Bond,
		Client4: Client4, Client6: Client6, Guest4: Guest4, Guest6: Guest6,
		Kernel: k.Vmlinuz, Initrd: filepath.Join(dir, "initrd.img"),
		Created: time.Now(),
	}
	st.Append = fmt.Sprintf("console=ttyS0 quiet panic=-1 dtlab.ip4=%s/24 dtlab.ip6=%s/64", st.Guest4, st.Guest6)
	if cfg.Bond {
		st.Append += " dtlab.bond=1"
	}
	for i, name := range []string{"A", "B"} {
		s := Side{
			Name: name, Port: PortA + i,
			QMP:    filepath.Join(dir, name+".qmp"),
			Serial: filepath.Join(dir, name+".serial.log"),
			Log:    filepath.Join(dir, name+".qemu.log"),
		}
		nics := 1
		if cfg.Bond {
			nics = 2
		}
		for n := 0; n < nics; n++ {
			s.Taps = append(s.Taps, fmt.Sprintf("tap%s%d", name, n))
			s.Netdevs = append(s.Netdevs, fmt.Sprintf("net%d", n))
		}
		st.Sides[i] = s
	}
	return st
}

// bootFirst boots the guest on side s and waits for its ready marker and
// an answered ping. With Accel auto it tries KVM only where the CPU shows
// vmx or svm, and falls back to TCG when that boot does not come ready.
func bootFirst(ctx context.Context, cfg Config, st *State, s *Side) error {
	accels := []string{cfg.Accel}
	if cfg.Accel == "auto" {
		accels = []string{"tcg"}
		if kvmLooksUsable() {
			accels = []string{"kvm", "tcg"}
		}
	}
	var errs []error
	for i, accel := range accels {
		st.Accel = accel
		timeout := cfg.BootTimeout
		if i < len(accels)-1 {
			timeout = min(timeout, 30*time.Second) // a KVM boot that hangs must not cost long
		}
		err := boot(ctx, cfg, st, s, timeout)
		if err == nil {
			return nil
		}
		cfg.logf("lab: boot with %s failed: %v", accel, err)
		errs = append(errs, fmt.Errorf("%s: %w", accel, err))
		_ = stopQEMU(s, st.Dir)
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

func boot(ctx context.Context, cfg Config, st *State, s *Side, timeout time.Duration) error {
	_ = os.Remove(s.Serial)
	deadline := time.Now().Add(timeout)
	if err := startQEMU(st, s, false); err != nil {
		return err
	}
	if err := st.save(); err != nil {
		return err
	}
	if err := waitReady(ctx, st, s, timeout); err != nil {
		return err
	}
	for {
		err := pingGuest(ctx, st.ClientNS, st.Guest4)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("guest ready but not answering: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kvmLooksUsable: /dev/kvm alone is not enough (a paravirtual KVM without
// vmx/svm starts QEMU but never runs the guest).
func kvmLooksUsable() bool {
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "flags") {
			f := " " + l + " "
			return strings.Contains(f, " vmx ") || strings.Contains(f, " svm ")
		}
	}
	return false
}

// startIncoming starts side s as a migration destination and waits until
// QEMU listens.
func startIncoming(ctx context.Context, cfg Config, st *State, s *Side) error {
	_ = os.Remove(s.Serial)
	if err := startQEMU(st, s, true); err != nil {
		return err
	}
	if err := st.save(); err != nil {
		return err
	}
	if err := waitRunState(ctx, s, "inmigrate", 30*time.Second); err != nil {
		return err
	}
	return applyAnnounce(ctx, cfg, s)
}

// applyAnnounce sets the destination's self-announce rounds when asked.
// They are read on the destination when the migration completes.
func applyAnnounce(ctx context.Context, cfg Config, s *Side) error {
	if cfg.AnnounceRounds == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := triggers.QMPCall(ctx, s.QMP, "migrate-set-parameters", map[string]int{"announce-rounds": *cfg.AnnounceRounds})
	if err == nil {
		cfg.logf("lab: %s: announce-rounds %d", s.Name, *cfg.AnnounceRounds)
	}
	return err
}

// Down stops the lab's QEMUs (only the PIDs it recorded, and only if they
// still are this lab's), deletes its namespaces and removes its state. It
// is idempotent and also clears what a crashed Up left behind.
func Down(cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	var errs []error
	st, err := LoadState(cfg)
	switch {
	case err == nil:
		for i := range st.Sides {
			if err := stopQEMU(&st.Sides[i], st.Dir); err != nil {
				errs = append(errs, err)
			}
		}
	case !errors.Is(err, ErrNoLab):
		errs = append(errs, err) // unreadable state: still remove the rest
	}
	for _, pid := range strays(cfg) {
		if err := stopQEMU(&Side{Name: "(not in state.json)", PID: pid}, cfg.stateDir()); err != nil {
			errs = append(errs, err)
		}
	}
	if err := deleteNamespaces(cfg.hostsNS(), cfg.clientNS()); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := os.RemoveAll(cfg.stateDir()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Info is the live status of a lab.
type Info struct {
	*State
	// Sides maps A and B to QEMU's run state: "running" (the guest runs
	// there), "inmigrate" (waiting as a destination), "postmigrate",
	// "stopped" (no QEMU), ...
	RunStates map[string]string `json:"run_states"`
	// Running is the side whose QEMU runs the guest, "" if none.
	Running string `json:"running"`
}

// Status reports the lab's accelerator, addresses, QMP sockets, and which
// side runs the guest, asking each QEMU over QMP.
func Status(ctx context.Context, cfg Config) (*Info, error) {
	st, err := LoadState(cfg)
	if err != nil {
		return nil, err
	}
	info := &Info{State: st, RunStates: map[string]string{}}
	for i := range st.Sides {
		s := &st.Sides[i]
		rs := "stopped"
		if ourProcess(s.PID, st.Dir) {
			if rs = runState(ctx, s); rs == "" {
				rs = "unresponsive"
			}
		}
		info.RunStates[s.Name] = rs
		if rs == "running" {
			info.Running = s.Name
		}
	}
	return info, nil
}

// Standby makes the side that does not run the guest an incoming migration
// destination again (after a migration its QEMU has quit or sits in
// postmigrate), so that a scenario can migrate back. A side already waiting
// as a destination is kept.
func Standby(ctx context.Context, cfg Config) (*State, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	info, err := Status(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st := info.State
	if info.Running == "" {
		return nil, fmt.Errorf("lab: no side runs the guest (A %s, B %s)", info.RunStates["A"], info.RunStates["B"])
	}
	st.Active = info.Running
	idle := st.Other(info.Running)
	if info.RunStates[idle.Name] == "inmigrate" {
		cfg.logf("lab: %s already waits as the destination", idle.Name)
		if err := applyAnnounce(ctx, cfg, idle); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		return st, st.save()
	}
	if err := stopQEMU(idle, st.Dir); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := startIncoming(ctx, cfg, st, idle); err != nil {
		_ = st.save()
		return nil, fmt.Errorf("lab: %w", err)
	}
	cfg.logf("lab: %s waits as the destination on %s", idle.Name, idle.MigrateURI())
	return st, st.save()
}
