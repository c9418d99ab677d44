package probes

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

func TestNewICMPGroupRejects(t *testing.T) {
	clock := NewClock()
	ok := Spec{Name: "p", Target: "t", Address: "127.0.0.1", Interval: time.Second, Timeout: time.Second, Clock: clock}
	with := func(f func(*Spec)) []Spec {
		s := ok
		f(&s)
		return []Spec{s}
	}
	other := ok
	other.Address, other.Clock = "127.0.0.2", ClockAt(clock.Start().Add(time.Second))
	for _, c := range []struct {
		name  string
		specs []Spec
		cfg   ICMPConfig
		want  string
	}{
		{"empty", nil, ICMPConfig{}, "no targets"},
		{"interval", with(func(s *Spec) { s.Interval = 0 }), ICMPConfig{}, "interval must be positive"},
		{"timeout", with(func(s *Spec) { s.Timeout = -1 }), ICMPConfig{}, "timeout must be positive"},
		{"no clock", with(func(s *Spec) { s.Clock = Clock{} }), ICMPConfig{}, "no clock"},
		{"two clocks", []Spec{ok, other}, ICMPConfig{}, "share one clock"},
		{"twice", []Spec{ok, ok}, ICMPConfig{}, "listed twice"},
		{"small", []Spec{ok}, ICMPConfig{Size: 8}, "size 8 out of range"},
		{"big", []Spec{ok}, ICMPConfig{Size: 1 << 20}, "out of range"},
		{"address", with(func(s *Spec) { s.Address = "" }), ICMPConfig{}, "empty address"},
	} {
		g, err := NewICMPGroup(c.specs, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, %v; want an error containing %q", c.name, g, err, c.want)
		}
	}
}

func TestTimeHeapOrder(t *testing.T) {
	var h timeHeap[int]
	var want []time.Duration
	for i := range 500 {
		at := time.Duration(rand.IntN(100))
		h.push(at, i)
		want = append(want, at)
	}
	// retime moves the top entry, as the send loop does.
	for range 200 {
		want[slices.Index(want, h.top().at)] = h.top().at + 50
		h.retime(h.top().at + 50)
	}
	slices.Sort(want)
	for i, w := range want {
		if got := h.pop().at; got != w {
			t.Fatalf("pop %d: %v, want %v", i, got, w)
		}
	}
	if h.len() != 0 {
		t.Fatalf("%d left", h.len())
	}
}

func TestGroupTargetRing(t *testing.T) {
	tg := newGroupTarget(Sample{}, 10*time.Millisecond, 50*time.Millisecond)
	// Keep 100 attempts pending, more than the ring holds: it grows.
	for i := range 100 {
		if seq := tg.push(groupFlight{sent: time.Duration(i), pending: true}); seq != uint64(i) {
			t.Fatalf("seq %d, want %d", seq, i)
		}
	}
	for s := uint64(0); s < 100; s++ {
		f := tg.pending(s)
		if f == nil || f.sent != time.Duration(s) {
			t.Fatalf("attempt %d lost in growth: %+v", s, f)
		}
		f.pending = false
	}
	if tg.pending(100) != nil || tg.pending(3) != nil {
		t.Fatal("unknown or resolved attempt reported pending")
	}
	tg.push(groupFlight{pending: true})
	if tg.head != 100 {
		t.Fatalf("head %d, want 100 after the resolved attempts left", tg.head)
	}
}

// TestICMPGroupHotPathAllocs checks that sending a request and matching a
// reply allocate nothing. It sends echo requests to 127.0.0.1.
func TestICMPGroupHotPathAllocs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: raw ICMP socket")
	}
	s, err := openGroupSocket(false, true, 0x4242, 0x0123456789abcdef, defaultICMPSize, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var got uint64
	s.reply = func(idx uint32, seq uint64, src netip.Addr, at time.Time) { got = seq }
	sa, err := sockaddr(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	if n := testing.AllocsPerRun(100, func() {
		seq++
		if err := s.send(sa, 0, seq); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("send allocates %v times", n)
	}
	// The request we sent last, as its reply would come back on a raw
	// IPv4 socket: a header, then the echo with the kernel's checksum.
	pkt := make([]byte, 20+len(s.out))
	pkt[0] = 0x45
	copy(pkt[12:16], []byte{127, 0, 0, 1})
	copy(pkt[20:], s.out)
	pkt[20] = byte(ipv4.ICMPTypeEchoReply)
	if n := testing.AllocsPerRun(100, func() { s.dispatch(pkt, time.Now()) }); n != 0 {
		t.Errorf("dispatch allocates %v times", n)
	}
	if got != seq {
		t.Errorf("dispatched seq %d, want %d", got, seq)
	}
}

// TestICMPGroupTemplate checks the request on the wire: x/net parses it,
// its IPv4 checksum holds after patching, and the payload says who sent it.
func TestICMPGroupTemplate(t *testing.T) {
	s := &groupSocket{id: 7, cookie: 0xfeedface}
	if err := s.template(100); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{0, 1, 65535, 65536, 1<<40 + 3} {
		s.patch(9, seq)
		b := s.out
		if fold(onesSum(0, b)) != 0xffff {
			t.Errorf("seq %d: checksum does not verify", seq)
		}
		m, err := icmp.ParseMessage(1, b)
		if err != nil {
			t.Fatal(err)
		}
		e, ok := m.Body.(*icmp.Echo)
		if !ok || m.Type != ipv4.ICMPTypeEcho || e.ID != 7 || e.Seq != int(uint16(seq)) || len(e.Data) != 100 {
			t.Fatalf("seq %d: parsed %+v %+v", seq, m, e)
		}
		if binary.BigEndian.Uint64(e.Data[0:]) != 0xfeedface || binary.BigEndian.Uint64(e.Data[8:]) != seq ||
			binary.BigEndian.Uint32(e.Data[16:]) != 9 {
			t.Errorf("seq %d: payload %x", seq, e.Data[:20])
		}
	}
}
