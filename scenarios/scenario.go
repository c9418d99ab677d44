// Package scenarios holds the scenario file (types, strict YAML loading with
// file:line errors, defaults, validation) and the runner that carries a
// scenario out: preflight, probes, trigger timeline, recording.
package scenarios

import (
	"cmp"
	"slices"
	"time"
)

// Scenario is a loaded, validated scenario file. Keys are a contract with
// users: add freely, never rename.
type Scenario struct {
	File        string `yaml:"-"` // path it was loaded from
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Targets by name, in file order.
	Targets    []Target             `yaml:"-"`
	Probes     []ProbeSpec          `yaml:"probes"`
	Baseline   time.Duration        `yaml:"baseline"`
	Settle     time.Duration        `yaml:"settle"`
	Triggers   []TriggerSpec        `yaml:"triggers"`
	Thresholds map[string]Threshold `yaml:"thresholds"` // by probe name (or kind, as a default)
	Repeat     int                  `yaml:"repeat"`
	Cooldown   time.Duration        `yaml:"cooldown"`
	// RepeatVerdict is how repeats are judged together: "all" must pass,
	// or "p95": each limit must hold in at least 95 % of the repeats.
	RepeatVerdict string `yaml:"repeat_verdict"`
	// Netns, when set, names the network namespace the probes run in (the
	// built-in lab's client namespace); the CLI re-executes itself there.
	Netns string `yaml:"netns"`
	// Hash is the SHA-256 of the file's bytes, for before/after comparisons.
	Hash string `yaml:"-"`
}

// Target is a named guest: one address, or a group of them.
type Target struct {
	Name            string   `yaml:"-"`
	Address         string   `yaml:"address"`
	FailoverAddress string   `yaml:"failover_address"`
	Addresses       []string `yaml:"addresses"` // group
	File            string   `yaml:"file"`      // group, one address per line
	Range           string   `yaml:"range"`     // group: "a-b" or CIDR
	// Members is the resolved address list: one entry for a single
	// address, every member for a group.
	Members []string `yaml:"-"`
}

// ProbeSpec is one probe entry. Kind decides which keys apply.
type ProbeSpec struct {
	Name     string        `yaml:"name"`
	Kind     string        `yaml:"kind"` // icmp, tcp, ssh, snmp
	Target   string        `yaml:"target"`
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	Stall    time.Duration `yaml:"stall"` // an answer slower than this is a stall (0: off)
	Size     int           `yaml:"size"`  // icmp payload bytes

	// tcp, ssh, snmp
	Port int `yaml:"port"`

	// ssh
	User                  string `yaml:"user"`
	IdentityFile          string `yaml:"identity_file"`
	PassphraseEnv         string `yaml:"passphrase_env"`
	PasswordEnv           string `yaml:"password_env"`
	KnownHosts            string `yaml:"known_hosts"`
	InsecureIgnoreHostKey bool   `yaml:"insecure_ignore_host_key"`

	// snmp
	Version      string `yaml:"version"` // 1, 2c, 3
	CommunityEnv string `yaml:"community_env"`
	OID          string `yaml:"oid"`
	// snmp v3 (authPriv)
	SecurityName string `yaml:"security_name"`
	AuthProtocol string `yaml:"auth_protocol"`
	AuthEnv      string `yaml:"auth_env"`
	PrivProtocol string `yaml:"priv_protocol"`
	PrivEnv      string `yaml:"priv_env"`
}

// TriggerSpec is one step of the timeline. Kind decides which keys apply.
type TriggerSpec struct {
	Name     string        `yaml:"name"`
	Kind     string        `yaml:"kind"` // exec, ssh, qmp, virsh, link, wait
	At       time.Duration `yaml:"at"`   // offset from the end of the baseline
	Timeout  time.Duration `yaml:"timeout"`
	Parallel bool          `yaml:"parallel"` // may overlap the previous step
	// Always: the step also runs when the run is cut short after its
	// timeline began (Ctrl-C, a failed disk), and is not stopped by that;
	// for steps that undo an earlier one (a link brought back up).
	Always bool `yaml:"always"`

	// exec
	Argv []string `yaml:"argv"`

	// ssh (also the connection of virsh and link when host is set)
	Host                  string `yaml:"host"`
	Port                  int    `yaml:"port"`
	User                  string `yaml:"user"`
	IdentityFile          string `yaml:"identity_file"`
	PassphraseEnv         string `yaml:"passphrase_env"`
	PasswordEnv           string `yaml:"password_env"`
	KnownHosts            string `yaml:"known_hosts"`
	InsecureIgnoreHostKey bool   `yaml:"insecure_ignore_host_key"`
	Command               string `yaml:"command"`
	Shell                 string `yaml:"shell"` // "" (POSIX) or powershell

	// qmp
	Socket string        `yaml:"socket"` // QMP unix socket of the source
	Action string        `yaml:"action"` // qmp: migrate, set_link; link: down, up
	URI    string        `yaml:"uri"`    // qmp migrate destination, e.g. tcp:127.0.0.1:4444
	Netdev string        `yaml:"netdev"` // qmp set_link
	Up     *bool         `yaml:"up"`     // qmp set_link
	Poll   time.Duration `yaml:"poll"`   // qmp query-migrate poll interval

	// virsh
	Domain      string   `yaml:"domain"`
	Destination string   `yaml:"destination"`
	Flags       []string `yaml:"flags"`

	// link
	Device string `yaml:"device"`
	Method string `yaml:"method"` // ip (default) or ifupdown

	// wait: uses Timeout-free duration
	Duration time.Duration `yaml:"duration"`
}

// Threshold is the limits one probe (or kind) must stay within.
type Threshold struct {
	MaxGap                   time.Duration `yaml:"max_gap"`
	MaxLost                  *int          `yaml:"max_lost"`
	MaxLossPct               *float64      `yaml:"max_loss_pct"`
	MaxStall                 time.Duration `yaml:"max_stall"`
	Survive                  bool          `yaml:"survive"`
	MaxTimeToFailoverAddress time.Duration `yaml:"max_time_to_failover_address"`
	MaxHypervisorDowntime    time.Duration `yaml:"max_hypervisor_downtime"`
}

// Timeline returns the triggers in the order the run fires them: by at,
// and in file order where at is equal (a step without at has the one of
// the step above it).
func (s *Scenario) Timeline() []TriggerSpec {
	steps := slices.Clone(s.Triggers)
	slices.SortStableFunc(steps, func(a, b TriggerSpec) int { return cmp.Compare(a.At, b.At) })
	return steps
}
