package scenarios

import "time"

// Defaults and limits. REFERENCE.md documents them for users; keep the two
// in step.
const (
	DefaultInterval       = time.Second
	DefaultBaseline       = 3 * time.Second
	DefaultSettle         = 5 * time.Second
	DefaultTriggerTimeout = time.Minute
	DefaultQMPPoll        = 20 * time.Millisecond
	DefaultSNMPOID        = "1.3.6.1.2.1.1.3.0" // sysUpTime.0
	DefaultSNMPVersion    = "2c"
	DefaultSSHUser        = "root"
	DefaultKnownHosts     = "~/.ssh/known_hosts"
	DefaultSNMPCommunity  = "public" // used when community_env is unset or empty
	minStall              = 100 * time.Millisecond
	maxSNMPTimeout        = time.Second
	minProbeDuration      = time.Millisecond
	maxProbeDuration      = time.Hour
	maxPhase              = 24 * time.Hour // baseline, settle, cooldown, at, trigger timeouts
	maxICMPSize           = 65000
	maxRepeat             = 10000
)

// Probe kinds, with their default timeout and port (0: no port).
var (
	probeKinds     = []string{"icmp", "tcp", "ssh", "snmp"}
	defaultTimeout = map[string]time.Duration{"icmp": time.Second, "tcp": 10 * time.Second, "ssh": 10 * time.Second}
	defaultPort    = map[string]int{"tcp": 7, "ssh": 22, "snmp": 161}
)

// Trigger kinds and the choices of their keys.
var (
	triggerKinds  = []string{"exec", "ssh", "qmp", "virsh", "link", "wait"}
	qmpActions    = []string{"migrate", "set_link", "query"}
	linkActions   = []string{"down", "up"}
	linkMethods   = []string{"ip", "ifupdown"}
	shells        = []string{"", "powershell"}
	snmpVersions  = []string{"1", "2c", "3"}
	authProtocols = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	privProtocols = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}
	virshFlags    = []string{"live", "persistent", "undefinesource", "compressed", "auto-converge",
		"postcopy", "tunnelled", "p2p", "copy-storage-all", "copy-storage-inc"}
)

// Keys each kind accepts beyond the common ones; any other key of the
// struct is "not a key of kind X".
var (
	sshAuthKeys = []string{"user", "identity_file", "passphrase_env", "password_env", "known_hosts", "insecure_ignore_host_key"}
	// connKeys reach a remote host for virsh and link (with host set).
	connKeys      = append([]string{"host", "port"}, sshAuthKeys...)
	probeCommon   = []string{"name", "kind", "target", "interval", "timeout"}
	snmpV3Keys    = []string{"security_name", "auth_protocol", "auth_env", "priv_protocol", "priv_env"}
	probeKindKeys = map[string][]string{
		"icmp": {"size", "stall"},
		"tcp":  {"stall", "port"},
		"ssh":  append([]string{"stall", "port"}, sshAuthKeys...),
		"snmp": append([]string{"stall", "port", "version", "community_env", "oid"}, snmpV3Keys...),
	}
	triggerCommon   = []string{"name", "kind", "at", "timeout", "parallel", "always"}
	triggerKindKeys = map[string][]string{
		"exec":  {"argv"},
		"ssh":   append([]string{"command", "shell"}, connKeys...),
		"qmp":   {"socket", "action", "uri", "netdev", "up", "poll"},
		"virsh": append([]string{"domain", "destination", "flags"}, connKeys...),
		"link":  append([]string{"device", "action", "method"}, connKeys...),
		"wait":  {"duration"},
	}
)
