package probes

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ICMPGroup pings many addresses from one probe instance, through one
// ICMP socket per address family. It exists for scale: every raw ICMP
// socket receives a copy of every ICMP packet on the host, so N
// single-target probes (NewICMP, one pro-bing pinger and socket each)
// cost O(N²) in packet copies and filter runs, while a group costs O(N).
//
// Each Spec keeps its own Name, Target, Address, Interval and Timeout and
// gets samples exactly as from NewICMP: Seq is our own counter per
// address, from 0; Scheduled lies on a fixed grid; Sent is taken on the
// monotonic clock just before the send system call; RTT runs from Sent to
// the instant the reply was read. A send error is a lost attempt carrying
// the error text; an answer later than the timeout is lost ("timeout").
//
// Sends are spread: target i of N starts i*interval/N after Run begins, so
// 1000 targets at 100 ms send one request every 100 µs, not 1000 at once.
// One goroutine drives every schedule and timeout from two heaps; one
// reader per socket matches replies.
//
// Matching: every request carries, after the ICMP header, an 8-byte
// cookie drawn per run, our 64-bit Seq and the target's index in the
// group. A reply counts only if its cookie, Seq (and the 16-bit wire seq
// agreeing with it), index and source address all match an attempt still
// pending; anything else (a foreign reply, a duplicate, an answer after
// the attempt was declared lost) is ignored. Over a raw socket the
// identifier is a random 16-bit one per run, also checked, and a kernel
// filter passes only echo replies carrying it. Over a datagram socket the
// kernel sets the identifier itself and delivers only replies bearing it,
// so matching rests on the cookie, Seq, index and source.
//
// Socket: a raw one ("ip4:icmp", "ip6:ipv6-icmp") when allowed (root or
// CAP_NET_RAW), because only it lets us choose the identifier and sees
// replies whatever the ping_group_range; otherwise the unprivileged ICMP
// datagram kind ("udp4", "udp6"), allowed when net.ipv4.ping_group_range
// holds one of our groups. ICMPConfig.Privileged forces either.
//
// pro-bing is not used here: a pro-bing Pinger owns one socket for one
// address, and its matching and socket helpers are not exported.
type ICMPGroup struct {
	specs      []Spec
	ips        []netip.Addr
	clock      Clock
	size       int
	privileged bool
	ran        atomic.Bool
}

// NewICMPGroup checks specs and cfg, resolves each address once and checks
// that an ICMP socket can be opened for each family in use. Every spec
// needs a positive interval and timeout, and all must share one Clock; no
// two may have the same Name and Address.
func NewICMPGroup(specs []Spec, cfg ICMPConfig) (*ICMPGroup, error) {
	if len(specs) == 0 {
		return nil, errors.New("icmp group: no targets")
	}
	if len(specs) > 1<<31 {
		return nil, errors.New("icmp group: too many targets")
	}
	size := cfg.Size
	if size == 0 {
		size = defaultICMPSize
	}
	if size < minICMPSize || size > maxICMPSize {
		return nil, fmt.Errorf("icmp group: size %d out of range %d..%d", cfg.Size, minICMPSize, maxICMPSize)
	}
	g := &ICMPGroup{specs: append([]Spec(nil), specs...), clock: specs[0].Clock, size: size}
	type key struct{ name, addr string }
	seen := make(map[key]bool, len(specs))
	var have4, have6 netip.Addr
	for _, s := range specs {
		switch {
		case s.Interval <= 0:
			return nil, fmt.Errorf("icmp %s %s: interval must be positive, got %v", s.Name, s.Address, s.Interval)
		case s.Timeout <= 0:
			return nil, fmt.Errorf("icmp %s %s: timeout must be positive, got %v", s.Name, s.Address, s.Timeout)
		case s.Clock.Start().IsZero():
			return nil, fmt.Errorf("icmp %s %s: spec has no clock", s.Name, s.Address)
		case s.Clock != g.clock:
			return nil, fmt.Errorf("icmp %s %s: all targets of a group must share one clock", s.Name, s.Address)
		case seen[key{s.Name, s.Address}]:
			return nil, fmt.Errorf("icmp %s %s: listed twice", s.Name, s.Address)
		}
		seen[key{s.Name, s.Address}] = true
		ip, err := resolveOnce(s.Address)
		if err != nil {
			return nil, err
		}
		if _, err := sockaddr(ip); err != nil {
			return nil, fmt.Errorf("icmp %s %s: %w", s.Name, s.Address, err)
		}
		if ip.Is4() {
			have4 = ip
		} else {
			have6 = ip
		}
		g.ips = append(g.ips, ip)
	}
	// One socket kind for the whole group: the first family decides, and
	// the other must allow the same kind.
	want := cfg.Privileged
	for _, ip := range []netip.Addr{have4, have6} {
		if !ip.IsValid() {
			continue
		}
		priv, err := chooseSocket(ip, want)
		if err != nil {
			return nil, err
		}
		g.privileged, want = priv, &priv
	}
	return g, nil
}

