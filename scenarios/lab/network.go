package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// bridgeName is the lab bridge inside the hosts namespace.
const bridgeName = "br0"

// setupNetwork builds the lab network: a hosts namespace whose bridge joins
// the taps of both sides and a veth to the client namespace, where the
// probes run. Interface names are fixed: they live in the lab's own
// namespaces only.
func setupNetwork(ctx context.Context, st *State) error {
	if _, err := netns.New(st.HostsNS); err != nil {
		return err
	}
	if _, err := netns.New(st.ClientNS); err != nil {
		return err
	}
	h, c := st.HostsNS, st.ClientNS
	// forward_delay 0 and stp_state 0, or new ports do not forward at once.
	// mcast_snooping 0: after a migration the guest's multicast (IPv6
	// neighbour solicitation) groups must follow it to the other tap.
	cmds := [][]string{
		{"-n", h, "link", "add", st.Bridge, "type", "bridge", "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0"},
		{"-n", h, "link", "set", st.Bridge, "up"},
	}
	for _, s := range st.Sides {
		for _, tap := range s.Taps {
			cmds = append(cmds,
				[]string{"-n", h, "tuntap", "add", "dev", tap, "mode", "tap"},
				[]string{"-n", h, "link", "set", tap, "master", st.Bridge, "up"})
		}
	}
	cmds = append(cmds,
		[]string{"-n", h, "link", "add", "vh0", "type", "veth", "peer", "name", "eth0", "netns", c},
		[]string{"-n", h, "link", "set", "vh0", "master", st.Bridge, "up"},
		[]string{"-n", c, "addr", "add", st.Client4 + "/24", "dev", "eth0"},
		[]string{"-n", c, "addr", "add", st.Client6 + "/64", "dev", "eth0", "nodad"},
		[]string{"-n", c, "link", "set", "eth0", "up"},
	)
	for _, args := range cmds {
		if err := ip(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, lastLine(out))
	}
	return nil
}

// deleteNamespaces removes the lab's namespaces; missing ones are fine.
func deleteNamespaces(names ...string) error {
	var errs []error
	for _, n := range names {
		if _, err := os.Stat(filepath.Join("/run/netns", n)); err != nil {
			continue
		}
		errs = append(errs, (&netns.NS{Name: n}).Close())
	}
	return errors.Join(errs...)
}

// pingGuest sends one echo request from the client namespace.
func pingGuest(ctx context.Context, clientNS, addr string) error {
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", clientNS, "ping", "-n", "-c", "1", "-W", "1", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s: %w: %s", addr, err, lastLine(out))
	}
	return nil
}
