package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Blocker drops all IPv4 and IPv6 traffic to and from a set of addresses
// inside one namespace, on demand. It talks nftables over netlink on one
// lasting socket, so Block and Unblock each cost one batch round trip and
// spawn no process: the outage starts and ends at instants known to within
// that round trip.
//
// The rules live in a table of their own (family inet, hooks input, output
// and forward; and, for a bridged lab, family bridge, hook forward). Nothing
// else in the namespace is touched.
type Blocker struct {
	mu     sync.Mutex
	conn   *nftables.Conn
	tables []*nftables.Table
	chains []*nftables.Chain
	addrs  []netip.Addr
	closed bool
}

var tableCount atomic.Uint32

// NewBlocker prepares a Blocker in namespace nsName for addrs: it creates
// the table and its inet chains, with no rule yet, so traffic still flows.
func NewBlocker(nsName string, addrs ...netip.Addr) (*Blocker, error) {
	return newBlocker(nsName, false, addrs)
}

// NewBridgeBlocker is NewBlocker plus a bridge-family forward chain, for a
// namespace holding a bridge: bridged frames never reach the inet hooks.
func NewBridgeBlocker(nsName string, addrs ...netip.Addr) (*Blocker, error) {
	return newBlocker(nsName, true, addrs)
}

func newBlocker(nsName string, bridge bool, addrs []netip.Addr) (*Blocker, error) {
	if len(addrs) == 0 {
		return nil, errors.New("netns: blocker needs at least one address")
	}
	for _, a := range addrs {
		if !a.IsValid() {
			return nil, errors.New("netns: blocker given an invalid address")
		}
	}
	nsh, err := vns.GetFromName(nsName)
	if err != nil {
		return nil, fmt.Errorf("netns: open %s: %w", nsName, err)
	}
	// The netlink socket keeps the namespace referenced; the fd is only
	// needed while dialing.
	defer nsh.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(nsh)), nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("netns: nftables in %s: %w", nsName, err)
	}
	b := &Blocker{conn: conn, addrs: make([]netip.Addr, len(addrs))}
	for i, a := range addrs {
		b.addrs[i] = a.Unmap()
	}
	name := "downtime_block_" + strconv.FormatUint(uint64(tableCount.Add(1)), 10)
	inet := conn.AddTable(&nftables.Table{Name: name, Family: nftables.TableFamilyINet})
	b.tables = append(b.tables, inet)
	for _, hook := range []struct {
		name string
		num  *nftables.ChainHook
	}{{"input", nftables.ChainHookInput}, {"output", nftables.ChainHookOutput}, {"forward", nftables.ChainHookForward}} {
		b.chains = append(b.chains, conn.AddChain(&nftables.Chain{
			Name: hook.name, Table: inet, Type: nftables.ChainTypeFilter,
			Hooknum: hook.num, Priority: nftables.ChainPriorityFilter,
		}))
	}
	if bridge {
		br := conn.AddTable(&nftables.Table{Name: name, Family: nftables.TableFamilyBridge})
		b.tables = append(b.tables, br)
		b.chains = append(b.chains, conn.AddChain(&nftables.Chain{
			Name: "forward", Table: br, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter,
		}))
	}
	if err := conn.Flush(); err != nil {
		_ = conn.CloseLasting()
		return nil, fmt.Errorf("netns: create blocker table in %s: %w", nsName, err)
	}
	return b, nil
}

// Block adds the DROP rules in one atomic batch and returns the instant the
// kernel acknowledged it: from then on no packet to or from the addresses
// passes. Blocking twice is harmless.
func (b *Blocker) Block() (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return time.Time{}, errors.New("netns: blocker closed")
	}
	for _, c := range b.chains {
		b.conn.FlushChain(c) // keeps a repeated Block from stacking rules
		for _, a := range b.addrs {
			for _, dst := range []bool{false, true} {
				b.conn.AddRule(&nftables.Rule{Table: c.Table, Chain: c, Exprs: dropExprs(c.Table.Family, a, dst)})
			}
		}
	}
	if err := b.conn.Flush(); err != nil {
		return time.Time{}, fmt.Errorf("netns: block: %w", err)
	}
	at := time.Now()
	return at, nil
}

// Unblock removes the DROP rules in one atomic batch and returns the
// instant the kernel acknowledged it.
func (b *Blocker) Unblock() (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return time.Time{}, errors.New("netns: blocker closed")
	}
	for _, c := range b.chains {
		b.conn.FlushChain(c)
	}
	if err := b.conn.Flush(); err != nil {
		return time.Time{}, fmt.Errorf("netns: unblock: %w", err)
	}
	at := time.Now()
	return at, nil
}

// Close removes the Blocker's tables (and so any rule still in place) and
// its netlink socket. It is idempotent. If the namespace is already gone,
// the tables went with it and Close reports no error.
func (b *Blocker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, t := range b.tables {
		b.conn.DelTable(t)
	}
	err := b.conn.Flush()
	if errors.Is(err, unix.ENOENT) {
		err = nil
	}
	return errors.Join(err, b.conn.CloseLasting())
}

// dropExprs builds "<l3 proto> saddr|daddr == a drop" for the given family.
func dropExprs(fam nftables.TableFamily, a netip.Addr, dst bool) []expr.Any {
	var proto expr.Any
	// In inet tables nfproto tells IPv4 from IPv6; in bridge tables the
	// ethertype does.
	if fam == nftables.TableFamilyBridge {
		etype := uint16(unix.ETH_P_IP)
		if a.Is6() {
			etype = unix.ETH_P_IPV6
		}
		proto = &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(etype)}
		return buildDrop(expr.MetaKeyPROTOCOL, proto, a, dst)
	}
	nfproto := byte(unix.NFPROTO_IPV4)
	if a.Is6() {
		nfproto = unix.NFPROTO_IPV6
	}
	proto = &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}}
	return buildDrop(expr.MetaKeyNFPROTO, proto, a, dst)
}

func buildDrop(key expr.MetaKey, protoCmp expr.Any, a netip.Addr, dst bool) []expr.Any {
	// Offsets of the source address in the IPv4 and IPv6 headers; the
	// destination follows it.
	off, n := uint32(12), uint32(4)
	if a.Is6() {
		off, n = 8, 16
	}
	if dst {
		off += n
	}
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		protoCmp,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// Outage blocks addrs in namespace nsName for d, then unblocks them. It
// returns the acknowledged instants of the block and of the unblock, which
// bound the outage's true length; the sleep between runs on the monotonic
// clock.
func Outage(nsName string, d time.Duration, addrs ...netip.Addr) (start, end time.Time, err error) {
	b, err := NewBlocker(nsName, addrs...)
	if err != nil {
		return start, end, err
	}
	defer func() { err = errors.Join(err, b.Close()) }()
	if start, err = b.Block(); err != nil {
		return start, end, err
	}
	time.Sleep(time.Until(start.Add(d)))
	end, err = b.Unblock()
	return start, end, err
}
