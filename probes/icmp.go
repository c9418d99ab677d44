package probes

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// Payload sizes of an echo request.
const (
	defaultICMPSize = 56    // as ping(8)
	minICMPSize     = 24    // pro-bing's send timestamp and tracker UUID
	maxICMPSize     = 65507 // the largest IPv4 ICMP payload
)

// ICMPConfig is what only ICMP probes have.
type ICMPConfig struct {
	// Size is the echo payload in bytes: 0 means 56, as ping(8); at least
	// 24, which pro-bing fills with its timestamp and tracker.
	Size int
	// Privileged chooses the socket: true a raw ICMP socket (root or
	// CAP_NET_RAW), false an unprivileged ICMP datagram socket (a group in
	// net.ipv4.ping_group_range), nil the raw one if allowed, else the other.
	Privileged *bool
}

// ICMP is an echo (ping) probe built on pro-bing.
//
// Every attempt is one echo request. Its Seq is our own counter; the
// ICMP sequence number on the wire is pro-bing's 16-bit one, which wraps.
// RTT is measured on the monotonic clock, from the send to the receive
// callback. The send callback runs after the write and may run late, so an
// answered attempt's Sent is moved back by what pro-bing's own stamp in the
// reply shows (see ledger.answered); pro-bing's wall-clock RTT is not used
// otherwise.
//
// Scheduled times: pro-bing sends its first request at once and the rest
// on its own time.Ticker, created just after its setup callback. So the
// first attempt of a pinger is due when we started it, and a later one is
// due at setup + k*interval for the latest k at or before its send. That
// overstates lateness by the few microseconds between setup and the
// ticker's creation, never understates it. The ticker drops ticks a busy
// sender missed: such a grid point has no attempt (two consecutive Seqs
// then lie two intervals apart), and a tick delivered over an interval
// late is counted against the later grid point.
//
// Failures: a send error is a lost attempt carrying the error text
// ("send: network is unreachable"). If the pinger stops on an error (its
// first send failed, or its socket broke), each due attempt is recorded as
// lost and a new pinger is started one interval later, so an outage that
// removes the route is measured rather than ending the probe.
type ICMP struct {
	spec       Spec
	ip         netip.Addr
	size       int
	privileged bool
}

// NewICMP checks spec and cfg, resolves the address once (a host name's
// first address by the resolver's preference) and checks that an ICMP
// socket can be opened, returning an error that says how to allow one if
// not.
func NewICMP(spec Spec, cfg ICMPConfig) (*ICMP, error) {
	switch {
	case spec.Interval <= 0:
		return nil, fmt.Errorf("icmp %s: interval must be positive, got %v", spec.Name, spec.Interval)
	case spec.Timeout <= 0:
		return nil, fmt.Errorf("icmp %s: timeout must be positive, got %v", spec.Name, spec.Timeout)
	case spec.Timeout/(1<<16) >= spec.Interval:
		// Replies are matched by the 16-bit ICMP seq: it must not come
		// round while an attempt wearing it is still waiting.
		return nil, fmt.Errorf("icmp %s: timeout %v must be under 65536 intervals", spec.Name, spec.Timeout)
	case spec.Clock.Start().IsZero():
		return nil, fmt.Errorf("icmp %s: spec has no clock", spec.Name)
	}
	size := cfg.Size
	if size == 0 {
		size = defaultICMPSize
	}
	if size < minICMPSize || size > maxICMPSize {
		return nil, fmt.Errorf("icmp %s: size %d out of range %d..%d", spec.Name, cfg.Size, minICMPSize, maxICMPSize)
	}
	ip, err := resolveOnce(spec.Address)
	if err != nil {
		return nil, err
	}
	priv, err := chooseSocket(ip, cfg.Privileged)
	if err != nil {
		return nil, err
	}
	return &ICMP{spec: spec, ip: ip, size: size, privileged: priv}, nil
}

// IP is the address probed: the configured literal, or what a host name
// resolved to in NewICMP.
func (p *ICMP) IP() netip.Addr { return p.ip }

// Privileged reports whether the probe uses a raw ICMP socket (true) or an
// unprivileged ICMP datagram socket (false).
func (p *ICMP) Privileged() bool { return p.privileged }

