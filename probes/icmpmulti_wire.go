package probes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Layout of an ICMPGroup echo message: the 8-byte ICMP header, then our
// payload. Offsets count from the start of the ICMP header.
const (
	wireID     = 4  // 16-bit identifier
	wireSeq    = 6  // 16-bit sequence number: the low bits of our Seq
	wireCookie = 8  // 8 random bytes, one draw per group run
	wireOurSeq = 16 // our 64-bit Seq, big endian
	wireIndex  = 24 // the target's 32-bit index within the group
	wireMin    = 28 // shortest echo reply we can match
)

// groupSocket is one address family's ICMP socket of a group run, shared
// by all that family's targets. Sends come from the run's loop goroutine
// only; receives from the socket's reader goroutine only.
type groupSocket struct {
	v6, raw bool
	id      uint16
	cookie  uint64
	conn    *icmp.PacketConn
	rc      syscall.RawConn

	// Send side: out starts as the echo request template; each send patches
	// the sequence fields (and the IPv4 checksum) in place.
	out  []byte
	sum0 uint32 // ones-complement sum of out with the variable fields zero
	wsa  unix.Sockaddr
	werr error
	wfn  func(fd uintptr) bool // built once: rc.Write(closure) would allocate per send

	// Receive side.
	in     []byte
	rsa    unix.RawSockaddrInet6 // large enough for either family
	rsalen uint32
	rfn    func(fd uintptr) bool
	reply  func(idx uint32, seq uint64, src netip.Addr, at time.Time)
}

// openGroupSocket opens the family's socket through x/net/icmp (raw
// "ip4:icmp"/"ip6:ipv6-icmp", or the unprivileged "udp4"/"udp6" datagram
// kind), and builds the echo request template of size payload bytes.
func openGroupSocket(v6, raw bool, id uint16, cookie uint64, size, targets int) (*groupSocket, error) {
	network, laddr := socketNetwork(netip.IPv4Unspecified(), raw), "0.0.0.0"
	if v6 {
		network, laddr = socketNetwork(netip.IPv6Unspecified(), raw), "::"
	}
	c, err := icmp.ListenPacket(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("icmp group: open %s socket: %w", network, err)
	}
	s := &groupSocket{v6: v6, raw: raw, id: id, cookie: cookie, conn: c}
	if err := s.setup(targets); err != nil {
		c.Close()
		return nil, fmt.Errorf("icmp group: %s socket: %w", network, err)
	}
	if err := s.template(size); err != nil {
		c.Close()
		return nil, fmt.Errorf("icmp group: %s socket: %w", network, err)
	}
	s.in = make([]byte, 64<<10)
	s.wfn = s.write
	s.rfn = s.read
	return s, nil
}

// setup finds the socket's descriptor and installs the kernel filters.
func (s *groupSocket) setup(targets int) error {
	// x/net's ipv4/ipv6 PacketConn carries the net.PacketConn that holds
	// the descriptor; we send and receive on it directly, allocation free.
	var pc net.PacketConn
	if s.v6 {
		pc = s.conn.IPv6PacketConn().PacketConn
	} else {
		pc = s.conn.IPv4PacketConn().PacketConn
	}
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return errors.New("no file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	s.rc = rc
	// A burst of replies must not overflow the queue: about 2 KiB of
	// kernel accounting per queued packet, for every target at once.
	buf := max(256<<10, targets*2<<10)
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, buf)
		if serr != nil { // not CAP_NET_ADMIN: as much as rmem_max allows
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, buf)
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("receive buffer: %w", serr)
	}
	if !s.raw {
		// The kernel already hands a datagram socket only the echo
		// replies that carry its own identifier.
		return nil
	}
	// A raw socket gets a copy of every ICMP message the host receives:
	// keep only echo replies carrying our identifier, in the kernel.
	if s.v6 {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		if err := s.conn.IPv6PacketConn().SetICMPFilter(&f); err != nil {
			return fmt.Errorf("icmp filter: %w", err)
		}
		prog, err := idFilter(false, s.id)
		if err != nil {
			return err
		}
		return s.conn.IPv6PacketConn().SetBPF(prog)
	}
	var f ipv4.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv4.ICMPTypeEchoReply)
	if err := s.conn.IPv4PacketConn().SetICMPFilter(&f); err != nil {
		return fmt.Errorf("icmp filter: %w", err)
	}
	prog, err := idFilter(true, s.id)
	if err != nil {
		return err
	}
	return s.conn.IPv4PacketConn().SetBPF(prog)
}

// idFilter is a socket filter passing only ICMP messages whose identifier
// is id. An IPv4 raw socket sees the IP header first, IPv6 does not.
func idFilter(v4 bool, id uint16) ([]bpf.RawInstruction, error) {
	load := []bpf.Instruction{bpf.LoadAbsolute{Off: wireID, Size: 2}}
	if v4 {
		load = []bpf.Instruction{
			bpf.LoadMemShift{Off: 0}, // X = IP header length
			bpf.LoadIndirect{Off: wireID, Size: 2},
		}
	}
	return bpf.Assemble(append(load,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	))
}

