package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// checker validates a decoded scenario and fills in its defaults. It reads
// the decoder's record of which keys were written, and where.
type checker struct {
	*yamlDecoder
	s   *Scenario
	dir string // the scenario file's directory, for relative paths
}

// has reports whether parent.key was written and decoded.
func (c *checker) has(path string) bool { return c.set[path] && !c.bad[path] }

// lineOf is the line of parent.key when written, else of parent.
func (c *checker) lineOf(parent, key string) int {
	if l, ok := c.lines[joinPath(parent, key)]; ok {
		return l
	}
	return c.lines[parent]
}

// fail reports a problem with parent.key.
func (c *checker) fail(parent, key, format string, args ...any) {
	c.errAt(c.lineOf(parent, key), joinPath(parent, key), format, args...)
}

// shown is how a value appears in a message: as written, or as defaulted.
func (c *checker) shown(parent, key string, v fmt.Stringer) string {
	if raw, ok := c.raw[joinPath(parent, key)]; ok {
		return quote(raw)
	}
	if d, ok := v.(time.Duration); ok {
		return quote(fmtDuration(d)) + " (the default)"
	}
	return quote(v.String()) + " (the default)"
}

// duration defaults an unset duration and checks it lies in lo..hi.
// lo == 1ns reads as "more than 0". It reports whether the value is usable.
func (c *checker) duration(parent, key string, v *time.Duration, def, lo, hi time.Duration) bool {
	path := joinPath(parent, key)
	if c.bad[path] {
		return false
	}
	if !c.set[path] {
		*v = def
	}
	switch {
	case *v < 0 && lo >= 0:
		c.fail(parent, key, "%s is negative", c.shown(parent, key, *v))
	case *v < lo && lo == 1:
		c.fail(parent, key, "%s must be more than 0", c.shown(parent, key, *v))
	case *v < lo:
		c.fail(parent, key, "%s is too short (at least %s)", c.shown(parent, key, *v), fmtDuration(lo))
	case *v > hi:
		c.fail(parent, key, "%s is too long (at most %s)", c.shown(parent, key, *v), fmtDuration(hi))
	default:
		return true
	}
	return false
}

// checkStall defaults and checks a probe's stall threshold. A def of 0
// leaves it off when unset (icmp, snmp: only lost answers open a gap); set,
// it must lie between 1ms and the timeout.
func (c *checker) checkStall(path string, p *ProbeSpec, def time.Duration, timeoutOK bool) {
	if def == 0 && !c.set[joinPath(path, "stall")] {
		return
	}
	if c.duration(path, "stall", &p.Stall, def, minProbeDuration, maxProbeDuration) &&
		timeoutOK && p.Stall > p.Timeout {
		c.fail(path, "stall", "%s is longer than the timeout (%s)", c.shown(path, "stall", p.Stall), fmtDuration(p.Timeout))
	}
}

// integer defaults an unset integer and checks it lies in lo..hi.
func (c *checker) integer(parent, key string, v *int, def, lo, hi int) bool {
	path := joinPath(parent, key)
	if c.bad[path] {
		return false
	}
	if !c.set[path] {
		*v = def
	}
	if *v < lo || *v > hi {
		c.fail(parent, key, "%d is out of range (%d to %d)", *v, lo, hi)
		return false
	}
	return true
}

// choice defaults an unset string and checks it is one of choices. With
// def == "" and "" not a choice, the key is required.
func (c *checker) choice(parent, key string, v *string, def string, choices []string) bool {
	path := joinPath(parent, key)
	if c.bad[path] {
		return false
	}
	if !c.set[path] {
		*v = def
	}
	if slices.Contains(choices, *v) {
		return true
	}
	var shown []string
	for _, ch := range choices {
		if ch != "" {
			shown = append(shown, ch)
		}
	}
	if *v == "" {
		c.fail(parent, key, "required (%s)", oneOf(shown))
	} else {
		c.fail(parent, key, "%s is not one of %s%s", quote(*v), oneOf(shown), suggest(*v, shown))
	}
	return false
}

// required reports a missing or empty string key.
func (c *checker) required(parent, key, v, hint string) bool {
	if v != "" || c.bad[joinPath(parent, key)] {
		return v != ""
	}
	if hint != "" {
		hint = " (" + hint + ")"
	}
	c.fail(parent, key, "required%s", hint)
	return false
}