// Privileged reports whether the group uses raw ICMP sockets (true) or
// unprivileged ICMP datagram sockets (false).
func (g *ICMPGroup) Privileged() bool { return g.privileged }

// Len is the number of addresses the group pings.
func (g *ICMPGroup) Len() int { return len(g.specs) }

// String says how many addresses are pinged and over which sockets.
func (g *ICMPGroup) String() string {
	sock := "unprivileged ICMP datagram sockets"
	if g.privileged {
		sock = "raw ICMP sockets"
	}
	return fmt.Sprintf("icmp echo to %d addresses over %s (one per address family)", len(g.specs), sock)
}

// Run pings every address until ctx is done and emits every attempt once,
// one call at a time. When ctx is done it stops sending and waits until
// every attempt already sent is answered or timed out. It returns an error
// if a socket cannot be opened (then nothing was sent) or if called twice.
func (g *ICMPGroup) Run(ctx context.Context, emit Emit) error {
	if emit == nil {
		return errors.New("icmp group: nil emit")
	}
	if g.ran.Swap(true) {
		return errors.New("icmp group: Run called twice")
	}
	r := &groupRun{g: g, emit: emit, targets: make([]*groupTarget, len(g.specs))}
	id := uint16(rand.N(1 << 16))
	cookie := rand.Uint64()
	var socks [2]*groupSocket // IPv4, IPv6
	defer func() {
		for _, s := range socks {
			if s != nil {
				s.close()
			}
		}
	}()
	for i, sp := range g.specs {
		ip := g.ips[i]
		fam := 0
		if ip.Is6() {
			fam = 1
		}
		if socks[fam] == nil {
			s, err := openGroupSocket(fam == 1, g.privileged, id, cookie, g.size, len(g.specs))
			if err != nil {
				return err
			}
			s.reply = r.answered
			socks[fam] = s
		}
		t := newGroupTarget(Sample{Probe: sp.Name, Target: sp.Target, Address: sp.Address}, sp.Interval, sp.Timeout)
		t.sock = socks[fam]
		t.sa, _ = sockaddr(ip) // checked in NewICMPGroup
		r.targets[i] = t
	}
	var readers sync.WaitGroup
	for _, s := range socks {
		if s != nil {
			readers.Go(s.receive)
		}
	}
	r.loop(ctx)
	for i, s := range socks {
		if s != nil {
			s.close()
			socks[i] = nil
		}
	}
	readers.Wait()
	return nil
}

// groupRun is the state of one ICMPGroup.Run. The loop goroutine sends and
// sweeps; socket readers resolve answers. mu guards the targets' rings,
// pending and deadlines, and serialises emit.
type groupRun struct {
	g       *ICMPGroup
	targets []*groupTarget
	sends   timeHeap[uint32] // next due slot of each target

	mu        sync.Mutex
	emit      Emit
	pending   int
	deadlines timeHeap[attemptRef] // sent + timeout of every attempt sent
}

