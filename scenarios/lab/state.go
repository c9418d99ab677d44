package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State is what Up records in state.json so that later commands (status,
// standby, down), even from other processes, act on the same lab.
type State struct {
	Prefix     string `json:"prefix"`
	Dir        string `json:"state_dir"`
	HostsNS    string `json:"hosts_netns"`  // bridge, taps, QEMU
	ClientNS   string `json:"client_netns"` // where probes run
	Bridge     string `json:"bridge"`
	Accel      string `json:"accelerator"` // tcg or kvm
	Bond       bool   `json:"bond"`
	Client4    string `json:"client_ipv4"`
	Client6    string `json:"client_ipv6"`
	Guest4     string `json:"guest_ipv4"`
	Guest6     string `json:"guest_ipv6"`
	Key        string `json:"ssh_key"`     // probes' private key (root@guest)
	KnownHosts string `json:"known_hosts"` // the guest's host key
	Kernel     string `json:"kernel"`
	Initrd     string `json:"initrd"`
	Append     string `json:"append"` // kernel command line
	// Active is the side whose QEMU runs the guest, as of the last lab
	// command; query QMP (Status) for the live answer.
	Active  string    `json:"active"`
	Sides   [2]Side   `json:"sides"`   // A, B
	Created time.Time `json:"created"` // wall clock, a label only
}

// Side is one of the two "hypervisor hosts".
type Side struct {
	Name    string   `json:"name"` // A or B
	PID     int      `json:"pid"`  // QEMU's, 0 when not started
	QMP     string   `json:"qmp"`  // unix socket
	Serial  string   `json:"serial"`
	Log     string   `json:"log"` // QEMU's own stdout and stderr
	Taps    []string `json:"taps"`
	Port    int      `json:"incoming_port"` // listens here as a destination
	Netdevs []string `json:"netdevs"`       // net0 (and net1 with a bond)
}

// MigrateURI is the address to migrate to when this side is the
// destination.
func (s Side) MigrateURI() string { return fmt.Sprintf("tcp:127.0.0.1:%d", s.Port) }

// Side returns the side named name (A or B).
func (st *State) Side(name string) (*Side, error) {
	for i := range st.Sides {
		if st.Sides[i].Name == name {
			return &st.Sides[i], nil
		}
	}
	return nil, fmt.Errorf("lab: no side %q", name)
}

// Other returns the side that is not name.
func (st *State) Other(name string) *Side {
	if name == "A" {
		return &st.Sides[1]
	}
	return &st.Sides[0]
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

func (st *State) save() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(st.Dir) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(st.Dir))
}

// ErrNoLab means there is no state for the lab: it is not up.
var ErrNoLab = errors.New("lab: not up (no state)")

// LoadState reads the state of the lab cfg names.
func LoadState(cfg Config) (*State, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(statePath(cfg.stateDir()))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoLab
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", statePath(cfg.stateDir()), err)
	}
	return &st, nil
}