// String says what is probed and over which kind of socket.
func (p *ICMP) String() string {
	sock := "an unprivileged ICMP datagram socket"
	if p.privileged {
		sock = "a raw ICMP socket"
	}
	to := p.ip.String()
	if to != p.spec.Address {
		to += " (resolved from " + p.spec.Address + ")"
	}
	return fmt.Sprintf("icmp echo to %s every %v over %s", to, p.spec.Interval, sock)
}

// Run pings until ctx is done and emits every attempt once, from its own
// goroutines (one call at a time). When ctx is done it stops sending and
// waits until every attempt already sent is answered or timed out, keeping
// the socket open for them. A request the ticker sends after that instant
// is not part of the run: it is neither numbered nor emitted. After the
// last attempt resolves, pro-bing may take up to ~100 ms more to notice
// the stop (its receive loop polls with a growing read deadline). Run
// returns an error only if the first pinger could not open its socket.
func (p *ICMP) Run(ctx context.Context, emit Emit) error {
	if emit == nil {
		return errors.New("icmp: nil emit")
	}
	r := &icmpRun{
		p:     p,
		clock: p.spec.Clock,
		led:   newLedger(Sample{Probe: p.spec.Name, Target: p.spec.Target, Address: p.spec.Address}, p.spec.Timeout, p.spec.Interval),
		wake:  make(chan struct{}, 1),
		emit:  emit,
	}
	finished := make(chan struct{})
	defer close(finished)

	swept := make(chan struct{})
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	go func() { defer close(swept); r.sweep(sweepCtx) }()
	defer func() { stopSweep(); <-swept }()

	// The pingers run under pctx, not ctx: their sockets must stay open
	// after ctx is done, until every attempt already sent is resolved.
	pctx, stopPingers := context.WithCancel(context.Background())
	defer stopPingers()
	go func() {
		select {
		case <-ctx.Done():
		case <-finished:
			return
		}
		select {
		case <-r.led.stop():
		case <-finished:
		}
		stopPingers()
	}()
	return r.loop(pctx)
}

// icmpRun is the state of one Run.
type icmpRun struct {
	p      *ICMP
	clock  Clock
	led    *ledger
	wake   chan struct{} // tells the sweeper a first attempt is pending
	emitMu sync.Mutex
	emit   Emit
}

// session is one pro-bing pinger, from its start until it returns. Its
// fields are written by pro-bing's callbacks, which run on one goroutine,
// and read after RunWithContext returns.
type session struct {
	gen      uint32        // our pinger number within the run
	due      time.Duration // when its first attempt was due
	setup    time.Duration // OnSetup: pro-bing creates its ticker after this
	setUp    bool          // the socket opened
	attempts int
	k        time.Duration // grid index of the latest attempt
	last     time.Duration // Scheduled of the latest attempt
}

// schedule returns the due time of an attempt sent at sent (see ICMP).
func (s *session) schedule(sent, interval time.Duration) time.Duration {
	s.k, s.last = 0, s.due
	if s.attempts > 0 {
		s.k = max(1, (sent-s.setup)/interval)
		s.last = s.setup + s.k*interval
	}
	s.attempts++
	return s.last
}

// loop runs pingers one after another until the run is over.
func (r *icmpRun) loop(pctx context.Context) error {
	iv := r.p.spec.Interval
	due := r.clock.Now()
	for gen := uint32(1); !r.led.isStopping(); gen++ {
		s := &session{gen: gen, due: due}
		err := r.pinger(s).RunWithContext(pctx)
		if r.led.isStopping() || pctx.Err() != nil {
			break
		}
		if err == nil {
			err = errors.New("pinger stopped")
		}
		if !s.setUp && gen == 1 {
			return fmt.Errorf("icmp %s: %w", r.p.spec.Name, err)
		}
		next := s.due + iv
		if s.attempts == 0 {
			// The socket did not open: that due attempt is lost.
			if smp, ok := r.led.failed(s.due, r.clock.Now(), "socket: "+err.Error()); ok {
				r.out(smp)
			}
		} else {
			next = s.last + iv
		}
		// Back off to the next grid point, or the latest one if we are
		// already past it: a skipped grid point is no attempt.
		if now := r.clock.Now(); now > next {
			next += (now - next) / iv * iv
		}
		t := time.NewTimer(time.Until(r.clock.At(next)))
		select {
		case <-t.C:
		case <-pctx.Done():
		}
		t.Stop()
		due = next
	}
	<-pctx.Done()
	return nil
}

