package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/downtime-lab/downtime/scenarios"
	"github.com/downtime-lab/downtime/scenarios/lab"
)

const labUsage = `usage: downtime lab COMMAND [flags]

The built-in local lab: a QEMU guest (busybox, dropbear, snmpd, TCP echo on
port 7) on "host" A, QEMU B waiting as its migration destination, both on a
bridge in network namespace PREFIX-hosts; probes run in PREFIX-client.

commands:
  up       build the guest (cached), the network, boot the guest on A, start B
  down     stop the lab's QEMUs, delete its namespaces and state
  status   accelerator, addresses, QMP sockets, which side runs the guest
  standby  make the idle side an incoming destination again (to migrate back)
  calibrate  check the tool against ground truth: outages of known length
           (netlink, in a namespace pair) at 1 ms .. 1 s intervals for every
           probe kind; prints truth, measured gap, error and bound
           (downtime lab calibrate -h for its flags)

flags (every command):
  --prefix P           lab name: namespaces P-hosts and P-client (default dtlab)
up:
  --bond               two NICs (netdevs net0, net1) in an active-backup bond0
  --accel A            auto (KVM only if it really boots the guest), tcg or kvm
  --cache DIR          guest kernel and initramfs cache (default /var/cache/downtime-lab)
up, standby:
  --announce-rounds N  destination's self-announce rounds (0 turns it off)
status:
  --json               machine-readable output
`

// cmdLab runs `downtime lab ...`. Exit codes: 0 ok, 2 bad usage, 3 the
// command failed.
func cmdLab(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, labUsage)
		return scenarios.ExitBadInput
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, labUsage)
		return 0
	case "calibrate":
		return cmdCalibrate(rest, stdout, stderr)
	case "up", "down", "status", "standby":
	default:
		fmt.Fprintf(stderr, "downtime lab: unknown command %q\n\n%s", sub, labUsage)
		return scenarios.ExitBadInput
	}
	fs := flag.NewFlagSet("lab "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, labUsage) }
	cfg := lab.Config{Log: stderr}
	fs.StringVar(&cfg.Prefix, "prefix", lab.DefaultPrefix, "lab name")
	var announce int
	var asJSON bool
	switch sub {
	case "up":
		fs.BoolVar(&cfg.Bond, "bond", false, "bond0 over two NICs")
		fs.StringVar(&cfg.Accel, "accel", "auto", "auto, tcg or kvm")
		fs.StringVar(&cfg.CacheDir, "cache", lab.DefaultCacheDir, "asset cache")
		fs.IntVar(&announce, "announce-rounds", -1, "destination announce rounds")
	case "standby":
		fs.IntVar(&announce, "announce-rounds", -1, "destination announce rounds")
	case "status":
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	}
	if err := fs.Parse(rest); err != nil {
		return scenarios.ExitBadInput
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "downtime lab %s: unexpected argument %q\n", sub, fs.Arg(0))
		return scenarios.ExitBadInput
	}
	if announce >= 0 {
		cfg.AnnounceRounds = &announce
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "downtime lab %s: %v\n", sub, err)
		return scenarios.ExitBadInput
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch sub {
	case "up":
		if _, err = lab.Up(ctx, cfg); err == nil {
			var info *lab.Info
			if info, err = lab.Status(ctx, cfg); err == nil {
				printLab(stdout, info)
			}
		}
	case "down":
		err = lab.Down(cfg)
	case "status":
		var info *lab.Info
		if info, err = lab.Status(ctx, cfg); err == nil {
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(info)
			} else {
				printLab(stdout, info)
			}
		}
	case "standby":
		_, err = lab.Standby(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "downtime lab %s: %v\n", sub, err)
		if errors.Is(err, lab.ErrNoLab) {
			fmt.Fprintln(stderr, "start it with: downtime lab up")
		}
		return scenarios.ExitNotRun
	}
	return 0
}

// printLab prints what a user needs to aim probes and triggers at the lab.
func printLab(w io.Writer, info *lab.Info) {
	st := info.State
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "lab\t%s (state %s)\n", st.Prefix, st.Dir)
	fmt.Fprintf(tw, "accelerator\t%s\n", st.Accel)
	fmt.Fprintf(tw, "namespaces\thosts %s, client %s (run probes here)\n", st.HostsNS, st.ClientNS)
	fmt.Fprintf(tw, "guest\t%s, %s (client %s, %s)\n", st.Guest4, st.Guest6, st.Client4, st.Client6)
	if st.Bond {
		fmt.Fprintf(tw, "bond\tbond0 active-backup over eth0 (netdev net0) and eth1 (netdev net1)\n")
	}
	fmt.Fprintf(tw, "ssh\troot, key %s, known_hosts %s\n", st.Key, st.KnownHosts)
	for _, s := range st.Sides {
		fmt.Fprintf(tw, "side %s\tqmp %s, migrate to it: %s, pid %d, %s\n", s.Name, s.QMP, s.MigrateURI(), s.PID, orDash(info.RunStates[s.Name]))
	}
	fmt.Fprintf(tw, "guest runs on\t%s\n", orDash(info.Running))
	_ = tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
