package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Pair is two namespaces joined by a veth pair, addressed with IPv4 (/24)
// and IPv6 (/64). IPv6 duplicate address detection is off, so both
// addresses work as soon as NewPair returns.
type Pair struct {
	Client, Server     *NS
	ClientIf, ServerIf string     // veth ends, in Client and Server
	Client4, Server4   netip.Addr // 10.x.y.1 and 10.x.y.2
	Client6, Server6   netip.Addr // fd64:x:y::1 and fd64:x:y::2
}

var pairCount atomic.Uint32

// operUpTimeout bounds the wait for a new link to become usable; linkwatch
// normally takes at most a second.
const operUpTimeout = 10 * time.Second

// NewPair creates the two namespaces and the veth between them. On error
// nothing is left behind.
func NewPair() (p *Pair, err error) {
	// Distinct subnets per pair, so that addresses read well in logs even
	// though the namespaces isolate them anyway.
	n := pairCount.Add(1)
	x, y := byte(n>>8), byte(n)
	p = &Pair{
		ClientIf: UniqueName("c"),
		ServerIf: UniqueName("s"),
		Client4:  netip.AddrFrom4([4]byte{10, x, y, 1}),
		Server4:  netip.AddrFrom4([4]byte{10, x, y, 2}),
		Client6:  netip.AddrFrom16([16]byte{0xfd, 0x64, 0, x, 0, y, 15: 1}),
		Server6:  netip.AddrFrom16([16]byte{0xfd, 0x64, 0, x, 0, y, 15: 2}),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, p.Close())
			p = nil
		}
	}()
	if p.Client, err = New(UniqueName("cli")); err != nil {
		return p, err
	}
	if p.Server, err = New(UniqueName("srv")); err != nil {
		return p, err
	}
	if err = p.link(); err != nil {
		return p, err
	}
	if err = setupEnd(p.Client.Name, p.ClientIf, p.Client4, p.Client6); err != nil {
		return p, err
	}
	if err = setupEnd(p.Server.Name, p.ServerIf, p.Server4, p.Server6); err != nil {
		return p, err
	}
	// The kernel activates a link's queue only when linkwatch reports it
	// operationally up, up to a second later; packets sent before that are
	// dropped (a first IPv6 neighbour solicitation, typically).
	if err = waitOperUp(p.Client.Name, p.ClientIf); err != nil {
		return p, err
	}
	return p, waitOperUp(p.Server.Name, p.ServerIf)
}

// waitOperUp polls until ifname in nsName is operationally up.
func waitOperUp(nsName, ifname string) error {
	h, err := handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	deadline := time.Now().Add(operUpTimeout)
	for {
		l, err := h.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("netns: %s: find %s: %w", nsName, ifname, err)
		}
		if l.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns: %s: %s not up after %v (state %s)", nsName, ifname, operUpTimeout, l.Attrs().OperState)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// link creates the veth in the client namespace with its peer already in
// the server namespace.
func (p *Pair) link() error {
	srv, err := vns.GetFromName(p.Server.Name)
	if err != nil {
		return fmt.Errorf("netns: open %s: %w", p.Server.Name, err)
	}
	defer srv.Close()
	h, err := handle(p.Client.Name)
	if err != nil {
		return err
	}
	defer h.Close()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: p.ClientIf},
		PeerName:      p.ServerIf,
		PeerNamespace: netlink.NsFd(srv),
	}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("netns: add veth %s/%s: %w", p.ClientIf, p.ServerIf, err)
	}
	return nil
}

// setupEnd addresses one veth end and brings it up.
func setupEnd(nsName, ifname string, a4, a6 netip.Addr) error {
	h, err := handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("netns: %s: find %s: %w", nsName, ifname, err)
	}
	for _, a := range []struct {
		ip    netip.Addr
		bits  int
		flags int
	}{{a4, 24, 0}, {a6, 64, unix.IFA_F_NODAD}} {
		addr := &netlink.Addr{
			IPNet: &net.IPNet{IP: a.ip.AsSlice(), Mask: net.CIDRMask(a.bits, a.ip.BitLen())},
			Flags: a.flags,
		}
		if err := h.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("netns: %s: address %s on %s: %w", nsName, a.ip, ifname, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("netns: %s: set %s up: %w", nsName, ifname, err)
	}
	return nil
}

// Close deletes both namespaces (and with them the veth). It is idempotent.
func (p *Pair) Close() error {
	var errs []error
	for _, n := range []*NS{p.Client, p.Server} {
		if n != nil {
			errs = append(errs, n.Close())
		}
	}
	return errors.Join(errs...)
}
