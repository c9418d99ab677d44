package scenarios

import (
	"fmt"
	"os"
)

// Warnings lists what may surprise at run time but is not an error in the
// file: environment variables the scenario names that are not set now, and
// a kind's limit that some of its probes cannot meet the terms of.
// It reads the environment on each call; values are never shown.
func (s *Scenario) Warnings() []string {
	var out []string
	unset := func(what, env string) {
		if env != "" && os.Getenv(env) == "" {
			out = append(out, fmt.Sprintf("%s: environment variable %s is not set", what, env))
		}
	}
	for i, p := range s.Probes {
		what := fmt.Sprintf("probes[%d] (%s)", i, p.Name)
		if p.Kind == "snmp" && p.Version != "3" {
			if p.CommunityEnv == "" {
				out = append(out, what+": no community_env; the community "+DefaultSNMPCommunity+" is used")
			} else if os.Getenv(p.CommunityEnv) == "" {
				out = append(out, fmt.Sprintf("%s: environment variable %s is not set; the community %s is used", what, p.CommunityEnv, DefaultSNMPCommunity))
			}
		}
		for _, env := range []string{p.PasswordEnv, p.PassphraseEnv, p.AuthEnv, p.PrivEnv} {
			unset(what, env)
		}
		if p.Kind == "ssh" && p.IdentityFile == "" && p.PasswordEnv == "" && os.Getenv("SSH_AUTH_SOCK") == "" {
			out = append(out, what+": no identity_file or password_env, and SSH_AUTH_SOCK is not set (no agent)")
		}
		if s.Thresholds[p.Name].MaxTimeToFailoverAddress > 0 && !s.hasFailover(p.Target) {
			out = append(out, fmt.Sprintf("%s: thresholds.%s.max_time_to_failover_address does not apply: target %s has no failover_address", what, p.Kind, p.Target))
		}
	}
	for i, t := range s.Triggers {
		what := fmt.Sprintf("triggers[%d] (%s)", i, t.Name)
		unset(what, t.PasswordEnv)
		unset(what, t.PassphraseEnv)
		if t.Host != "" && t.IdentityFile == "" && t.PasswordEnv == "" && os.Getenv("SSH_AUTH_SOCK") == "" {
			out = append(out, what+": no identity_file or password_env, and SSH_AUTH_SOCK is not set (no agent)")
		}
	}
	return out
}
