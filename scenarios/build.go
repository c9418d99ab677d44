package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/probes/sshdial"
	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// instance is one running probe: bound to one address of its target, or,
// for ICMP to a group, to every member at once (one socket for all).
type instance struct {
	spec  ProbeSpec
	metas []reports.ProbeMeta
	probe probes.Probe
	// late instances probe a failover address: they start with the first
	// trigger, since the address is not expected to answer before.
	late bool
}

// metaOf describes every probe instance of the scenario, one per probe and
// target member, in scenario order.
func metaOf(sc *Scenario) []reports.ProbeMeta {
	var out []reports.ProbeMeta
	for _, p := range sc.Probes {
		t := sc.target(p.Target)
		if t == nil {
			continue
		}
		for _, addr := range t.Members {
			out = append(out, reports.ProbeMeta{
				Name: p.Name, Kind: p.Kind, Target: p.Target, Address: addr,
				Interval: p.Interval, Timeout: p.Timeout, Stall: p.Stall,
			})
		}
		if t.FailoverAddress != "" && len(t.Members) == 1 {
			out = append(out, reports.ProbeMeta{
				Name: p.Name, Kind: p.Kind, Target: p.Target, Address: t.FailoverAddress,
				Interval: p.Interval, Timeout: p.Timeout, Stall: p.Stall, FailoverFor: t.Members[0],
			})
		}
	}
	return out
}

func (sc *Scenario) probe(name string) ProbeSpec {
	for _, p := range sc.Probes {
		if p.Name == name {
			return p
		}
	}
	return ProbeSpec{}
}

func (sc *Scenario) target(name string) *Target {
	for i := range sc.Targets {
		if sc.Targets[i].Name == name {
			return &sc.Targets[i]
		}
	}
	return nil
}

// thresholdsOf turns the scenario's thresholds into the report's form.
func thresholdsOf(sc *Scenario) map[string]reports.Threshold {
	out := make(map[string]reports.Threshold, len(sc.Thresholds))
	for k, t := range sc.Thresholds {
		out[k] = reports.Threshold{
			MaxGap: t.MaxGap, MaxLost: t.MaxLost, MaxLossPct: t.MaxLossPct,
			MaxStall: t.MaxStall, Survive: t.Survive,
			MaxTimeToFailoverAddress: t.MaxTimeToFailoverAddress, MaxHypervisorDowntime: t.MaxHypervisorDowntime,
		}
	}
	return out
}

// groupICMP makes the ICMP probe of a whole group: one socket per address
// family and one scheduler for every member, rather than a pinger (and a
// raw socket that sees every ICMP packet of the host) per member.
func groupICMP(spec ProbeSpec, metas []reports.ProbeMeta, clock probes.Clock) (probes.Probe, error) {
	specs := make([]probes.Spec, len(metas))
	for i, m := range metas {
		specs[i] = probes.Spec{Name: m.Name, Target: m.Target, Address: m.Address, Interval: m.Interval, Timeout: m.Timeout, Clock: clock}
	}
	return probes.NewICMPGroup(specs, probes.ICMPConfig{Size: spec.Size})
}

// buildProbe makes the probe of one instance. Secrets are read from the
// environment here, by name, and go nowhere but into the probe.
func buildProbe(spec ProbeSpec, addr string, clock probes.Clock, warn func(string)) (probes.Probe, error) {
	base := probes.Spec{
		Name: spec.Name, Target: spec.Target, Address: addr,
		Interval: spec.Interval, Timeout: spec.Timeout, Clock: clock,
	}
	switch spec.Kind {
	case "icmp":
		return probes.NewICMP(base, probes.ICMPConfig{Size: spec.Size})
	case "tcp":
		return probes.NewTCP(base, spec.Port)
	case "ssh":
		cfg := sshConfig(addr, spec.Port, spec.User, spec.IdentityFile, spec.PassphraseEnv, spec.PasswordEnv, spec.KnownHosts, spec.InsecureIgnoreHostKey, warn)
		cfg.Timeout = spec.Timeout
		return probes.NewSSH(base, cfg)
	case "snmp":
		// An unset variable falls back to "public"; Scenario.Warnings says so.
		community := "public"
		if v := os.Getenv(spec.CommunityEnv); spec.CommunityEnv != "" && v != "" {
			community = v
		}
		return probes.NewSNMP(base, probes.SNMPConfig{
			Port: uint16(spec.Port), Version: spec.Version, Community: community, OID: spec.OID,
			SecurityName: spec.SecurityName,
			AuthProtocol: spec.AuthProtocol, AuthPass: os.Getenv(spec.AuthEnv),
			PrivProtocol: spec.PrivProtocol, PrivPass: os.Getenv(spec.PrivEnv),
		})
	default:
		return nil, fmt.Errorf("probe kind %q is not available in this build", spec.Kind)
	}
}

