package lab

import (
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"time"
)

// Defaults of Config.
const (
	DefaultPrefix   = "dtlab"
	DefaultCacheDir = "/var/cache/downtime-lab"
	DefaultRunDir   = "/run/downtime-lab"
)

// The lab's fixed addresses. They live only inside the lab's own
// namespaces, so they cannot clash with the machine's networks.
const (
	Client4 = "10.77.0.1"
	Guest4  = "10.77.0.10"
	Client6 = "fd77::1"
	Guest6  = "fd77::10"
)

// Migration ports: each side listens on its own port while it is the
// incoming destination, on 127.0.0.1 of the hosts namespace.
const (
	PortA = 4401
	PortB = 4402
)

// Config says which lab to act on and how to build it. The zero value is a
// usable default lab.
type Config struct {
	// Prefix names the lab's namespaces (PREFIX-hosts, PREFIX-client) and
	// its state directory. Default "dtlab"; tests use a unique one.
	Prefix string
	// CacheDir keeps the guest kernel and initramfs between labs.
	CacheDir string
	// RunDir holds one state directory per lab, RunDir/Prefix.
	RunDir string
	// Bond gives the guest two NICs (netdevs net0 and net1) in an
	// active-backup bond0.
	Bond bool
	// Accel is "auto" (KVM when it really boots the guest, else TCG),
	// "tcg" or "kvm".
	Accel string
	// Community is the guest's SNMP read-only community (default
	// "public"). It is never printed.
	Community string
	// AnnounceRounds, when set, is applied (migrate-set-parameters
	// announce-rounds) to the incoming side that Up or Standby prepares.
	// 0 turns the destination's self-announce off.
	AnnounceRounds *int
	// BootTimeout bounds the wait for the guest's ready marker.
	BootTimeout time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

var prefixRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$`)

func (c Config) withDefaults() (Config, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if !prefixRE.MatchString(c.Prefix) {
		return c, fmt.Errorf("lab: invalid prefix %q (letters, digits, _ . -; at most 15)", c.Prefix)
	}
	if c.CacheDir == "" {
		c.CacheDir = DefaultCacheDir
	}
	if c.RunDir == "" {
		c.RunDir = DefaultRunDir
	}
	if c.Accel == "" {
		c.Accel = "auto"
	}
	switch c.Accel {
	case "auto", "tcg", "kvm":
	default:
		return c, fmt.Errorf("lab: accelerator %q: want auto, tcg or kvm", c.Accel)
	}
	if c.Community == "" {
		c.Community = "public"
	}
	if c.BootTimeout <= 0 {
		c.BootTimeout = 90 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c, nil
}

func (c Config) stateDir() string { return filepath.Join(c.RunDir, c.Prefix) }
func (c Config) hostsNS() string  { return c.Prefix + "-hosts" }
func (c Config) clientNS() string { return c.Prefix + "-client" }
func (c Config) logf(format string, args ...any) {
	fmt.Fprintf(c.Log, format+"\n", args...)
}

// Validate reports a Config that no lab command would accept.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}
