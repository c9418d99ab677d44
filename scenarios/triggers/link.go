package triggers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
)

// netlinkTimeout bounds each netlink request of a local link change.
const netlinkTimeout = 5 * time.Second

// deviceRe is a network interface name: at most 15 bytes, no slash, colon
// or space.
var deviceRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}$`)

// LinkConfig configures a link trigger.
type LinkConfig struct {
	Device string // network interface, e.g. eth0
	Action string // "down" or "up"
	// Method is "ip" (the default: netlink here, `ip link set` remotely)
	// or "ifupdown" (ifdown/ifup, which also run the interface's hooks).
	Method string
	// Remote, if set, acts on that host over SSH (as a user allowed to
	// change links, e.g. root); nil acts here. The SSH connection must not
	// run over Device itself: its exit status could not come back, and
	// the step would end at its timeout.
	Remote *sshdial.Config
	// Netns, if set, names the network namespace to act in (`ip netns`
	// style), as the built-in lab and the tests do.
	Netns string
}

// Link takes a network interface down or brings it up.
type Link struct{ cfg LinkConfig }

// NewLink returns a link trigger.
func NewLink(cfg LinkConfig) *Link {
	if cfg.Method == "" {
		cfg.Method = "ip"
	}
	return &Link{cfg: cfg}
}

func (c LinkConfig) check() error {
	if !deviceRe.MatchString(c.Device) || c.Device == "." || c.Device == ".." {
		return fmt.Errorf("link: %q is not a network interface name", c.Device)
	}
	if c.Action != "down" && c.Action != "up" {
		return fmt.Errorf("link: unknown action %q (want down or up)", c.Action)
	}
	if c.Method != "ip" && c.Method != "ifupdown" {
		return fmt.Errorf("link: unknown method %q (want ip or ifupdown)", c.Method)
	}
	return nil
}

// linkArgv is the command that performs cfg's change: `ip link set DEV
// down|up` or `ifdown|ifup DEV`, inside `ip netns exec NS` if cfg.Netns
// is set.
func linkArgv(cfg LinkConfig) []string {
	var argv []string
	if cfg.Netns != "" {
		argv = []string{"ip", "netns", "exec", cfg.Netns}
	}
	if cfg.Method == "ifupdown" {
		return append(argv, "if"+cfg.Action, cfg.Device)
	}
	return append(argv, "ip", "link", "set", cfg.Device, cfg.Action)
}

// Fire performs the change. Locally the "ip" method talks netlink
// directly (no process to spawn, so the change lands within one netlink
// round trip of the trigger's start); ifupdown runs ifdown or ifup.
// Remotely the command of linkArgv runs over SSH.
func (l *Link) Fire(ctx context.Context, out io.Writer) (Outcome, error) {
	oc := Outcome{ExitCode: -1}
	c := l.cfg
	if err := c.check(); err != nil {
		return oc, err
	}
	if err := ctx.Err(); err != nil {
		return oc, err
	}
	if c.Remote != nil {
		client, err := sshdial.Dial(ctx, *c.Remote)
		if err != nil {
			return oc, err
		}
		defer client.Close()
		cmd := ShellJoin(linkArgv(c))
		fmt.Fprintf(out, "link: %s: %s\n", c.Remote.Addr(), cmd)
		oc.ExitCode, err = SSHExec(ctx, client, cmd, out)
		return oc, err
	}
	if c.Method == "ifupdown" {
		argv := linkArgv(c)
		fmt.Fprintf(out, "link: %s\n", ShellJoin(argv))
		var err error
		oc.ExitCode, err = runLocal(ctx, argv, nil, out, 0)
		return oc, err
	}
	if err := setLink(c.Netns, c.Device, c.Action == "up"); err != nil {
		return oc, err
	}
	where := ""
	if c.Netns != "" {
		where = " in netns " + c.Netns
	}
	fmt.Fprintf(out, "link: %s %s%s (netlink)\n", c.Device, c.Action, where)
	return oc, nil
}

// setLink sets device up or down over netlink, in namespace nsName or, if
// it is "", in this process's own.
func setLink(nsName, device string, up bool) error {
	var h *netlink.Handle
	var err error
	if nsName == "" {
		h, err = netlink.NewHandle()
	} else {
		var ns vns.NsHandle
		if ns, err = vns.GetFromName(nsName); err != nil {
			return fmt.Errorf("link: open netns %s: %w", nsName, err)
		}
		defer ns.Close()
		h, err = netlink.NewHandleAt(ns)
	}
	if err != nil {
		return fmt.Errorf("link: netlink: %w", err)
	}
	defer h.Close()
	if err := h.SetSocketTimeout(netlinkTimeout); err != nil {
		return fmt.Errorf("link: netlink: %w", err)
	}
	link, err := h.LinkByName(device)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			return fmt.Errorf("link: no interface %s", device)
		}
		return fmt.Errorf("link: find %s: %w", device, err)
	}
	if up {
		err = h.LinkSetUp(link)
	} else {
		err = h.LinkSetDown(link)
	}
	if err != nil {
		return fmt.Errorf("link: set %s up=%t: %w", device, up, err)
	}
	return nil
}