// envName checks the syntax of a key naming an environment variable. Its
// value is never echoed: it may be a secret pasted in by mistake.
func (c *checker) envName(parent, key, v string) {
	if c.has(joinPath(parent, key)) && !envRe.MatchString(v) {
		c.fail(parent, key, "not an environment variable name (give the name of a variable that holds the secret, never the secret itself)")
	}
}

// onlyKeys reports keys of v's struct type that were written under parent
// but are not in allowed.
func (c *checker) onlyKeys(parent string, v any, kind string, allowed ...[]string) {
	ok := map[string]bool{}
	for _, list := range allowed {
		for _, k := range list {
			ok[k] = true
		}
	}
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		p := joinPath(parent, name)
		if name != "" && name != "-" && !ok[name] && (c.set[p] || c.bad[p]) {
			c.fail(parent, name, "not a key of kind %s", kind)
		}
	}
}

// localPath expands ~ and anchors a relative path at the scenario's directory.
func (c *checker) localPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.dir, p)
	}
	return p
}

// checkReadable checks that path is a regular file we can open.
func checkReadable(path string) string {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist", quote(path))
	case err != nil:
		return fmt.Sprintf("%s: %s", quote(path), fileError(err))
	case !fi.Mode().IsRegular():
		return fmt.Sprintf("%s is not a regular file", quote(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("%s: %s", quote(path), fileError(err))
	}
	f.Close()
	return ""
}

func dirOf(file string) string { return filepath.Dir(file) }

// check validates the whole scenario and fills its defaults.
func (c *checker) check(rootLine int, targets []rawTarget) {
	s := c.s
	c.lines[""] = rootLine
	c.required("", "name", s.Name, "")
	if c.has("netns") && !validNetns(s.Netns) {
		c.fail("", "netns", "%s is not a network namespace name", quote(s.Netns))
	}
	c.checkTargets(targets)
	if len(s.Probes) == 0 && !c.bad["probes"] {
		c.fail("", "probes", "at least one probe is required")
	}
	var longest time.Duration
	longestAt := ""
	for i := range s.Probes {
		p := &s.Probes[i]
		c.checkProbe(i, p)
		if p.Interval > longest && p.Interval <= maxProbeDuration {
			longest, longestAt = p.Interval, fmt.Sprintf("probes[%d]", i)
		}
	}
	c.uniqueNames("probes", len(s.Probes), func(i int) string { return s.Probes[i].Name })
	if c.duration("", "baseline", &s.Baseline, DefaultBaseline, 1, maxPhase) && s.Baseline < longest {
		c.fail("", "baseline", "%s is shorter than the longest probe interval (%s, %s)", c.shown("", "baseline", s.Baseline), fmtDuration(longest), longestAt)
	}
	c.duration("", "settle", &s.Settle, DefaultSettle, 0, maxPhase)
	c.duration("", "cooldown", &s.Cooldown, 0, 0, maxPhase)
	if c.integer("", "repeat", &s.Repeat, 1, 0, maxRepeat) && s.Repeat == 0 {
		s.Repeat = 1 // 0 and 1 both mean a single run
	}
	c.choice("", "repeat_verdict", &s.RepeatVerdict, "all", []string{"all", "p95"})
	var prevAt time.Duration // an absent at is the previous step's
	for i := range s.Triggers {
		c.checkTrigger(i, &s.Triggers[i], prevAt)
		prevAt = s.Triggers[i].At
	}
	c.uniqueNames("triggers", len(s.Triggers), func(i int) string { return s.Triggers[i].Name })
	c.checkThresholds()
}

// uniqueNames reports a name used twice in a list.
func (c *checker) uniqueNames(list string, n int, name func(int) string) {
	first := map[string]int{}
	for i := range n {
		nm := name(i)
		if nm == "" {
			continue
		}
		if j, dup := first[nm]; dup {
			c.fail(fmt.Sprintf("%s[%d]", list, i), "name", "%s is already the name of %s[%d]; names must be unique", quote(nm), list, j)
			continue
		}
		first[nm] = i
	}
}

// checkName defaults and checks the name of a probe or trigger.
func (c *checker) checkName(parent string, name *string, def string) {
	if !c.has(joinPath(parent, "name")) {
		*name = def
		return
	}
	if !nameRe.MatchString(*name) {
		c.fail(parent, "name", "%s is not a valid name (letters, digits, _ . -; at most 64)", quote(*name))
	}
}

// sshConn holds the SSH connection keys a probe and a trigger share.
type sshConn struct {
	user, identity, passphraseEnv, passwordEnv, knownHosts *string
	insecure                                               bool
}

// checkSSH defaults and checks SSH connection keys.
func (c *checker) checkSSH(parent string, a sshConn) {
	if !c.has(joinPath(parent, "user")) {
		*a.user = DefaultSSHUser
	} else if *a.user == "" {
		c.fail(parent, "user", "must not be empty")
	}
	if c.has(joinPath(parent, "identity_file")) {
		*a.identity = c.localPath(*a.identity)
		if msg := checkReadable(*a.identity); msg != "" {
			c.fail(parent, "identity_file", "%s", msg)
		}
	}
	if c.has(joinPath(parent, "passphrase_env")) && *a.identity == "" {
		c.fail(parent, "passphrase_env", "only with identity_file (it unlocks that key)")
	}
	c.envName(parent, "passphrase_env", *a.passphraseEnv)
	c.envName(parent, "password_env", *a.passwordEnv)
	switch {
	case a.insecure && c.has(joinPath(parent, "known_hosts")):
		c.fail(parent, "known_hosts", "not used with insecure_ignore_host_key: true")
	case a.insecure:
		*a.knownHosts = ""
	default:
		if !c.has(joinPath(parent, "known_hosts")) {
			*a.knownHosts = DefaultKnownHosts
		}
		*a.knownHosts = c.localPath(*a.knownHosts)
		if msg := checkReadable(*a.knownHosts); msg != "" {
			c.fail(parent, "known_hosts", "%s (give known_hosts, or set insecure_ignore_host_key: true)", msg)
		}
	}
}

func (c *checker) targetNames() []string {
	var names []string
	for _, t := range c.s.Targets {
		names = append(names, t.Name)
	}
	return names
}

func (c *checker) checkProbe(i int, p *ProbeSpec) {
	path := fmt.Sprintf("probes[%d]", i)
	if c.bad[path] {
		return
	}
	if c.required(path, "target", p.Target, "the name of a target") {
		if !slices.ContainsFunc(c.s.Targets, func(t Target) bool { return t.Name == p.Target }) {
			names := c.targetNames()
			list := "targets: " + strings.Join(names, ", ")
			if len(names) == 0 {
				list = "no targets are defined"
			}
			c.fail(path, "target", "no target named %s (%s)", quote(p.Target), list)
		}
	}
	if !c.choice(path, "kind", &p.Kind, "", probeKinds) {
		return
	}
	c.onlyKeys(path, *p, p.Kind, probeCommon, probeKindKeys[p.Kind])
	c.checkName(path, &p.Name, p.Kind)
	if slices.Contains(probeKinds, p.Name) && p.Name != p.Kind {
		c.fail(path, "name", "%s is a probe kind; only a %s probe may have that name", quote(p.Name), p.Name)
	}
	intervalOK := c.duration(path, "interval", &p.Interval, DefaultInterval, minProbeDuration, maxProbeDuration)
	def := defaultTimeout[p.Kind]
	if p.Kind == "snmp" {
		def = maxSNMPTimeout
		if intervalOK {
			def = min(p.Interval*4/5, maxSNMPTimeout)
		}
	}
	timeoutOK := c.duration(path, "timeout", &p.Timeout, def, minProbeDuration, maxProbeDuration)
	switch p.Kind {
	case "icmp":
		c.integer(path, "size", &p.Size, 0, 0, maxICMPSize)
		c.checkStall(path, p, 0, timeoutOK)
	case "tcp", "ssh":
		def := max(2*p.Interval, minStall)
		if timeoutOK {
			def = min(def, p.Timeout)
		}
		c.checkStall(path, p, def, timeoutOK)
	case "snmp":
		c.checkStall(path, p, 0, timeoutOK)
		if intervalOK && timeoutOK && p.Timeout >= p.Interval {
			c.fail(path, "timeout", "%s must be shorter than the interval (%s): the probe sends one request per interval, without retries", c.shown(path, "timeout", p.Timeout), fmtDuration(p.Interval))
		}
		c.checkSNMP(path, p)
	}
	if p.Kind != "icmp" {
		c.integer(path, "port", &p.Port, defaultPort[p.Kind], 1, 65535)
	}
	if p.Kind == "ssh" {
		c.checkSSH(path, sshConn{&p.User, &p.IdentityFile, &p.PassphraseEnv, &p.PasswordEnv, &p.KnownHosts, p.InsecureIgnoreHostKey})
	}
}

func (c *checker) checkSNMP(path string, p *ProbeSpec) {
	if !c.has(path + ".oid") {
		p.OID = DefaultSNMPOID
	} else if !validOID(p.OID) {
		c.fail(path, "oid", "%s is not a numeric OID (e.g. 1.3.6.1.2.1.1.3.0)", quote(p.OID))
	} else {
		p.OID = strings.TrimPrefix(p.OID, ".")
	}
	c.envName(path, "community_env", p.CommunityEnv)
	if !c.choice(path, "version", &p.Version, DefaultSNMPVersion, snmpVersions) {
		return
	}
	if p.Version != "3" {
		for _, k := range snmpV3Keys {
			if c.set[path+"."+k] {
				c.fail(path, k, "only for version 3")
			}
		}
		return
	}
	if c.set[path+".community_env"] {
		c.fail(path, "community_env", "not used by version 3 (it authenticates with security_name, auth_env and priv_env)")
	}
	c.required(path, "security_name", p.SecurityName, "the user name for version 3")
	c.choice(path, "auth_protocol", &p.AuthProtocol, "", authProtocols)
	if c.required(path, "auth_env", p.AuthEnv, "the variable holding the auth passphrase") {
		c.envName(path, "auth_env", p.AuthEnv)
	}
	c.choice(path, "priv_protocol", &p.PrivProtocol, "", privProtocols)
	if c.required(path, "priv_env", p.PrivEnv, "the variable holding the privacy passphrase") {
		c.envName(path, "priv_env", p.PrivEnv)
	}
}

// checkTrigger checks one step of the timeline. Steps run in order of at,
// and a step without one takes prevAt, the one above it: it then runs after
// that step (the order is stable), never before it at offset 0.
func (c *checker) checkTrigger(i int, t *TriggerSpec, prevAt time.Duration) {
	path := fmt.Sprintf("triggers[%d]", i)
	if c.bad[path] || !c.choice(path, "kind", &t.Kind, "", triggerKinds) {
		return
	}
	common := triggerCommon
	if t.Kind == "wait" {
		common = slices.DeleteFunc(slices.Clone(common), func(k string) bool { return k == "timeout" || k == "always" })
	}
	c.onlyKeys(path, *t, t.Kind, common, triggerKindKeys[t.Kind])
	c.checkName(path, &t.Name, t.Kind+strconv.Itoa(i))
	if c.has(path+".at") && t.At < 0 {
		c.fail(path, "at", "%s is before the end of the baseline (at counts from the end of the baseline: use 0s or more)", c.shown(path, "at", t.At))
	} else {
		c.duration(path, "at", &t.At, max(0, prevAt), 0, maxPhase)
	}
	if t.Kind != "wait" {
		c.duration(path, "timeout", &t.Timeout, DefaultTriggerTimeout, minProbeDuration, maxPhase)
	}
	switch t.Kind {
	case "exec":
		if len(t.Argv) == 0 && !c.bad[path+".argv"] {
			c.fail(path, "argv", "required (the command and its arguments, e.g. [sh, -c, \"...\"])")
		} else if len(t.Argv) > 0 && t.Argv[0] == "" {
			c.errAt(c.lines[path+".argv[0]"], path+".argv[0]", "the command must not be empty")
		}
	case "ssh":
		c.checkHost(path, t, true)
		c.required(path, "command", t.Command, "the command to run on host")
		c.choice(path, "shell", &t.Shell, "", shells)
	case "qmp":
		c.checkQMP(path, t)
	case "virsh":
		c.required(path, "domain", t.Domain, "the libvirt domain to migrate")
		c.required(path, "destination", t.Destination, "the destination URI, e.g. qemu+ssh://host2/system")
		for j, f := range t.Flags {
			if !validFlag(f) {
				fp := fmt.Sprintf("%s.flags[%d]", path, j)
				c.errAt(c.lines[fp], fp, "%s is not a virsh migrate flag (%s, or key=value)%s", quote(f), strings.Join(virshFlags, ", "), suggest(f, virshFlags))
			}
		}
		c.checkHost(path, t, false)
	case "link":
		if c.required(path, "device", t.Device, "the network interface, e.g. eth0") && !validDevice(t.Device) {
			c.fail(path, "device", "%s is not a network interface name", quote(t.Device))
		}
		c.choice(path, "action", &t.Action, "", linkActions)
		c.choice(path, "method", &t.Method, "ip", linkMethods)
		c.checkHost(path, t, false)
	case "wait":
		if !c.has(path+".duration") && !c.bad[path+".duration"] {
			c.fail(path, "duration", "required (how long to wait, e.g. 5s)")
		} else {
			c.duration(path, "duration", &t.Duration, 0, 1, maxPhase)
		}
		// A runner that puts every step under its timeout must not cut
		// a wait short.
		t.Timeout = t.Duration + DefaultTriggerTimeout
	}
}

// checkHost checks host and the SSH keys that go with it. When host is
// optional and absent, the action runs locally and those keys are errors.
func (c *checker) checkHost(path string, t *TriggerSpec, need bool) {
	if !c.has(path+".host") && !c.bad[path+".host"] && !need {
		for _, k := range connKeys[1:] {
			if c.set[path+"."+k] {
				c.fail(path, k, "only used with host (without host the action runs locally)")
			}
		}
		return
	}
	if c.required(path, "host", t.Host, "the machine to run the command on") && !validAddress(t.Host) {
		c.fail(path, "host", "%s is not an IP address or hostname", quote(t.Host))
	}
	c.integer(path, "port", &t.Port, 22, 1, 65535)
	c.checkSSH(path, sshConn{&t.User, &t.IdentityFile, &t.PassphraseEnv, &t.PasswordEnv, &t.KnownHosts, t.InsecureIgnoreHostKey})
}

func (c *checker) checkQMP(path string, t *TriggerSpec) {
	if c.required(path, "socket", t.Socket, "the QMP unix socket of the source VM") {
		t.Socket = c.localPath(t.Socket)
	}
	c.duration(path, "poll", &t.Poll, DefaultQMPPoll, minProbeDuration, time.Minute)
	if !c.choice(path, "action", &t.Action, "", qmpActions) {
		return
	}
	only := map[string]string{"uri": "migrate", "netdev": "set_link", "up": "set_link"}
	for _, k := range []string{"uri", "netdev", "up"} {
		if c.set[path+"."+k] && only[k] != t.Action {
			c.fail(path, k, "only for action %s", only[k])
		}
	}
	switch t.Action {
	case "migrate":
		if c.required(path, "uri", t.URI, "where to migrate, e.g. tcp:127.0.0.1:4444") && !strings.Contains(t.URI, ":") {
			c.fail(path, "uri", "%s is not a migration URI (e.g. tcp:127.0.0.1:4444, unix:/path)", quote(t.URI))
		}
	case "set_link":
		c.required(path, "netdev", t.Netdev, "the id of the -netdev or -device to switch")
		if t.Up == nil && !c.bad[path+".up"] {
			c.fail(path, "up", "required (true or false)")
		}
	}
}

// hypervisorReports tells whether some trigger reports hypervisor downtime.
func (c *checker) hypervisorReports() bool {
	return slices.ContainsFunc(c.s.Triggers, func(t TriggerSpec) bool {
		return t.Kind == "virsh" || t.Kind == "qmp" && t.Action == "migrate"
	})
}

func (c *checker) checkThresholds() {
	s := c.s
	byName := map[string]*ProbeSpec{}
	var names []string
	for i := range s.Probes {
		byName[s.Probes[i].Name] = &s.Probes[i]
		names = append(names, s.Probes[i].Name)
	}
	keys := make([]string, 0, len(s.Thresholds))
	for k := range s.Thresholds {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		path := joinPath("thresholds", key)
		if c.bad[path] {
			continue
		}
		th := s.Thresholds[key]
		var kinds []string
		var probe *ProbeSpec
		if p, ok := byName[key]; ok {
			probe, kinds = p, []string{p.Kind}
		} else if slices.Contains(probeKinds, key) {
			for _, p := range s.Probes {
				if p.Kind == key {
					kinds = []string{key}
				}
			}
			if kinds == nil {
				c.errAt(c.lines[path], path, "no probe of kind %s", key)
				continue
			}
		} else {
			c.errAt(c.lines[path], path, "no probe named %s (probes: %s; kinds: %s)%s", quote(key), strings.Join(names, ", "), strings.Join(probeKinds, ", "), suggest(key, names))
			continue
		}
		for _, k := range []string{"max_gap", "max_stall", "max_time_to_failover_address", "max_hypervisor_downtime"} {
			var zero time.Duration
			if c.has(path + "." + k) {
				c.duration(path, k, thresholdDuration(&th, k), zero, 1, maxPhase)
			}
		}
		if th.MaxLost != nil && *th.MaxLost < 0 {
			c.fail(path, "max_lost", "%d is negative", *th.MaxLost)
		}
		if th.MaxLossPct != nil && (*th.MaxLossPct < 0 || *th.MaxLossPct > 100) {
			c.fail(path, "max_loss_pct", "%s is not a percentage (0 to 100)", quote(c.raw[path+".max_loss_pct"]))
		}
		session := kinds[0] == "tcp" || kinds[0] == "ssh"
		for _, k := range []string{"max_stall", "survive"} {
			if c.set[path+"."+k] && !session {
				c.fail(path, k, "only for tcp and ssh probes")
			}
		}
		if c.set[path+".max_time_to_failover_address"] {
			if probe != nil && !s.hasFailover(probe.Target) {
				c.fail(path, "max_time_to_failover_address", "target %s has no failover_address", quote(probe.Target))
			}
			// A kind's limit must reach at least one probe; the ones it
			// cannot reach are named by Warnings.
			if probe == nil && !slices.ContainsFunc(s.Probes, func(p ProbeSpec) bool { return p.Kind == key && s.hasFailover(p.Target) }) {
				c.fail(path, "max_time_to_failover_address", "no %s probe's target has a failover_address", key)
			}
		}
		if c.set[path+".max_hypervisor_downtime"] && !c.hypervisorReports() {
			c.fail(path, "max_hypervisor_downtime", "no trigger reports hypervisor downtime (a qmp migrate or virsh trigger does)")
		}
	}
	// Merge each kind's defaults under its probes' names, so that a
	// probe's limits are one lookup: s.Thresholds[probe.Name].
	for _, p := range s.Probes {
		kind, hasKind := s.Thresholds[p.Kind]
		own, hasOwn := s.Thresholds[p.Name]
		if hasKind && p.Name != p.Kind {
			s.Thresholds[p.Name] = overlay(kind, own)
		} else if hasOwn {
			s.Thresholds[p.Name] = own
		}
	}
}

// hasFailover reports whether the target named name has a failover address.
func (s *Scenario) hasFailover(name string) bool {
	i := slices.IndexFunc(s.Targets, func(t Target) bool { return t.Name == name })
	return i >= 0 && s.Targets[i].FailoverAddress != ""
}

func thresholdDuration(th *Threshold, key string) *time.Duration {
	switch key {
	case "max_gap":
		return &th.MaxGap
	case "max_stall":
		return &th.MaxStall
	case "max_time_to_failover_address":
		return &th.MaxTimeToFailoverAddress
	}
	return &th.MaxHypervisorDowntime
}

// overlay returns base with every limit that top sets replaced.
func overlay(base, top Threshold) Threshold {
	if top.MaxGap != 0 {
		base.MaxGap = top.MaxGap
	}
	if top.MaxLost != nil {
		base.MaxLost = top.MaxLost
	}
	if top.MaxLossPct != nil {
		base.MaxLossPct = top.MaxLossPct
	}
	if top.MaxStall != 0 {
		base.MaxStall = top.MaxStall
	}
	base.Survive = base.Survive || top.Survive
	if top.MaxTimeToFailoverAddress != 0 {
		base.MaxTimeToFailoverAddress = top.MaxTimeToFailoverAddress
	}
	if top.MaxHypervisorDowntime != 0 {
		base.MaxHypervisorDowntime = top.MaxHypervisorDowntime
	}
	return base
}

// fmtDuration prints a duration without zero tails: 1h, not 1h0m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
