package scenarios

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	// Names of targets, probes and triggers end up in file names and CSV
	// columns, so they stay plain.
	nameRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	envRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	netnsRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)
	// An interface name: at most 15 bytes, no slash, colon or space.
	deviceRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}$`)
	oidRe    = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)+$`)
	labelRe  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	digitsRe = regexp.MustCompile(`^[0-9]+$`)
	flagKVRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*=\S+$`)
)

// validAddress reports whether s is an IPv4 or IPv6 literal or a hostname.
func validAddress(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return validHostname(s)
}

// validHostname checks RFC 1123 syntax, and refuses an all-numeric last
// label so that a mistyped IPv4 address (10.0.0.300) is not a hostname.
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if !labelRe.MatchString(l) {
			return false
		}
	}
	return !digitsRe.MatchString(labels[len(labels)-1])
}

func validNetns(s string) bool { return netnsRe.MatchString(s) && s != "." && s != ".." }

func validDevice(s string) bool { return deviceRe.MatchString(s) && s != "." && s != ".." }

// validOID checks a numeric dotted OID whose arcs fit 32 bits.
func validOID(s string) bool {
	if !oidRe.MatchString(s) {
		return false
	}
	for _, arc := range strings.Split(strings.TrimPrefix(s, "."), ".") {
		if _, err := strconv.ParseUint(arc, 10, 32); err != nil {
			return false
		}
	}
	return true
}

// validFlag accepts the virsh migrate flags we know, or key=value.
func validFlag(s string) bool {
	return slices.Contains(virshFlags, s) || flagKVRe.MatchString(s)
}

func sortedStrings(s []string) []string {
	slices.Sort(s)
	return s
}

// oneOf formats choices for a message: "a, b or c".
func oneOf(choices []string) string {
	if len(choices) < 2 {
		return strings.Join(choices, "")
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}
