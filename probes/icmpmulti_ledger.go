package probes

import (
	"time"

	"golang.org/x/sys/unix"
)

// groupTarget is one address of an ICMPGroup run: its schedule and the
// attempts it has in flight.
type groupTarget struct {
	tmpl     Sample // Probe, Target and Address of every sample
	sock     *groupSocket
	sa       unix.Sockaddr
	interval time.Duration
	timeout  time.Duration

	// Every attempt is sent in Seq order and resolves within its timeout,
	// so the ring holds about timeout/interval attempts.
	seqRing[groupFlight]
}

// groupFlight is one attempt, from its send until it has resolved and
// left the head of its target's ring.
type groupFlight struct {
	scheduled, sent time.Duration
	pending         bool
}

func (f groupFlight) isPending() bool { return f.pending }

func newGroupTarget(tmpl Sample, interval, timeout time.Duration) *groupTarget {
	n := 8
	for n < 1024 && time.Duration(n) < timeout/interval+2 {
		n *= 2
	}
	return &groupTarget{tmpl: tmpl, interval: interval, timeout: timeout, seqRing: seqRing[groupFlight]{ring: make([]groupFlight, n)}}
}

// pending returns attempt seq if it is still waiting for its outcome.
func (t *groupTarget) pending(seq uint64) *groupFlight {
	if seq < t.head || seq >= t.next {
		return nil
	}
	f := t.at(seq)
	if !f.pending {
		return nil
	}
	return f
}

func (t *groupTarget) sample(seq uint64, f *groupFlight) Sample {
	s := t.tmpl
	s.Seq, s.Scheduled, s.Sent = seq, f.scheduled, f.sent
	return s
}

// attemptRef names one attempt of a group.
type attemptRef struct {
	idx uint32
	seq uint64
}

// timed is a heap entry due at an offset.
type timed[T any] struct {
	at time.Duration
	v  T
}

// timeHeap is a binary min-heap on at. Unlike container/heap it boxes
// nothing, so steady state allocates nothing.
type timeHeap[T any] struct{ a []timed[T] }

func (h *timeHeap[T]) len() int           { return len(h.a) }
func (h *timeHeap[T]) top() timed[T]      { return h.a[0] }
func (h *timeHeap[T]) less(i, j int) bool { return h.a[i].at < h.a[j].at }

func (h *timeHeap[T]) push(at time.Duration, v T) {
	h.a = append(h.a, timed[T]{at, v})
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.a[i], h.a[p] = h.a[p], h.a[i]
		i = p
	}
}

func (h *timeHeap[T]) pop() timed[T] {
	top := h.a[0]
	n := len(h.a) - 1
	h.a[0] = h.a[n]
	h.a = h.a[:n]
	h.down()
	return top
}

// retime moves the top entry to at.
func (h *timeHeap[T]) retime(at time.Duration) {
	h.a[0].at = at
	h.down()
}

func (h *timeHeap[T]) down() {
	n := len(h.a)
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
}
