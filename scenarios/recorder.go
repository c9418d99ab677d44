package scenarios

import (
	"fmt"
	"sync"
	"time"

	"github.com/downtime-lab/downtime/probes"
)

// recorder takes samples from every probe without ever blocking them, and
// hands them in arrival order to a single writer goroutine. The queue is
// unbounded on purpose: a slow disk must delay the file, never the probes,
// and never drop a sample.
type recorder struct {
	mu      sync.Mutex
	queue   []probes.Sample
	wake    chan struct{}
	closed  bool
	done    chan struct{}
	write   func(probes.Sample) error
	err     error // first write error
	onError func(error)

	live *liveStats
}

func newRecorder(write func(probes.Sample) error, live *liveStats, onError func(error)) *recorder {
	r := &recorder{
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		write:   write,
		live:    live,
		onError: onError,
	}
	go r.loop()
	return r
}

// Emit queues a sample; it is the probes.Emit of every probe.
func (r *recorder) Emit(s probes.Sample) {
	r.mu.Lock()
	if !r.closed {
		r.queue = append(r.queue, s)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	var batch []probes.Sample
	for {
		r.mu.Lock()
		batch, r.queue = r.queue, batch[:0]
		closed := r.closed
		r.mu.Unlock()
		for _, s := range batch {
			r.live.add(s)
			if r.err != nil {
				continue
			}
			if err := r.write(s); err != nil {
				// Never silent: the runner is told at once and stops the run.
				r.err = err
				if r.onError != nil {
					r.onError(err)
				}
			}
		}
		if closed && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			<-r.wake
		}
	}
}

// Close waits until every queued sample has been written.
func (r *recorder) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.done
	return r.err
}

// liveStats keeps the figures of the progress display and its log lines,
// per probe instance. Samples arrive out of order (a lost one only after
// its timeout), so the live view goes by answers: a probe is "in a gap"
// while no answer newer than its last one has come for a few intervals.
// This is for the display only; the report's gaps come from the file.
type liveStats struct {
	mu    sync.Mutex
	order []string
	by    map[string]*liveProbe
	notes []string // gap transitions not yet logged
}

type liveProbe struct {
	Name, Address string
	Interval      time.Duration
	Sent, Lost    int
	LastRTT       time.Duration
	Answered      bool          // at least one answer so far
	lastSeq       uint64        // newest answered attempt
	lastSent      time.Duration // and when it was sent
	InGap         bool          // silent for longer than silence()
}

func newLiveStats() *liveStats { return &liveStats{by: map[string]*liveProbe{}} }

func liveKey(probe, addr string) string { return probe + "\x00" + addr }

func (l *liveStats) register(probe, addr string, interval time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := liveKey(probe, addr)
	if _, ok := l.by[k]; !ok {
		l.order = append(l.order, k)
		l.by[k] = &liveProbe{Name: probe, Address: addr, Interval: interval}
	}
}

// silence is how long without a newer answer counts as a gap on screen.
func (p *liveProbe) silence() time.Duration { return max(3*p.Interval, 100*time.Millisecond) }

func (l *liveStats) add(s probes.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.by[liveKey(s.Probe, s.Address)]
	if p == nil {
		return
	}
	p.Sent++
	if s.Lost {
		p.Lost++
		return
	}
	p.LastRTT = s.RTT
	if p.Answered && s.Seq <= p.lastSeq {
		return // an old attempt answered late: no news about now
	}
	if p.InGap {
		l.notes = append(l.notes, fmt.Sprintf("%s %s: answering again (sent at %.3f s), after about %.3f s without an answer",
			s.Probe, s.Address, s.Sent.Seconds(), (s.Sent-p.lastSent).Seconds()))
		p.InGap = false
	}
	p.Answered, p.lastSeq, p.lastSent = true, s.Seq, s.Sent
}

// tick flags the probes that have gone silent by now.
func (l *liveStats) tick(now time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range l.order {
		p := l.by[k]
		if p.Answered && !p.InGap && now-p.lastSent > p.silence() {
			p.InGap = true
			l.notes = append(l.notes, fmt.Sprintf("%s %s: no answer since the attempt sent at %.3f s", p.Name, p.Address, p.lastSent.Seconds()))
		}
	}
}

// takeNotes returns and clears the pending gap transitions.
func (l *liveStats) takeNotes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.notes
	l.notes = nil
	return n
}

func (l *liveStats) snapshot() []liveProbe {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]liveProbe, 0, len(l.order))
	for _, k := range l.order {
		out = append(out, *l.by[k])
	}
	return out
}