// lastEchoID hands out ICMP identifiers, so that the pingers of one
// process never share one (a raw socket's BPF filter keys on it).
var lastEchoID atomic.Uint32

func init() { lastEchoID.Store(rand.Uint32()) }

// pinger makes session s's pro-bing pinger.
func (r *icmpRun) pinger(s *session) *probing.Pinger {
	ip := r.p.ip
	pg := probing.New(ip.String())
	pg.SetIPAddr(&net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()})
	if ip.Is6() {
		pg.SetNetwork("ip6")
	} else {
		pg.SetNetwork("ip4")
	}
	pg.SetPrivileged(r.p.privileged)
	pg.SetLogger(probing.NoopLogger{})
	pg.SetID(int(uint16(lastEchoID.Add(1))))
	pg.Interval = r.p.spec.Interval
	pg.Size = r.p.size
	pg.RecordRtts, pg.RecordTTLs = false, false
	pg.OnSetup = func() { s.setup, s.setUp = r.clock.Now(), true }
	pg.OnSend = func(pkt *probing.Packet) { r.onSend(s, pg, pkt) }
	pg.OnSendError = func(_ *probing.Packet, err error) { r.onSendError(s, pg, err) }
	pg.OnRecv = func(pkt *probing.Packet) { r.onRecv(s, pkt) }
	// Duplicates (OnDuplicateRecv) are ignored; so are replies pro-bing
	// cannot match to its identifier and tracker UUID.
	return pg
}

func (r *icmpRun) onSend(s *session, pg *probing.Pinger, pkt *probing.Packet) {
	t := time.Now()
	sent := r.clock.Offset(t)
	sched := s.schedule(sent, r.p.spec.Interval)
	ok, first := r.led.sent(echoKey{s.gen, uint16(pkt.Seq)}, sched, sent, t.UnixNano())
	if !ok {
		r.quiet(pg, 1)
		return
	}
	if first {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

func (r *icmpRun) onSendError(s *session, pg *probing.Pinger, err error) {
	iv := r.p.spec.Interval
	sent := r.clock.Now()
	sched := s.schedule(sent, iv)
	if smp, ok := r.led.failed(sched, sent, sendErrText(err)); ok {
		r.out(smp)
	} else {
		r.quiet(pg, 0)
	}
	if proBingRetries(err) {
		// pro-bing retries this send at once, in a loop: pace the retries
		// on our grid, one attempt per interval.
		time.Sleep(time.Until(r.clock.At(s.setup + (s.k+1)*iv)))
	}
}

func (r *icmpRun) onRecv(s *session, pkt *probing.Packet) {
	t := time.Now()
	if smp, ok := r.led.answered(echoKey{s.gen, uint16(pkt.Seq)}, r.clock.Offset(t), t.UnixNano(), pkt.Rtt); ok {
		r.out(smp)
	}
}

// quiet stops pro-bing's ticker after a send that came after the run
// ended, while keeping its socket open for the replies still due. It must
// run on pro-bing's send goroutine (a callback), which alone reads Count:
// once PacketsSent reaches Count pro-bing stops sending. sending is 1 when
// called before pro-bing counts the current request.
func (r *icmpRun) quiet(pg *probing.Pinger, sending int) {
	pg.Count = max(1, pg.Statistics().PacketsSent+sending)
}

// sweep declares pending attempts lost once their timeout has passed.
func (r *icmpRun) sweep(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var buf []Sample
	for {
		var next time.Duration
		var more bool
		buf, next, more = r.led.expire(r.clock.Now(), buf[:0])
		for _, s := range buf {
			r.out(s)
		}
		wait := time.Hour
		if more {
			wait = time.Until(r.clock.At(next))
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

// out emits one sample; emit calls never overlap.
func (r *icmpRun) out(s Sample) {
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.emit(s)
}

// sendErrText is a send error as a sample's Err: "send: " and the errno's
// text when there is one ("send: network is unreachable").
func sendErrText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return "send: " + errno.Error()
	}
	return "send: " + err.Error()
}

// proBingRetries reports whether pro-bing retries a send that failed with
// err at once, exactly as its sendICMP decides.
func proBingRetries(err error) bool {
	ne, ok := err.(*net.OpError)
	return ok && ne.Err == syscall.ENOBUFS
}
