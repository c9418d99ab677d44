package probes

import (
	"math"
	"sync"
	"time"
)

// errTimeout is the Err of an attempt that got no answer within the timeout.
const errTimeout = "timeout"

// echoKey names one echo request on the wire: the pinger session that sent
// it (our number, unique within a run, unlike pro-bing's random 16-bit
// identifier) and its 16-bit ICMP sequence number.
type echoKey struct {
	session uint32
	seq     uint16
}

// flight is one attempt held by the ledger, from its send until it is
// resolved and has reached the head of the ring.
type flight struct {
	key       echoKey
	scheduled time.Duration
	sent      time.Duration
	wall      int64 // wall-clock send instant (Unix ns): only tells reused ICMP seqs apart
	pending   bool  // sent, no outcome yet
}

func (f flight) isPending() bool { return f.pending }

// ledger is the ICMP probe's bookkeeping: it numbers every attempt with our
// own Seq, remembers when each echo request left, and resolves each exactly
// once, as answered (by answered) or lost (by failed or expire).
//
// Attempts live in a ring indexed by Seq. All share one timeout and are
// sent in Seq order, so deadlines grow with Seq and the sweeper only ever
// looks at the head. A map finds an attempt by its wire key when a reply
// comes in. Steady state allocates nothing.
type ledger struct {
	mu      sync.Mutex
	tmpl    Sample        // Probe, Target and Address of every sample
	timeout time.Duration // an answer later than this is a loss
	// reuse is the half-width of the window, in wall-clock ns, within which
	// a reply's own send timestamp must match ours. pro-bing's 16-bit seq
	// wraps every 65536 sends; an answer to the earlier attempt that wore
	// the same seq left at least 65536 intervals earlier.
	reuse int64

	seqRing[flight]
	byKey   map[echoKey]uint64
	pending int

	stopping bool
	drained  chan struct{} // closed once stopping and nothing is pending
}

func newLedger(tmpl Sample, timeout, interval time.Duration) *ledger {
	reuse := int64(math.MaxInt64)
	if interval < math.MaxInt64>>15 {
		reuse = int64(interval) << 15 // half of 65536 intervals
	}
	return &ledger{
		tmpl:    tmpl,
		timeout: timeout,
		reuse:   reuse,
		seqRing: seqRing[flight]{ring: make([]flight, 64)},
		byKey:   make(map[echoKey]uint64, 64),
		drained: make(chan struct{}),
	}
}

// sent records an echo request that left at sent (offset) and wall (Unix
// ns), due at scheduled. It returns false, recording nothing, once the
// ledger is stopping: such a request is not part of the run. first tells
// whether nothing else was pending, so the sweeper needs waking.
func (l *ledger) sent(key echoKey, scheduled, sent time.Duration, wall int64) (ok, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		return false, false
	}
	first = l.pending == 0
	seq := l.push(flight{key: key, scheduled: scheduled, sent: sent, wall: wall, pending: true})
	// A key still mapped belongs to an attempt 65536 sends older, which
	// cannot be pending if timeout < 65536 intervals (NewICMP checks); if it
	// is, it now resolves by its timeout alone.
	l.byKey[key] = seq
	l.pending++
	return true, first
}

// failed records an attempt that could not be sent and returns its sample,
// lost with why. It returns false once the ledger is stopping.
func (l *ledger) failed(scheduled, sent time.Duration, why string) (Sample, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		return Sample{}, false
	}
	seq := l.push(flight{scheduled: scheduled, sent: sent})
	s := l.sample(seq, scheduled, sent)
	s.Lost, s.Err = true, why
	return s, true
}

// answered resolves the attempt key names, answered at now (offset) and
// nowWall (Unix ns). wireRTT is the reply's age by the timestamp pro-bing
// put in its payload (wall clock): it is used only to tell this attempt
// from an earlier one that wore the same ICMP seq, never as the RTT.
//
// It returns false for a reply to no pending attempt: one already
// resolved (a late answer, or a duplicate), one sent outside the run, or
// one to an earlier wearer of the seq. An answer later than the timeout
// that beat the sweeper resolves the attempt as lost.
func (l *ledger) answered(key echoKey, now time.Duration, nowWall int64, wireRTT time.Duration) (Sample, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq, ok := l.byKey[key]
	if !ok {
		return Sample{}, false
	}
	f := l.at(seq)
	if d := nowWall - int64(wireRTT) - f.wall; d > l.reuse || d < -l.reuse {
		return Sample{}, false
	}
	delete(l.byKey, key)
	l.resolve(f)
	// Our send instant comes from pro-bing's send callback, which runs after
	// the write returned and may run late (scheduling, GC): the reply of a
	// request whose callback ran 0.5 ms late would show an RTT 0.5 ms short.
	// The reply carries pro-bing's own stamp from just before the write;
	// the difference between it and ours, on the wall clock over a span of
	// milliseconds, moves Sent back to the real send. It is clamped to
	// [0, sent − scheduled], since no request leaves before it is due, so
	// a step of the wall clock cannot move it far. Sent + RTT, the answer's
	// arrival, does not change.
	early := time.Duration(f.wall - (nowWall - int64(wireRTT)))
	early = min(max(early, 0), f.sent-f.scheduled)
	s := l.sample(seq, f.scheduled, f.sent-early)
	if rtt := now - s.Sent; rtt <= l.timeout {
		s.RTT = rtt
	} else {
		s.Lost, s.Err = true, errTimeout
	}
	return s, true
}

// expire resolves as lost every pending attempt whose timeout has passed at
// now, appending their samples to out. It returns the next deadline, if
// any attempt is still pending.
func (l *ledger) expire(now time.Duration, out []Sample) (_ []Sample, next time.Duration, more bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ; l.head < l.next; l.head++ {
		f := l.at(l.head)
		if !f.pending {
			continue
		}
		if dl := f.sent + l.timeout; dl > now {
			return out, dl, true
		}
		if l.byKey[f.key] == l.head {
			delete(l.byKey, f.key)
		}
		l.resolve(f)
		s := l.sample(l.head, f.scheduled, f.sent)
		s.Lost, s.Err = true, errTimeout
		out = append(out, s)
	}
	return out, 0, false
}

// stop makes the ledger refuse new attempts. The channel it returns is
// closed once every attempt already recorded is resolved.
func (l *ledger) stop() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopping {
		l.stopping = true
		l.checkDrained()
	}
	return l.drained
}

// isStopping reports whether stop was called.
func (l *ledger) isStopping() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopping
}

func (l *ledger) resolve(f *flight) {
	f.pending = false
	l.pending--
	l.checkDrained()
}

func (l *ledger) checkDrained() {
	if l.stopping && l.pending == 0 {
		select {
		case <-l.drained:
		default:
			close(l.drained)
		}
	}
}

func (l *ledger) sample(seq uint64, scheduled, sent time.Duration) Sample {
	s := l.tmpl
	s.Seq, s.Scheduled, s.Sent = seq, scheduled, sent
	return s
}
