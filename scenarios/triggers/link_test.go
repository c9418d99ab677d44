package triggers

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
)

func TestLinkArgv(t *testing.T) {
	for _, tc := range []struct {
		cfg  LinkConfig
		want string
	}{
		{LinkConfig{Device: "eth0", Action: "down"}, "ip link set eth0 down"},
		{LinkConfig{Device: "bond0.10", Action: "up", Method: "ip"}, "ip link set bond0.10 up"},
		{LinkConfig{Device: "eth1", Action: "down", Method: "ifupdown"}, "ifdown eth1"},
		{LinkConfig{Device: "eth1", Action: "up", Method: "ifupdown"}, "ifup eth1"},
		{LinkConfig{Device: "veth0", Action: "down", Netns: "lab-a"}, "ip netns exec lab-a ip link set veth0 down"},
		{LinkConfig{Device: "eth0", Action: "up", Method: "ifupdown", Netns: "lab-a"}, "ip netns exec lab-a ifup eth0"},
	} {
		cfg := NewLink(tc.cfg).cfg
		if got := ShellJoin(linkArgv(cfg)); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.cfg, got, tc.want)
		}
	}
}

func TestLinkCheck(t *testing.T) {
	for _, tc := range []struct {
		cfg  LinkConfig
		want string
	}{
		{LinkConfig{Device: "", Action: "down"}, "not a network interface name"},
		{LinkConfig{Device: "eth0; reboot", Action: "down"}, "not a network interface name"},
		{LinkConfig{Device: "a-name-longer-than-15", Action: "down"}, "not a network interface name"},
		{LinkConfig{Device: "..", Action: "down"}, "not a network interface name"},
		{LinkConfig{Device: "eth0", Action: "flap"}, `unknown action "flap"`},
		{LinkConfig{Device: "eth0", Action: "down", Method: "nmcli"}, `unknown method "nmcli"`},
	} {
		_, err := NewLink(tc.cfg).Fire(context.Background(), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func needPing(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping (apt-get install iputils-ping)")
	}
}

// pingOnce sends one echo request from ns and reports whether it was
// answered within a second.
func pingOnce(ns *netns.NS, addr netip.Addr) bool {
	return ns.Command(context.Background(), "ping", "-n", "-q", "-c", "1", "-W", "1", addr.String()).Run() == nil
}

// pingSoon pings up to n times and reports whether any was answered: a
// link brought up takes a moment to carry traffic again.
func pingSoon(ns *netns.NS, addr netip.Addr, n int) bool {
	for range n {
		if pingOnce(ns, addr) {
			return true
		}
	}
	return false
}

// adminUp reads device's IFF_UP flag in namespace nsName.
func adminUp(t *testing.T, nsName, device string) bool {
	t.Helper()
	ns, err := vns.GetFromName(nsName)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(device)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Flags&net.FlagUp != 0
}

func fireLink(t *testing.T, cfg LinkConfig) string {
	t.Helper()
	var out bytes.Buffer
	oc, err := NewLink(cfg).Fire(context.Background(), &out)
	if err != nil {
		t.Fatalf("link %s %s: %v\n%s", cfg.Device, cfg.Action, err, out.String())
	}
	if cfg.Remote != nil && oc.ExitCode != 0 {
		t.Errorf("remote exit code %d", oc.ExitCode)
	}
	return out.String()
}

// TestLinkLocalNetns takes the server's veth end down over netlink inside
// the server namespace: the client's pings go unanswered until it is up.
func TestLinkLocalNetns(t *testing.T) {
	needPing(t)
	p := netns.PairForTest(t)
	if !pingSoon(p.Client, p.Server4, 3) {
		t.Fatal("no ping before the link went down")
	}
	out := fireLink(t, LinkConfig{Device: p.ServerIf, Action: "down", Netns: p.Server.Name})
	if adminUp(t, p.Server.Name, p.ServerIf) {
		t.Fatal("link still up")
	}
	if pingOnce(p.Client, p.Server4) {
		t.Error("ping answered while the server's link was down")
	}
	out += fireLink(t, LinkConfig{Device: p.ServerIf, Action: "up", Netns: p.Server.Name})
	if !adminUp(t, p.Server.Name, p.ServerIf) {
		t.Fatal("link still down")
	}
	if !pingSoon(p.Client, p.Server4, 10) {
		t.Error("no ping after the link came back up")
	}
	t.Logf("output:\n%s", out)

	_, err := NewLink(LinkConfig{Device: "nosuch0", Action: "up", Netns: p.Server.Name}).Fire(context.Background(), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no interface nosuch0") {
		t.Errorf("missing interface: err = %v", err)
	}
	_, err = NewLink(LinkConfig{Device: "eth0", Action: "up", Netns: "no-such-netns-" + p.Server.Name}).Fire(context.Background(), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "open netns") {
		t.Errorf("missing netns: err = %v", err)
	}
}

// TestLinkLocalOwnNamespace runs its second half inside the server
// namespace, where the trigger, given no netns, acts on the process's own
// namespace (never the root namespace's links).
func TestLinkLocalOwnNamespace(t *testing.T) {
	if !netns.InChild() {
		p := netns.PairForTest(t)
		netns.RunTestIn(t, p.Server, map[string]string{"IF": p.ServerIf})
		if !adminUp(t, p.Server.Name, p.ServerIf) {
			t.Error("link left down by the child")
		}
		return
	}
	dev := netns.ChildEnv("IF")
	isUp := func() bool {
		ifc, err := net.InterfaceByName(dev)
		if err != nil {
			t.Fatal(err)
		}
		return ifc.Flags&net.FlagUp != 0
	}
	fireLink(t, LinkConfig{Device: dev, Action: "down"})
	if isUp() {
		t.Fatal("link still up")
	}
	fireLink(t, LinkConfig{Device: dev, Action: "up"})
	if !isUp() {
		t.Fatal("link still down")
	}
}

// TestLinkRemote takes the server's veth end down with `ip link set` run
// over SSH by the sshd inside the server namespace (reached through its
// loopback, so the SSH session itself survives the link going down).
func TestLinkRemote(t *testing.T) {
	needPing(t)
	p := netns.PairForTest(t)
	r := startRemote(t, p.Server)

	out := fireLink(t, LinkConfig{Device: p.ServerIf, Action: "down", Remote: &r.cfg})
	if !strings.Contains(out, "ip link set "+p.ServerIf+" down") {
		t.Errorf("output does not show the command:\n%s", out)
	}
	if adminUp(t, p.Server.Name, p.ServerIf) {
		t.Fatal("link still up")
	}
	if pingOnce(p.Client, p.Server4) {
		t.Error("ping answered while the server's link was down")
	}
	fireLink(t, LinkConfig{Device: p.ServerIf, Action: "up", Remote: &r.cfg})
	if !adminUp(t, p.Server.Name, p.ServerIf) {
		t.Fatal("link still down")
	}
	if !pingSoon(p.Client, p.Server4, 10) {
		t.Error("no ping after the link came back up")
	}

	// ifupdown: the command line is ifdown DEV. Without ifupdown installed
	// on the server, the shell says so with status 127. (With it, the test
	// does not run it: ifupdown keeps its state in the shared /run.)
	if _, err := exec.LookPath("ifdown"); err == nil {
		t.Log("ifupdown installed: not running ifdown on the test link")
		return
	}
	var buf bytes.Buffer
	oc, err := NewLink(LinkConfig{Device: p.ServerIf, Action: "down", Method: "ifupdown", Remote: &r.cfg}).Fire(context.Background(), &buf)
	if !strings.Contains(buf.String(), ": ifdown "+p.ServerIf+"\n") {
		t.Errorf("output does not show ifdown %s:\n%s", p.ServerIf, buf.String())
	}
	if err == nil || err.Error() != "exit status 127" || oc.ExitCode != 127 {
		t.Errorf("ifdown without ifupdown: %+v, %v; want exit status 127", oc, err)
	}
	t.Logf("ifupdown: %v\n%s", err, buf.String())
}