// sshConfig gathers the connection settings shared by the ssh probe and the
// triggers that run over SSH. Secrets come from the environment, by name.
func sshConfig(host string, port int, user, identity, passphraseEnv, passwordEnv, knownHosts string, insecure bool, warn func(string)) sshdial.Config {
	cfg := sshdial.Config{
		Host: host, Port: port, User: user,
		IdentityFile: expandHome(identity), KnownHosts: expandHome(knownHosts),
		InsecureIgnoreHostKey: insecure, Warn: warn,
	}
	if passphraseEnv != "" {
		cfg.Passphrase = os.Getenv(passphraseEnv)
	}
	if passwordEnv != "" {
		cfg.Password = os.Getenv(passwordEnv)
	}
	// Without a key file or a password, the agent is the way in.
	cfg.UseAgent = os.Getenv("SSH_AUTH_SOCK") != ""
	if insecure {
		warn(sshdial.InsecureWarning(host))
	}
	return cfg
}

// remote is the SSH connection of a trigger that acts on a host, or nil
// for one that acts here.
func remote(spec TriggerSpec, warn func(string)) *sshdial.Config {
	if spec.Host == "" {
		return nil
	}
	cfg := sshConfig(spec.Host, spec.Port, spec.User, spec.IdentityFile, spec.PassphraseEnv, spec.PasswordEnv, spec.KnownHosts, spec.InsecureIgnoreHostKey, warn)
	return &cfg
}

// buildTrigger makes the trigger of one timeline step.
func buildTrigger(spec TriggerSpec, env []string, warn func(string)) (triggers.Trigger, error) {
	switch spec.Kind {
	case "ssh":
		return triggers.NewSSH(*remote(spec, warn), spec.Command, spec.Shell), nil
	case "virsh":
		return triggers.NewVirsh(triggers.VirshConfig{
			Domain: spec.Domain, Destination: spec.Destination, Flags: spec.Flags, Remote: remote(spec, warn),
		}), nil
	case "link":
		return triggers.NewLink(triggers.LinkConfig{
			Device: spec.Device, Action: spec.Action, Method: spec.Method, Remote: remote(spec, warn),
		}), nil
	case "exec":
		argv := spec.Argv
		// "downtime" in a scenario means this very binary, wherever it
		// was started from (the lab's standby step uses it).
		if len(argv) > 0 && argv[0] == "downtime" {
			if self, err := os.Executable(); err == nil {
				argv = append([]string{self}, argv[1:]...)
			}
		}
		return &triggers.Exec{Argv: argv, Env: env}, nil
	case "qmp":
		cfg := triggers.QMPConfig{Socket: spec.Socket, Action: spec.Action, URI: spec.URI, Netdev: spec.Netdev, Poll: spec.Poll}
		if spec.Up != nil {
			cfg.Up = *spec.Up
		}
		return triggers.NewQMP(cfg), nil
	case "wait":
		return &triggers.Wait{Duration: spec.Duration}, nil
	default:
		return nil, fmt.Errorf("trigger kind %q is not available in this build", spec.Kind)
	}
}

// expandHome resolves a leading ~/ against $HOME.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, rest)
		}
	}
	return p
}