// loop sends every target on its grid and expires attempts, until ctx is
// done and nothing is pending.
func (r *groupRun) loop(ctx context.Context) {
	clock := r.g.clock
	start := clock.Now()
	n := time.Duration(len(r.targets))
	r.sends.a = make([]timed[uint32], 0, len(r.targets))
	for i, t := range r.targets {
		// i*interval/N without overflow.
		iv, k := t.interval, time.Duration(i)
		r.sends.push(start+iv/n*k+iv%n*k/n, uint32(i))
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	done := ctx.Done()
	for {
		now := clock.Now()
		r.mu.Lock()
		r.expire(now)
		pending := r.pending
		wake, sweep := time.Duration(0), r.deadlines.len() > 0
		if sweep {
			wake = r.deadlines.top().at
		}
		r.mu.Unlock()
		if done == nil && pending == 0 {
			return
		}
		if done != nil {
			for r.sends.top().at <= now && !closed(done) {
				top := r.sends.top()
				t := r.targets[top.v]
				r.attempt(top.v, t, top.at)
				// A late loop sends the overdue slots one by one, each
				// Scheduled honestly; none is skipped.
				r.sends.retime(top.at + t.interval)
			}
			if next := r.sends.top().at; !sweep || next < wake {
				wake = next
			}
		}
		timer.Reset(time.Until(clock.At(wake)))
		select {
		case <-done:
			done = nil
		case <-timer.C:
		}
	}
}

// attempt records and sends target t's attempt due at due.
func (r *groupRun) attempt(idx uint32, t *groupTarget, due time.Duration) {
	r.mu.Lock()
	sent := r.g.clock.Now()
	seq := t.push(groupFlight{scheduled: due, sent: sent, pending: true})
	r.pending++
	r.deadlines.push(sent+t.timeout, attemptRef{idx, seq})
	r.mu.Unlock()
	// The attempt is on record before its request leaves, so no reply can
	// outrun it.
	if err := t.sock.send(t.sa, idx, seq); err != nil {
		r.mu.Lock()
		if f := t.pending(seq); f != nil {
			r.resolve(f)
			s := t.sample(seq, f)
			s.Lost, s.Err = true, sendErrText(err)
			r.emit(s)
		}
		r.mu.Unlock()
	}
}

// answered resolves attempt (idx, seq) with a reply from src read at at,
// unless it names no pending attempt of a target at src.
func (r *groupRun) answered(idx uint32, seq uint64, src netip.Addr, at time.Time) {
	if idx >= uint32(len(r.targets)) {
		return
	}
	t := r.targets[idx]
	if src != r.g.ips[idx].WithZone("") {
		return
	}
	now := r.g.clock.Offset(at)
	r.mu.Lock()
	defer r.mu.Unlock()
	f := t.pending(seq)
	if f == nil {
		return // a duplicate, or an answer after the attempt was lost
	}
	r.resolve(f)
	s := t.sample(seq, f)
	if rtt := now - f.sent; rtt <= t.timeout {
		s.RTT = rtt
	} else {
		s.Lost, s.Err = true, errTimeout
	}
	r.emit(s)
}

// expire declares lost every pending attempt whose timeout has passed at
// now. r.mu must be held.
func (r *groupRun) expire(now time.Duration) {
	for r.deadlines.len() > 0 && r.deadlines.top().at <= now {
		ref := r.deadlines.pop().v
		t := r.targets[ref.idx]
		if f := t.pending(ref.seq); f != nil {
			r.resolve(f)
			s := t.sample(ref.seq, f)
			s.Lost, s.Err = true, errTimeout
			r.emit(s)
		}
	}
}

func (r *groupRun) resolve(f *groupFlight) {
	f.pending = false
	r.pending--
}

// closed reports whether done is closed, without waiting: a loop running
// behind must still stop sending as soon as the run ends.
func closed(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}