// template builds the echo request once with x/net/icmp: identifier,
// cookie and a fixed filler; Seq and index are patched in per send.
func (s *groupSocket) template(size int) error {
	data := make([]byte, size)
	binary.BigEndian.PutUint64(data[wireCookie-8:], s.cookie)
	for i := wireMin - 8; i < size; i++ {
		data[i] = byte(i)
	}
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if s.v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: int(s.id), Data: data}}
	// With no pseudo header, the ICMPv6 checksum is left to the kernel.
	out, err := m.Marshal(nil)
	if err != nil {
		return fmt.Errorf("echo template: %w", err)
	}
	out[2], out[3] = 0, 0
	s.out = out
	s.sum0 = onesSum(0, out)
	return nil
}

// onesSum adds b to the ones-complement sum (RFC 1071), unfolded.
func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// send puts one echo request for (idx, seq) on the wire to sa: one sendto.
func (s *groupSocket) send(sa unix.Sockaddr, idx uint32, seq uint64) error {
	s.patch(idx, seq)
	s.wsa, s.werr = sa, nil
	if err := s.rc.Write(s.wfn); err != nil {
		return err
	}
	return s.werr
}

// patch makes the request template the one for (idx, seq).
func (s *groupSocket) patch(idx uint32, seq uint64) {
	b := s.out
	binary.BigEndian.PutUint16(b[wireSeq:], uint16(seq))
	binary.BigEndian.PutUint64(b[wireOurSeq:], seq)
	binary.BigEndian.PutUint32(b[wireIndex:], idx)
	if !s.v6 {
		// IPv4 raw sockets send our checksum as is (the datagram kind
		// recomputes it; the kernel sums ICMPv6 always). Only the patched
		// words changed: add them to the template's sum.
		sum := onesSum(s.sum0, b[wireSeq:wireSeq+2])
		sum = onesSum(sum, b[wireOurSeq:wireMin])
		binary.BigEndian.PutUint16(b[2:], ^fold(sum))
	}
}

// fold folds an unfolded ones-complement sum to 16 bits.
func fold(sum uint32) uint16 {
	sum = sum>>16 + sum&0xffff
	sum += sum >> 16
	return uint16(sum)
}

func (s *groupSocket) write(fd uintptr) bool {
	err := unix.Sendto(int(fd), s.out, 0, s.wsa)
	if err == unix.EAGAIN {
		return false // the send queue is full: wait until it drains
	}
	s.werr = err
	return true
}

// receive reads and dispatches replies until the socket is closed: read
// never reports done, so Read returns only with the closed socket's error.
func (s *groupSocket) receive() { _ = s.rc.Read(s.rfn) }

// read drains the socket, then asks the poller to wait for more.
func (s *groupSocket) read(fd uintptr) bool {
	for {
		// recvfrom by hand: unix.Recvfrom allocates the source address.
		s.rsalen = uint32(unsafe.Sizeof(s.rsa))
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&s.in[0])), uintptr(len(s.in)), unix.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&s.rsa)), uintptr(unsafe.Pointer(&s.rsalen)))
		switch errno {
		case 0:
			s.dispatch(s.in[:n], time.Now())
		case unix.EINTR:
		default:
			// EAGAIN: drained. Anything else (a queued socket error) has
			// been consumed by this call; the poller tells us of more.
			return false
		}
	}
}

// dispatch checks that b is one of our echo replies and passes it on.
// Parsing is by hand: icmp.ParseMessage allocates per message.
func (s *groupSocket) dispatch(b []byte, at time.Time) {
	var src netip.Addr
	switch {
	case s.v6:
		src = netip.AddrFrom16(s.rsa.Addr)
	case s.raw: // the IPv4 header comes first, with the source in it
		if len(b) < 20 {
			return
		}
		hl := int(b[0]&0x0f) * 4
		if hl < 20 || len(b) < hl {
			return
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
		b = b[hl:]
	default:
		src = netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(&s.rsa)).Addr)
	}
	replyType := byte(ipv4.ICMPTypeEchoReply)
	if s.v6 {
		replyType = byte(ipv6.ICMPTypeEchoReply)
	}
	if len(b) < wireMin || b[0] != replyType || b[1] != 0 {
		return
	}
	// A datagram socket's identifier is the kernel's, and only its own
	// replies reach it; a raw one must check ours.
	if s.raw && binary.BigEndian.Uint16(b[wireID:]) != s.id {
		return
	}
	if binary.BigEndian.Uint64(b[wireCookie:]) != s.cookie {
		return
	}
	seq := binary.BigEndian.Uint64(b[wireOurSeq:])
	if binary.BigEndian.Uint16(b[wireSeq:]) != uint16(seq) {
		return
	}
	s.reply(binary.BigEndian.Uint32(b[wireIndex:]), seq, src, at)
}

// close closes the socket, which ends receive.
func (s *groupSocket) close() error { return s.conn.Close() }

// sockaddr is ip as a reusable destination for sendto.
func sockaddr(ip netip.Addr) (unix.Sockaddr, error) {
	if ip.Is4() {
		return &unix.SockaddrInet4{Addr: ip.As4()}, nil
	}
	sa := &unix.SockaddrInet6{Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		ifi, err := net.InterfaceByName(z)
		if err != nil {
			return nil, fmt.Errorf("zone of %s: %w", ip, err)
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, nil
}
