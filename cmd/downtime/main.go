// Command downtime measures what a VM live migration or a NIC/bond
// failover really costs the services inside a guest.
//
// Usage:
//
//	downtime check FILE...          validate scenario files
//	downtime run [-o DIR] FILE      run a scenario, write a run directory
//	downtime report DIR             rebuild the reports of a run directory
//	downtime compare BASE CAND      before/after: distributions, Mann-Whitney U, verdict
//	downtime lab up|down|status     the built-in local QEMU lab
//	downtime version
//
// Exit codes: 0 pass, 1 a threshold failed, 2 bad input, 3 the run could
// not be carried out.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/downtime-lab/downtime/scenarios"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `downtime measures what a live migration or failover costs a guest's services.

usage:
  downtime check FILE...             validate scenario files (exit 2 on the first bad one)
  downtime run [-o DIR] [-q] FILE    run a scenario; samples stream to DIR as they arrive
  downtime report DIR                rebuild gaps, summary, report.md/.html, junit.xml, timeline.png from DIR
  downtime compare [-tolerance 10%|50ms] [-o DIR] BASE CAND
                                     compare two run directories (single or repeated): exit 1 on a regression
  downtime lab up|down|status|standby  the built-in local lab (QEMU guest, bridge, namespaces)
  downtime version

exit codes: 0 pass, 1 a threshold failed, 2 bad input, 3 the run could not be carried out
`

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return scenarios.ExitBadInput
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "run":
		return cmdRun(rest, stdout, stderr)
	case "report":
		return cmdReport(rest, stdout, stderr)
	case "compare":
		return cmdCompare(rest, stdout, stderr)
	case "lab":
		return cmdLab(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, toolVersion())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "downtime: unknown command %q\n\n%s", cmd, usage)
		return scenarios.ExitBadInput
	}
}

// toolVersion is the version plus the VCS revision the binary was built from.
func toolVersion() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += " (" + rev + dirty + ")"
		}
	}
	return v
}
