package triggers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ParseDomJobInfo reads the output of `virsh domjobinfo --completed` (in
// the C locale): "Total downtime", "Downtime w/o network", "Time elapsed"
// (the total time) and "Setup time", all in ms. It fails unless the job
// is a completed one with a total downtime.
func ParseDomJobInfo(text string) (*Hypervisor, error) {
	h := &Hypervisor{Source: "virsh domjobinfo"}
	jobType := ""
	var haveDowntime bool
	for line := range strings.Lines(text) {
		label, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		label, value = strings.TrimSpace(label), strings.TrimSpace(value)
		var dst *float64
		switch label {
		case "Job type":
			jobType = value
			continue
		case "Total downtime":
			dst, haveDowntime = &h.DowntimeMS, true
		case "Downtime w/o network":
			dst = &h.DowntimeNoNetMS
		case "Time elapsed":
			dst = &h.TotalTimeMS
		case "Setup time":
			dst = &h.SetupTimeMS
		default:
			continue
		}
		ms, err := parseMS(value)
		if err != nil {
			return nil, fmt.Errorf("domjobinfo: %s: %w", label, err)
		}
		*dst = ms
	}
	switch {
	case jobType == "":
		return nil, errors.New("domjobinfo: no \"Job type\" line (not virsh domjobinfo output?)")
	case jobType != "Completed":
		return nil, fmt.Errorf("domjobinfo: no completed job (job type %s)", jobType)
	case !haveDowntime:
		return nil, errors.New("domjobinfo: completed job without a total downtime")
	}
	return h, nil
}

// parseMS reads "37           ms".
func parseMS(v string) (float64, error) {
	f := strings.Fields(v)
	if len(f) != 2 || f[1] != "ms" {
		return 0, fmt.Errorf("%q is not a time in ms", v)
	}
	ms, err := strconv.ParseFloat(f[0], 64)
	if err != nil || ms < 0 {
		return 0, fmt.Errorf("%q is not a time in ms", v)
	}
	return ms, nil
}

// parseVirshVersion turns `virsh version` into "libvirt 9.0.0, QEMU 7.2.0":
// the library in use and the running hypervisor.
func parseVirshVersion(text string) string {
	var parts []string
	for line := range strings.Lines(text) {
		label, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(label) {
		case "Using library", "Running hypervisor":
			if v := strings.TrimSpace(value); v != "" {
				parts = append(parts, v)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// virshErrors picks virsh's "error: ..." lines out of its output.
func virshErrors(output string) string {
	var msgs []string
	for line := range strings.Lines(output) {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "error: ") {
			msgs = append(msgs, line)
		}
	}
	return strings.Join(msgs, "; ")
}
